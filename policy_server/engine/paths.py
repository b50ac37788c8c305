"""Path normalisation and path globs, without touching the filesystem.

``normalize`` turns what an agent wrote (``~/x``, ``$HOME/x``, ``../x``, ``a//b/./c``) into one
absolute spelling so rules cannot be walked past with a different spelling of the same file.
When the home directory is unknown, ``~`` is kept as a root marker (``~/.ssh/id_rsa``) and
home-relative globs match it, as they match any user's home (``/root``, ``/home/*``, ``/Users/*``).
"""

from __future__ import annotations

import posixpath
import re
from typing import List, Optional, Pattern, Sequence

_HOME_VARS = ("${HOME}", "$HOME")

# Every spelling of "a user's home" a home-relative pattern (``~/...``) must cover.
_HOME_ALTERNATIVES = r"(?:~|/root|/home/[^/]+|/Users/[^/]+)"


def expand_home(path: str, home: str) -> str:
    """``~``, ``~/x``, ``$HOME/x``, ``${HOME}/x`` -> under ``home`` (or the ``~`` marker)."""
    root = home or "~"
    for var in _HOME_VARS:
        if path == var or path.startswith(var + "/"):
            return root + path[len(var) :]
    if path == "~" or path.startswith("~/"):
        return root + path[1:]
    return path


def normalize(path: str, cwd: str = "", home: str = "") -> str:
    """Absolute, normalised form of ``path`` as seen from ``cwd``. Pure string work."""
    if not path:
        return path
    path = expand_home(path, home)
    if not (path.startswith("/") or path.startswith("~")):
        if cwd:
            path = expand_home(cwd, home).rstrip("/") + "/" + path
        else:
            norm = posixpath.normpath(path)
            return norm
    if path.startswith("~"):
        rest = posixpath.normpath("/" + path[1:].lstrip("/"))
        return "~" if rest == "/" else "~" + rest
    norm = posixpath.normpath(path)
    # POSIX keeps a leading '//' distinct; agents never mean that.
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return norm


def is_at_or_above(target: str, protected: str, home: str = "") -> bool:
    """True when deleting ``target`` would delete ``protected`` (equal, or an ancestor of it).

    ``protected`` may use ``~`` (any home) and ``*`` for one path segment. A trailing ``/*``
    or ``/.*`` on ``target`` (``rm -rf /*``) counts as its directory.
    """
    if not target:
        return False
    for suffix in ("/*", "/.*", "/*.*"):
        if target.endswith(suffix):
            target = target[: -len(suffix)] or "/"
    if target in ("*", ".*"):
        return False
    t_parts = _segments(target)
    for candidate in _expand_protected(protected, home):
        p_parts = _segments(candidate)
        if len(t_parts) > len(p_parts):
            continue
        if all(_segment_match(t, p) for t, p in zip(t_parts, p_parts)):
            return True
    return False


def _segments(path: str) -> List[str]:
    if path.startswith("~"):
        return ["~"] + [s for s in path[1:].split("/") if s]
    return [s for s in path.split("/") if s]


def _segment_match(actual: str, pattern: str) -> bool:
    return pattern == "*" or actual == pattern


def _expand_protected(protected: str, home: str) -> List[str]:
    if not (protected == "~" or protected.startswith("~/")):
        return [protected]
    rest = protected[1:]
    homes = ["~", "/root", "/home/*", "/Users/*"]
    if home:
        homes.insert(0, home)
    return [h + rest for h in homes]


class Glob:
    """A path glob: ``*`` within a segment, ``**`` across segments, ``?``, ``[..]``, ``{a,b}``.

    - ``/abs/**`` matches absolute paths; ``~/x`` matches under any home;
    - a pattern without ``/`` (``.env``, ``*.pem``) or starting with ``**`` matches anywhere;
    - other relative patterns (``src/**``, ``./.env``) are relative to the event's cwd.
    """

    __slots__ = ("_regex", "cwd_relative", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.cwd_relative = False
        body = pattern
        if body.startswith("./"):
            body = body[2:]
            self.cwd_relative = True
        if body.startswith("/") or body.startswith("**"):
            prefix = ""
        elif body == "~" or body.startswith("~/"):
            prefix = _HOME_ALTERNATIVES
            body = body[1:]
        elif "/" not in body.rstrip("/") and not self.cwd_relative:
            prefix = "(?:.*/)?"
        else:
            self.cwd_relative = True
            prefix = ""
            body = "/" + body
        self._regex: Pattern[str] = re.compile(prefix + translate(body) + r"\Z", re.DOTALL)

    def match(self, path: str, cwd: str = "") -> bool:
        if self.cwd_relative:
            if not cwd:
                return False
            base = cwd.rstrip("/")
            if not path.startswith(base + "/"):
                return False
            path = path[len(base) :]
        return self._regex.match(path) is not None

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"


def translate(glob: str) -> str:
    """Translate a glob body to a regex fragment (no anchors)."""
    out: List[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if glob.startswith("**", i):
                i += 2
                if glob.startswith("/", i):
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = glob.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                inner = glob[i + 1 : j]
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out.append("[" + inner.replace("\\", "\\\\") + "]")
                i = j
        elif c == "{":
            j = glob.find("}", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                alts = glob[i + 1 : j].split(",")
                out.append("(?:" + "|".join(translate(a) for a in alts) + ")")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def any_match(globs: Sequence[Glob], path: str, cwd: str = "") -> Optional[Glob]:
    for g in globs:
        if g.match(path, cwd):
            return g
    return None
