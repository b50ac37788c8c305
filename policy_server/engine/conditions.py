"""Rule conditions: the ``when:`` mapping of a rule compiled into matcher objects.

Each condition answers ``test(event) -> bool`` on the hot path and ``explain(event) ->
(bool, str)`` for ``reins policy explain``. ``index_keys()`` names the event features
(``program:rm``, ``writes``, ``urls``, …) one of which the condition needs, so rules are
indexed and an event only pays for the rules that could match it. Compilation errors raise :class:`RuleError` carrying the key
path inside the rule, which the loader turns into ``file:line``.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable, FrozenSet, List, Optional, Pattern, Sequence, Tuple

from .detectors import DETECTORS
from .events import Event
from .hosts import HostMatcher, host_candidates, host_of
from .paths import GlobSet
from .permission_rules import PermissionRule
from .shell import Analysis, Command, analyze, canonical_flag

KeyPath = Tuple[Any, ...]

# Programs whose first positional argument names a remote host.
HOST_ARG_PROGRAMS = frozenset(
    {"ssh", "scp", "sftp", "rsync", "nc", "ncat", "netcat", "telnet", "ftp", "socat", "mosh"}
)


class RuleError(ValueError):
    """A rule that cannot be compiled; ``path`` locates the offending key inside the rule."""

    def __init__(self, message: str, path: KeyPath = ()) -> None:
        super().__init__(message)
        self.path = path


def as_list(value: Any) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def compile_regexes(value: Any, path: KeyPath) -> List[Pattern[str]]:
    out = []
    for i, source in enumerate(as_list(value)):
        try:
            out.append(re.compile(source))
        except re.error as exc:
            where = (*path, i) if isinstance(value, list) else path
            raise RuleError(
                f"invalid regular expression {source!r}: {exc}; fix the pattern "
                "(Python `re` syntax; escape literal dots and brackets with a backslash)",
                where,
            ) from None
    return out


def analysis_of(event: Event) -> Analysis:
    """The event's shell analysis, computed once and cached on the event."""
    analysis = event.analysis
    if analysis is None:
        if event.command is None:
            analysis = _NO_COMMANDS
        else:
            analysis = analyze(event.command, event.command_cwd, event.home)
        event.analysis = analysis
    return analysis


def commands_of(event: Event) -> Tuple[Command, ...]:
    """The event's parsed shell commands."""
    return analysis_of(event).commands


_NO_COMMANDS = Analysis(())


class Condition:
    """Base class: a compiled condition."""

    __slots__ = ()

    def test(self, event: Event) -> bool:
        raise NotImplementedError

    def explain(self, event: Event) -> Tuple[bool, str]:
        return self.test(event), self.describe()

    def describe(self) -> str:
        raise NotImplementedError

    def index_keys(self) -> Optional[FrozenSet[str]]:
        """Event features (see ``evaluator.event_features``) one of which this needs; None = any."""
        return None


class All(Condition):
    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[Condition]) -> None:
        self.parts = tuple(parts)

    def test(self, event: Event) -> bool:
        return all(part.test(event) for part in self.parts)

    def explain(self, event: Event) -> Tuple[bool, str]:
        notes = []
        for part in self.parts:
            ok, note = part.explain(event)
            notes.append(("✓ " if ok else "✗ ") + note)
            if not ok:
                return False, "; ".join(notes)
        return True, "; ".join(notes)

    def describe(self) -> str:
        return " and ".join(p.describe() for p in self.parts) or "always"

    def index_keys(self) -> Optional[FrozenSet[str]]:
        sets = [s for s in (p.index_keys() for p in self.parts) if s is not None]
        return min(sets, key=len) if sets else None


class AnyOf(Condition):
    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[Condition]) -> None:
        self.parts = tuple(parts)

    def test(self, event: Event) -> bool:
        return any(part.test(event) for part in self.parts)

    def explain(self, event: Event) -> Tuple[bool, str]:
        notes = []
        for part in self.parts:
            ok, note = part.explain(event)
            if ok:
                return True, "any: ✓ " + note
            notes.append(note)
        return False, "any: none of [" + " | ".join(notes) + "]"

    def describe(self) -> str:
        return "any(" + " | ".join(p.describe() for p in self.parts) + ")"

    def index_keys(self) -> Optional[FrozenSet[str]]:
        sets = [p.index_keys() for p in self.parts]
        if any(s is None for s in sets):
            return None
        return frozenset().union(*sets)  # type: ignore[arg-type]


class Not(Condition):
    __slots__ = ("part",)

    def __init__(self, part: Condition) -> None:
        self.part = part

    def test(self, event: Event) -> bool:
        return not self.part.test(event)

    def explain(self, event: Event) -> Tuple[bool, str]:
        ok, note = self.part.explain(event)
        return (not ok), "not(" + note + ")"

    def describe(self) -> str:
        return "not(" + self.part.describe() + ")"


class Predicate(Condition):
    """A leaf condition: a description and a function of the event."""

    __slots__ = ("fn", "keys", "text")

    def __init__(
        self, text: str, fn: Callable[[Event], bool], keys: Optional[FrozenSet[str]] = None
    ) -> None:
        self.text = text
        self.fn = fn
        self.keys = keys

    def test(self, event: Event) -> bool:
        return self.fn(event)

    def describe(self) -> str:
        return self.text

    def index_keys(self) -> Optional[FrozenSet[str]]:
        return self.keys


class Names:
    """A set of names matched exactly or by glob (``mkfs*``, ``python3*``)."""

    __slots__ = ("exact", "globs", "source")

    def __init__(self, names: Sequence[str]) -> None:
        self.source = list(names)
        self.exact = frozenset(n for n in names if not _is_glob(n))
        self.globs = tuple(re.compile(fnmatch.translate(n)) for n in names if _is_glob(n))

    def match(self, name: str) -> bool:
        return name in self.exact or any(g.match(name) for g in self.globs)

    def match_any(self, names: Any) -> bool:
        return any(self.match(n) for n in names)


def _is_glob(name: str) -> bool:
    return any(ch in name for ch in "*?[")


def compile_globs(value: Any, path: KeyPath) -> Tuple[GlobSet, GlobSet]:
    """A glob match (a list, or ``{any: [...], except: [...]}``) -> (include, exclude)."""
    if isinstance(value, dict):
        return GlobSet(as_list(value.get("any"))), GlobSet(as_list(value.get("except")))
    return GlobSet(as_list(value)), GlobSet([])


def globs_match(include: GlobSet, exclude: GlobSet, paths: Sequence[str], cwd: str) -> bool:
    # A plain loop: this runs per path on the hot path, where a generator costs more.
    for p in paths:  # noqa: SIM110
        if include.match(p, cwd) and not (exclude and exclude.match(p, cwd)):
            return True
    return False


def compile_host_matcher(value: Any, path: KeyPath) -> HostMatcher:
    try:
        return HostMatcher(as_list(value))
    except ValueError as exc:
        raise RuleError(str(exc), path) from None


def compile_detectors(value: Any, path: KeyPath) -> Optional[Tuple[str, ...]]:
    names = as_list(value)
    if "*" in names:
        return None
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        raise RuleError(
            f"unknown secret detector {unknown[0]!r}; use one of: {', '.join(sorted(DETECTORS))} or '*'",
            path,
        )
    return tuple(names)


def canonical_flags(program_names: Sequence[str], flags: Sequence[str]) -> FrozenSet[str]:
    """Rule flag spellings -> canonical names, for every program the rule names."""
    programs = list(program_names) or [""]
    return frozenset(canonical_flag(p, f) for p in programs for f in flags)


def strings_in(value: Any, limit: int = 2000) -> List[str]:
    """Every string inside a JSON value (bounded, so a huge input cannot stall a decision)."""
    out: List[str] = []
    stack = [value]
    while stack and len(out) < limit:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return out


def field(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def url_hosts(urls: Sequence[str]) -> List[str]:
    """Every host a URL may reach: parsers disagree on odd URLs, and SSRF lives in the gap."""
    return [h for u in urls for h in host_candidates(u)]


def command_hosts(cmd: Command) -> List[str]:
    hosts = url_hosts(cmd.urls)
    if cmd.program in HOST_ARG_PROGRAMS:
        hosts.extend(host_of(a) for a in cmd.args[:2])
    return [h for h in hosts if h]


def compile_permissions(value: Any, path: KeyPath) -> List[PermissionRule]:
    out = []
    for i, source in enumerate(as_list(value)):
        try:
            out.append(PermissionRule(source))
        except ValueError as exc:
            raise RuleError(str(exc), (*path, i) if isinstance(value, list) else path) from None
    return out
