"""HTTP header blocks, parsed and filtered with a few C-level regex calls instead of a loop.

A block is the header lines of a message, each ending in CRLF. The gateway needs a
lower-cased lookup of a handful of values and a copy of the block without some lines
(hop-by-hop headers, the client's credentials); everything else is forwarded as received.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# The value is greedy up to its last non-blank character: a lazy value would try the line's end
# after every character (twice as slow on a typical head).
_LINE = re.compile(
    r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*((?:[^\r\n]*[^ \t\r\n])?)[ \t]*\r\n", re.M
)


def parse(block: str, fold_values: bool = False) -> dict[str, str] | None:
    """Lower-cased name -> value (the last one wins); None if a line is not a header line.

    With ``fold_values`` the values are lower-cased too, which lets C build the dict (for a
    response head, whose framing values are case-insensitive anyway)."""
    if fold_values:
        pairs = _LINE.findall(block.lower())
        return dict(pairs) if len(pairs) == block.count("\n") else None
    pairs = _LINE.findall(block)
    if len(pairs) != block.count("\n"):
        return None
    return {name.lower(): value for name, value in pairs}


def dropper(names: Iterable[str]) -> re.Pattern[str]:
    """A pattern whose ``sub("", block)`` removes the lines of ``names`` (``*`` = any suffix)."""
    alternatives = "|".join(re.escape(n).replace(r"\*", "[A-Za-z0-9-]*") for n in names)
    return re.compile(rf"^(?:{alternatives})[ \t]*:[^\r\n]*\r\n", re.M | re.I)
