"""File paths a Codex ``apply_patch`` call would touch, read from the patch text alone.

Codex sends the raw patch as ``tool_input.command``; path rules (secrets, hook config, system
dirs) must see every file it adds, updates, deletes or moves to, or a write could slip past them
just by being spelled as a patch. The format::

    *** Begin Patch
    *** Update File: src/app.py
    *** Move to: src/main.py
    @@ ...
    *** End Patch

Unified-diff headers (``--- a/x`` then ``+++ b/x``) are accepted too, because models sometimes
send those instead. Paths are returned as written; callers normalise them against cwd and home.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

# apply_patch file operation markers; each is followed by exactly one path.
_PATCH_MARKERS = ("*** Add File:", "*** Update File:", "*** Delete File:", "*** Move to:")

# Unified diff: the "no file" side of an added or deleted file.
_NULL_PATHS = ("/dev/null", "a/dev/null", "b/dev/null")

# git's C-style quoting of unusual file names: octal bytes and the usual escapes.
_OCTAL = re.compile(r"\\([0-7]{1,3})")
_C_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}


def patch_paths(patch: str) -> Tuple[str, ...]:
    """Every path the patch names, in order of first appearance, without duplicates.

    Never raises: anything that is not a string yields ``()``, unknown lines are ignored.
    """
    if not isinstance(patch, str):
        return ()
    found: List[str] = []
    lines = patch.splitlines()
    for index, line in enumerate(lines):
        path = _marker_path(line)
        if path is None and line.startswith("--- ") and index + 1 < len(lines):
            path = _diff_pair_path(line, lines[index + 1])
        if path is None and line.startswith("+++ ") and index > 0:
            path = _diff_new_path(lines[index - 1], line)
        if path and path not in found:
            found.append(path)
    return tuple(found)


def _marker_path(line: str) -> Optional[str]:
    """The path after an ``*** Add/Update/Delete File:`` or ``*** Move to:`` marker."""
    stripped = line.strip()
    for marker in _PATCH_MARKERS:
        if stripped.startswith(marker):
            return stripped[len(marker) :].strip() or None
    return None


def _diff_pair_path(old_line: str, new_line: str) -> Optional[str]:
    """The old-side path of a ``---``/``+++`` header pair (a deleted or renamed file)."""
    if not new_line.startswith("+++ "):
        return None
    return _diff_header_path(old_line[4:])


def _diff_new_path(old_line: str, new_line: str) -> Optional[str]:
    """The new-side path of a header pair. Requiring the pair keeps hunk lines that merely
    start with ``+++``/``---`` (a removed ``-- x`` line) from being taken for headers."""
    if not old_line.startswith("--- "):
        return None
    return _diff_header_path(new_line[4:])


def _diff_header_path(text: str) -> Optional[str]:
    """``a/src/x.py<TAB>2024-01-01 ...`` -> ``src/x.py``; ``/dev/null`` -> None."""
    path = text.split("\t", 1)[0].strip()
    if len(path) >= 2 and path[0] == '"' and path[-1] == '"':
        path = _unquote_git(path[1:-1])
    if not path or path in _NULL_PATHS:
        return None
    if path.startswith(("a/", "b/")) and len(path) > 2:
        path = path[2:]
    return path


def _unquote_git(text: str) -> str:
    """Undo git's C-style quoting of unusual file names (``"a/sp\\303\\251cial"``)."""
    out = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        octal = _OCTAL.match(text, i)
        if octal:
            out.append(int(octal.group(1), 8) & 0xFF)
            i = octal.end()
            continue
        if char == "\\" and i + 1 < len(text):
            out.extend(_C_ESCAPES.get(text[i + 1], text[i + 1]).encode("utf-8", "surrogatepass"))
            i += 2
            continue
        out.extend(char.encode("utf-8", "surrogatepass"))
        i += 1
    return out.decode("utf-8", "replace")
