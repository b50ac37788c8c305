"""The ``command:`` condition: one parsed simple command must satisfy every key.

Checks are ordered cheapest first (program, flags) so most commands are rejected after a set
lookup; regexes and path globs run only for commands that got that far.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple

from .conditions import (
    HOST_ARG_PROGRAMS,
    Condition,
    KeyPath,
    Names,
    RuleError,
    analysis_of,
    as_list,
    canonical_flags,
    command_hosts,
    commands_of,
    compile_globs,
    compile_host_matcher,
    compile_regexes,
    globs_match,
)
from .events import Event
from .paths import ProtectedPaths
from .shell import Command

CommandCheck = Callable[[Command, Event], bool]
Check = Tuple[str, CommandCheck]


class CommandCondition(Condition):
    __slots__ = ("_keys", "_program_set", "_programs", "checks", "source")

    def __init__(self, spec: Dict[str, Any], path: KeyPath) -> None:
        if not isinstance(spec, dict) or not spec:
            raise RuleError("`command` needs at least one key, e.g. {program: rm}", path)
        self.source = spec
        self._keys: Optional[FrozenSet[str]] = None
        # Exact program names: only those commands are looked at (no per-command name check).
        self._programs: Tuple[str, ...] = ()
        self._program_set: FrozenSet[str] = frozenset()
        self.checks: List[Check] = []
        builders = _BUILDERS
        for key in _ORDER:
            if key in spec:
                check = builders[key](self, spec[key], (*path, key))
                if check is not None:
                    self.checks.append((key, check))
        if self._keys is None:
            self._keys = _feature_keys(spec)
        unknown = sorted(set(spec) - set(_ORDER))
        if unknown:
            raise RuleError(
                f"unknown key {unknown[0]!r} in `command`; known keys: {', '.join(_ORDER)}",
                (*path, unknown[0]),
            )

    def _commands(self, event: Event) -> Iterable[Command]:
        analysis = analysis_of(event)
        if not self._programs:
            return analysis.commands
        by_program = analysis.by_program
        if len(self._programs) == 1:
            return by_program.get(self._programs[0], ())
        if len(by_program) == 1:  # the usual single command: one dict lookup, no list
            return analysis.commands if analysis.commands[0].program in self._program_set else ()
        wanted = self._program_set
        return [c for c in analysis.commands if c.program in wanted]

    def test(self, event: Event) -> bool:
        checks = self.checks
        for cmd in self._commands(event):
            for _, check in checks:
                if not check(cmd, event):
                    break
            else:
                return True
        return False

    def explain(self, event: Event) -> Tuple[bool, str]:
        commands = commands_of(event)
        if not commands:
            return False, "command: the event has no shell command"
        misses = []
        selected = self._commands(event)
        for cmd in commands:
            if cmd not in selected:
                misses.append(f"`{cmd.text}`: program differs")
                continue
            failed = next((key for key, check in self.checks if not check(cmd, event)), None)
            if failed is None:
                return True, f"command `{cmd.text}` matches {self.describe()}"
            misses.append(f"`{cmd.text}`: {failed} differs")
        return False, "command: no simple command matches (" + "; ".join(misses) + ")"

    def describe(self) -> str:
        return "command(" + ", ".join(f"{k}={self.source[k]!r}" for k, _ in self.checks) + ")"

    def index_keys(self) -> Optional[FrozenSet[str]]:
        return self._keys

    # Builders: each returns a check of one command.

    def _program(self, value: Any, path: KeyPath) -> Optional[CommandCheck]:
        names = Names(as_list(value))
        if not names.globs:
            self._programs = tuple(sorted(names.exact))
            self._program_set = names.exact
            self._keys = _program_keys(self._programs, as_list(self.source.get("subcommand")))
            return None  # _commands() already selects these programs
        return lambda cmd, ev: names.match(cmd.program)

    def _subcommand(self, value: Any, path: KeyPath) -> CommandCheck:
        # Keyed by the first word, so most commands are rejected with one dict lookup.
        by_first: Dict[str, List[Tuple[str, ...]]] = {}
        for words in (tuple(s.split()) for s in as_list(value)):
            if words:
                by_first.setdefault(words[0], []).append(words[1:])
        wildcard = by_first.pop("*", None)

        def rest_matches(rests: List[Tuple[str, ...]], args: Tuple[str, ...]) -> bool:
            for rest in rests:
                if not rest:
                    return True
                if len(args) > len(rest) and all(
                    p == "*" or p == a for p, a in zip(rest, args[1:])
                ):
                    return True
            return False

        def check(cmd: Command, ev: Event) -> bool:
            args = cmd.args
            if not args:
                return False
            rests = by_first.get(args[0])
            if rests is not None and rest_matches(rests, args):
                return True
            return wildcard is not None and rest_matches(wildcard, args)

        return check

    def _flags(self, value: Any, path: KeyPath) -> CommandCheck:
        if not isinstance(value, dict):
            raise RuleError("`flags` takes {all: [...], any: [...], none: [...]}", path)
        programs = as_list(self.source.get("program"))
        subs = as_list(self.source.get("subcommand"))
        keys = [f"{p} {s.split()[0]}" for p in programs for s in subs if s.split()] + programs
        need_any = canonical_flags(keys, as_list(value.get("any")))
        need_none = canonical_flags(keys, as_list(value.get("none")))
        # "all" means every flag the rule names; one rule flag may have a different canonical
        # name for each program listed, so each is a group and one member must be present.
        groups = [canonical_flags(keys, [flag]) for flag in as_list(value.get("all"))]

        def check(cmd: Command, ev: Event) -> bool:
            flags = cmd.flags
            if any(not (g & flags) for g in groups):
                return False
            if need_any and not (need_any & flags):
                return False
            return not (need_none and need_none & flags)

        return check

    def _text(self, value: Any, path: KeyPath) -> CommandCheck:
        regexes = compile_regexes(value, path)
        return lambda cmd, ev: any(r.search(cmd.text) for r in regexes)

    def _paths(self, value: Any, path: KeyPath) -> CommandCheck:
        include, exclude = compile_globs(value, path)
        return lambda cmd, ev: globs_match(include, exclude, cmd.paths, ev.cwd)

    def _writes(self, value: Any, path: KeyPath) -> CommandCheck:
        include, exclude = compile_globs(value, path)
        return lambda cmd, ev: globs_match(include, exclude, cmd.writes, ev.cwd)

    def _urls(self, value: Any, path: KeyPath) -> CommandCheck:
        regexes = compile_regexes(value, path)
        return lambda cmd, ev: any(r.search(u) for r in regexes for u in cmd.urls)

    def _at_or_above(self, value: Any, path: KeyPath) -> CommandCheck:
        protected = ProtectedPaths(as_list(value))
        return lambda cmd, ev: any(protected.covers(p, ev.home) for p in cmd.paths)

    def _hosts(self, value: Any, path: KeyPath) -> CommandCheck:
        matcher = compile_host_matcher(value, path)
        return lambda cmd, ev: any(matcher.match(h) for h in command_hosts(cmd))

    def _name_set(self, attr: str) -> Callable[[Any, KeyPath], CommandCheck]:
        def build(value: Any, path: KeyPath) -> CommandCheck:
            names = Names(as_list(value))
            if "*" in names.source:
                return lambda cmd, ev: bool(getattr(cmd, attr))
            return lambda cmd, ev: names.match_any(getattr(cmd, attr))

        return build

    def _assigns(self, value: Any, path: KeyPath) -> CommandCheck:
        names = Names(as_list(value))
        return lambda cmd, ev: any(names.match(name) for name, _ in cmd.assignments)

    def _unanalyzable(self, value: Any, path: KeyPath) -> CommandCheck:
        want = bool(value)
        return lambda cmd, ev: bool(cmd.unanalyzable) == want


def _program_keys(programs: Tuple[str, ...], subcommands: List[str]) -> FrozenSet[str]:
    """``program:git``, or finer ``sub:git push`` when every subcommand is spelled out."""
    firsts = [s.split()[0] for s in subcommands if s.split()]
    if firsts and len(firsts) == len(subcommands) and "*" not in firsts:
        return frozenset(f"sub:{p} {f}" for p in programs for f in firsts)
    return frozenset("program:" + p for p in programs)


def _feature_keys(spec: Dict[str, Any]) -> Optional[FrozenSet[str]]:
    """Index keys for a command condition without a plain program list (see ``event_features``)."""
    wrappers = as_list(spec.get("wrapped_by"))
    if wrappers and not any(ch in w for w in wrappers for ch in "*?["):
        return frozenset("wrapper:" + w for w in wrappers)
    for key, feature in (("writes", "writes"), ("exec_sources", "exec"), ("assigns", "assigns")):
        if key in spec:
            return frozenset({feature})
    if spec.get("unanalyzable") is True:
        return frozenset({"unanalyzable"})
    if "urls" in spec:
        return frozenset({"urls"})
    if "hosts" in spec:
        return frozenset({"urls"} | {"program:" + p for p in HOST_ARG_PROGRAMS})
    return None


def _word_check(attr: str) -> Callable[[CommandCondition, Any, KeyPath], CommandCheck]:
    """``args``/``words``: {any, all, none} regex lists over one attribute of the command."""

    def build(self: CommandCondition, value: Any, path: KeyPath) -> CommandCheck:
        if not isinstance(value, dict):
            raise RuleError(f"`{attr}` takes {{any: [...], all: [...], none: [...]}}", path)
        any_r = compile_regexes(value.get("any"), (*path, "any"))
        all_r = compile_regexes(value.get("all"), (*path, "all"))
        none_r = compile_regexes(value.get("none"), (*path, "none"))

        def check(cmd: Command, ev: Event) -> bool:
            words = getattr(cmd, attr)
            if any_r and not any(r.search(w) for r in any_r for w in words):
                return False
            if not all(any(r.search(w) for w in words) for r in all_r):
                return False
            return not any(r.search(w) for r in none_r for w in words)

        return check

    return build


def _names(attr: str) -> Callable[[CommandCondition, Any, KeyPath], CommandCheck]:
    return lambda self, value, path: self._name_set(attr)(value, path)


_BUILDERS: Dict[str, Callable[..., CommandCheck]] = {
    "program": CommandCondition._program,
    "subcommand": CommandCondition._subcommand,
    "flags": CommandCondition._flags,
    "unanalyzable": CommandCondition._unanalyzable,
    "wrapped_by": _names("wrappers"),
    "pipe_from": _names("pipe_from"),
    "exec_sources": _names("exec_sources"),
    "assigns": CommandCondition._assigns,
    "args": _word_check("args"),
    "words": _word_check("words"),
    "text": CommandCondition._text,
    "at_or_above": CommandCondition._at_or_above,
    "paths": CommandCondition._paths,
    "writes": CommandCondition._writes,
    "hosts": CommandCondition._hosts,
    "urls": CommandCondition._urls,
}
# Cheap checks first.
_ORDER = tuple(_BUILDERS)
