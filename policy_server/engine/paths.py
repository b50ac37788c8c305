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
_ANYWHERE = "(?:.*/)?"


def expand_home(path: str, home: str) -> str:
    """``~``, ``~/x``, ``$HOME/x``, ``${HOME}/x`` -> under ``home`` (or the ``~`` marker)."""
    head = path[:1]
    if head == "~":
        if path == "~" or path[1] == "/":
            return (home or "~") + path[1:]
    elif head == "$":
        for var in _HOME_VARS:
            if path == var or path.startswith(var + "/"):
                return (home or "~") + path[len(var) :]
    return path


def normalize(path: str, cwd: str = "", home: str = "") -> str:
    """Absolute, normalised form of ``path`` as seen from ``cwd``. Pure string work."""
    if not path:
        return path
    head = path[0]
    if head != "~" and head != "$" and ".." not in path:
        # Fast path (most paths): no home to expand and no ``..``, so normalising only drops
        # empty and ``.`` segments, then joins a relative path to the normalised cwd.
        if "//" in path or "/." in path or head == "." or path[-1] == "/":
            kept = "/".join([part for part in path.split("/") if part and part != "."])
            path = "/" + kept if head == "/" else kept
        if head == "/":
            return path
        if not cwd:
            return path or "."
        base = normalize(cwd, "", home)  # what ``cwd`` + "/" + path normalises to, less path
        if not path or base == ".":
            return path or base
        return ("" if base == "/" else base) + "/" + path
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
    target = _deletion_root(target)
    if not target:
        return False
    t_parts = _segments(target)
    for candidate in _expand_protected(protected, home):
        p_parts = _segments(candidate)
        if len(t_parts) > len(p_parts):
            continue
        if all(_segment_match(t, p) for t, p in zip(t_parts, p_parts)):
            return True
    return False


class ProtectedPaths:
    """``is_at_or_above`` for a fixed list of protected paths, precomputed for the hot path.

    Every ancestor of every protected path goes into one set (``/`` and ``/etc`` for ``/etc``),
    so a target is checked with a set lookup; ``*`` segments (``/home/*`` from ``~``) become one
    regex, and the event's own home directory is checked with two string comparisons.
    """

    __slots__ = ("_exact", "_home", "_wild", "patterns")

    def __init__(self, protected: Sequence[str]) -> None:
        self.patterns = list(protected)
        exact: set = set()
        wild: List[str] = []
        self._home = False
        for pattern in self.patterns:
            if pattern == "~" or pattern.startswith("~/"):
                self._home = True
            for candidate in _expand_protected(pattern, ""):
                parts = _segments(candidate)
                for n in range(len(parts) + 1):
                    prefix = parts[:n]
                    text = _join(prefix)
                    if "*" in prefix:
                        wild.append(re.escape(text).replace(r"\*", "[^/]+"))
                    else:
                        exact.add(text)
        self._exact = frozenset(exact)
        self._wild: Optional[Pattern[str]] = (
            re.compile("(?:" + "|".join(wild) + r")\Z") if wild else None
        )

    def covers(self, target: str, home: str = "") -> bool:
        """True when ``target`` is at or above one of the protected paths."""
        target = _deletion_root(target)
        if not target:
            return False
        if len(target) > 1:
            target = target.rstrip("/")
        if target in self._exact:
            return True
        if self._wild is not None and self._wild.match(target):
            return True
        if self._home and home:
            # ``~`` also means this user's home, wherever it is (``/var/lib/ci``).
            home = home.rstrip("/") or "/"
            return target == home or home.startswith(target.rstrip("/") + "/")
        return False


def _join(parts: List[str]) -> str:
    if parts[:1] == ["~"]:
        return "/".join(parts)
    return "/" + "/".join(parts)


def _deletion_root(target: str) -> str:
    """The directory a deletion target empties: ``/x/*`` (``rm -rf /*``) counts as ``/x``.
    A bare relative glob (``*``) names nothing absolute: ""."""
    for suffix in ("/*", "/.*", "/*.*"):
        if target.endswith(suffix):
            target = target[: -len(suffix)] or "/"
    return "" if target in ("*", ".*") else target


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

    __slots__ = ("_regex", "body", "cwd_relative", "one_segment", "pattern", "prefix")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.cwd_relative = False
        body = pattern
        if body.startswith("./"):
            body = body[2:]
            self.cwd_relative = True
        if body.startswith("**/"):
            prefix, body = _ANYWHERE, body[3:]
        elif body.startswith("/") or body.startswith("**"):
            prefix = ""
        elif body == "~" or body.startswith("~/"):
            prefix = _HOME_ALTERNATIVES
            body = body[1:]
        elif "/" not in body.rstrip("/") and not self.cwd_relative:
            prefix = _ANYWHERE
        else:
            self.cwd_relative = True
            prefix = ""
            body = "/" + body
        # Kept apart so a GlobSet can share one prefix among many bodies.
        self.prefix = prefix
        # Matches a file name anywhere: only the last path segment needs looking at.
        self.one_segment = prefix == _ANYWHERE and "/" not in body
        self.body = translate(body)
        self._regex: Pattern[str] = re.compile(prefix + self.body + r"\Z", re.DOTALL)

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


class GlobSet:
    """Several globs matched as one: a single combined regex for those that need no cwd.

    A rule such as "any secret file" lists dozens of globs; one regex match per path keeps
    that cost flat instead of growing with the list.
    """

    __slots__ = ("_fixed", "_names", "_relative", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        globs = [Glob(p) for p in self.patterns]
        self._relative = tuple(g for g in globs if g.cwd_relative)
        # A one-segment glob that matches anywhere (``.env``, ``**/*.pem``) only looks at the
        # file name: one regex over the last segment instead of a scan from every slash.
        names = [g.body for g in globs if g.one_segment]
        self._names: Optional[Pattern[str]] = (
            re.compile("(?:" + "|".join(names) + r")\Z", re.DOTALL) if names else None
        )
        # Group the other bodies by prefix: ``(?:.*/)?(?:a|b|c)`` scans the path once, where
        # ``(?:.*/)?a|(?:.*/)?b|…`` would scan it once per glob.
        groups: dict = {}
        for g in globs:
            if not g.cwd_relative and not g.one_segment:
                groups.setdefault(g.prefix, []).append(g.body)
        alternatives = [
            "(?:" + prefix + "(?:" + "|".join(bodies) + r")\Z)" for prefix, bodies in groups.items()
        ]
        self._fixed: Optional[Pattern[str]] = (
            re.compile("|".join(alternatives), re.DOTALL) if alternatives else None
        )

    def match(self, path: str, cwd: str = "") -> bool:
        if self._names is not None and self._names.match(path, path.rfind("/") + 1) is not None:
            return True
        if self._fixed is not None and self._fixed.match(path) is not None:
            return True
        return any(g.match(path, cwd) for g in self._relative)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __repr__(self) -> str:
        return f"GlobSet({self.patterns!r})"


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
