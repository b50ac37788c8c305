"""Compile rule mappings (already parsed from YAML and schema-checked) into :class:`Rule`.

Pure: the loader reads files and reports errors with file:line; this module only turns
dictionaries into matchers and raises :class:`RuleError` with the key path of a bad value.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from .command_match import CommandCondition
from .conditions import (
    All,
    AnyOf,
    Condition,
    KeyPath,
    Names,
    Not,
    Predicate,
    RuleError,
    as_list,
    commands_of,
    compile_detectors,
    compile_globs,
    compile_host_matcher,
    compile_permissions,
    compile_regexes,
    field,
    globs_match,
    strings_in,
    url_hosts,
)
from .detectors import find_secrets
from .events import TOOL_GROUPS, Event
from .hosts import scheme_of

DECISIONS = ("allow", "ask", "deny")
DECISION_RANK = {"allow": 0, "ask": 1, "deny": 2}
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}


class Rule:
    """One compiled rule. ``index`` is its position in the pack (for stable ordering)."""

    __slots__ = (
        "condition",
        "decision",
        "description",
        "events",
        "id",
        "index",
        "line",
        "mode",
        "policy",
        "reason",
        "scope",
        "scoped",
        "severity",
        "source",
        "spec",
        "tests",
        "tools",
    )

    def __init__(self, spec: Dict[str, Any], policy: str = "", source: str = "", index: int = 0):
        self.spec = spec  # the rule as written, for lint and explain
        self.id: str = spec["id"]
        self.policy = policy
        self.source = source
        self.index = index
        self.line = 0
        self.description: str = spec.get("description", "")
        self.decision: str = spec["decision"]
        self.reason: str = spec["reason"]
        self.severity: str = spec.get("severity", "medium")
        self.mode: str = spec.get("mode", "enforce")
        self.events: Tuple[str, ...] = tuple(as_list(spec.get("events", "PreToolUse")))
        self.tools: Tuple[str, ...] = expand_tools(as_list(spec.get("tools")))
        self.scope = Scope(spec)
        self.scoped = bool(self.scope)  # checked per candidate: skip Scope.__bool__ there
        self.tests: List[Dict[str, Any]] = list(spec.get("tests") or [])
        self.condition: Condition = compile_when(spec.get("when") or {}, ("when",))

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"

    def to_summary(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "decision": self.decision,
            "severity": self.severity,
            "mode": self.mode,
            "policy": self.source,
        }

    def __repr__(self) -> str:
        return f"Rule({self.id})"


def expand_tools(tools: List[str]) -> Tuple[str, ...]:
    out: List[str] = []
    for tool in tools:
        out.extend(TOOL_GROUPS.get(tool, (tool,)))
    return tuple(dict.fromkeys(out))


class Scope:
    """Who and where a rule applies to: agents, users, roles, harnesses, cwd paths."""

    __slots__ = ("_checks", "source")

    def __init__(self, spec: Dict[str, Any]) -> None:
        self.source = {
            k: as_list(spec[k]) for k in ("agents", "users", "roles", "harnesses") if k in spec
        }
        checks = []
        for key, attr in (("agents", "agent"), ("users", "user"), ("harnesses", "harness")):
            if key in spec:
                checks.append(_selector(as_list(spec[key]), lambda ev, a=attr: (getattr(ev, a),)))
        if "roles" in spec:
            checks.append(_selector(as_list(spec["roles"]), lambda ev: ev.roles))
        if "paths" in spec:
            include, _ = compile_globs(spec["paths"], ("paths",))
            self.source["paths"] = as_list(spec["paths"])
            # ``dir/**`` should also cover ``dir`` itself, hence the second spelling.
            checks.append(lambda ev: include.match(ev.cwd) or include.match(ev.cwd + "/"))
        self._checks = tuple(checks)

    def applies(self, event: Event) -> bool:
        return all(check(event) for check in self._checks)

    def __bool__(self) -> bool:
        return bool(self._checks)


def _selector(values: List[str], get: Any) -> Any:
    """``[a, b]`` = one of these; ``[!a]`` = anything but a; mixed = included and not excluded."""
    include = Names([v for v in values if not v.startswith("!")])
    exclude = Names([v[1:] for v in values if v.startswith("!")])
    has_include = bool(include.source)

    def check(event: Event) -> bool:
        names = get(event)
        if exclude.source and exclude.match_any(names):
            return False
        return include.match_any(names) if has_include else True

    return check


_PATHS = frozenset({"paths"})
_URLS = frozenset({"urls"})


def compile_when(spec: Any, path: KeyPath = ("when",)) -> Condition:
    """A ``when`` mapping -> one condition (all keys must hold)."""
    if not isinstance(spec, dict):
        raise RuleError("`when` must be a mapping of conditions", path)
    parts: List[Condition] = []
    for key, value in spec.items():
        builder = _WHEN_BUILDERS.get(key)
        if builder is None:
            raise RuleError(
                f"unknown condition {key!r}; known conditions: {', '.join(_WHEN_BUILDERS)}",
                (*path, key),
            )
        parts.append(builder(value, (*path, key)))
    return parts[0] if len(parts) == 1 else All(parts)


def _all(value: Any, path: KeyPath) -> Condition:
    return All([compile_when(v, (*path, i)) for i, v in enumerate(_items(value, path))])


def _any(value: Any, path: KeyPath) -> Condition:
    return AnyOf([compile_when(v, (*path, i)) for i, v in enumerate(_items(value, path))])


def _items(value: Any, path: KeyPath) -> List[Any]:
    if not isinstance(value, list) or not value:
        raise RuleError("takes a non-empty list of conditions", path)
    return value


def _not(value: Any, path: KeyPath) -> Condition:
    return Not(compile_when(value, path))


def _unanalyzable(value: Any, path: KeyPath) -> Condition:
    want = bool(value)

    def test(ev: Event) -> bool:
        return any(bool(c.unanalyzable) for c in commands_of(ev)) == want

    return Predicate(f"unanalyzable={want}", test, frozenset({"unanalyzable"}) if want else None)


def _paths(value: Any, path: KeyPath) -> Condition:
    include, exclude = compile_globs(value, path)
    access = value.get("access", "any") if isinstance(value, dict) else "any"

    def test(ev: Event) -> bool:
        if access != "any" and ev.access != access:
            return False
        return globs_match(include, exclude, ev.paths, ev.cwd)

    return Predicate(f"paths {value!r}", test, _PATHS)


def _hosts(value: Any, path: KeyPath) -> Condition:
    matcher = compile_host_matcher(value, path)
    return Predicate(
        f"hosts {as_list(value)}",
        lambda ev: any(matcher.match(h) for h in url_hosts(ev.urls)),
        _URLS,
    )


def _schemes(value: Any, path: KeyPath) -> Condition:
    schemes = frozenset(s.lower() for s in as_list(value))
    return Predicate(
        f"schemes {sorted(schemes)}",
        lambda ev: any(scheme_of(u) in schemes for u in ev.urls),
        _URLS,
    )


def _url(value: Any, path: KeyPath) -> Condition:
    regexes = compile_regexes(value, path)
    return Predicate(
        f"url ~ {as_list(value)}",
        lambda ev: any(r.search(u) for r in regexes for u in ev.urls),
        _URLS,
    )


def _mcp(value: Any, path: KeyPath) -> Condition:
    if not isinstance(value, dict):
        raise RuleError("`mcp` takes {server: [...], tool: [...]}", path)
    servers = Names(as_list(value.get("server"))) if "server" in value else None
    tools = Names(as_list(value.get("tool"))) if "tool" in value else None
    tool_regexes = compile_regexes(value.get("tool_regex"), (*path, "tool_regex"))

    def test(ev: Event) -> bool:
        if not ev.mcp_server:
            return False
        if servers is not None and not servers.match(ev.mcp_server):
            return False
        if tool_regexes and not any(r.search(ev.mcp_tool) for r in tool_regexes):
            return False
        return tools is None or tools.match(ev.mcp_tool)

    return Predicate(f"mcp {value!r}", test, frozenset({"mcp"}))


def _input(value: Any, path: KeyPath) -> Condition:
    if not isinstance(value, dict) or not value:
        raise RuleError("`input` takes {field.name: regex}", path)
    checks = [(name, compile_regexes(regex, (*path, name))) for name, regex in value.items()]

    def test(ev: Event) -> bool:
        for name, regexes in checks:
            strings = strings_in(field(ev.tool_input, name))
            if not any(r.search(s) for r in regexes for s in strings):
                return False
        return True

    return Predicate(f"input {value!r}", test)


def _prompt(value: Any, path: KeyPath) -> Condition:
    regexes = compile_regexes(value, path)
    return Predicate(
        f"prompt ~ {as_list(value)}",
        lambda ev: ev.prompt is not None and any(r.search(ev.prompt) for r in regexes),
        frozenset({"prompt"}),
    )


def _output(value: Any, path: KeyPath) -> Condition:
    regexes = compile_regexes(value, path)

    def test(ev: Event) -> bool:
        texts = strings_in(ev.payload.get("tool_response"))
        return any(r.search(t) for r in regexes for t in texts)

    return Predicate(f"output ~ {as_list(value)}", test)


def _secrets(value: Any, path: KeyPath) -> Condition:
    names = compile_detectors(value, path)

    def test(ev: Event) -> bool:
        texts = strings_in(ev.tool_input)
        if ev.prompt:
            texts.append(ev.prompt)
        return any(find_secrets(t, names) for t in texts)

    return Predicate(f"secrets {as_list(value)}", test)


def _permission(value: Any, path: KeyPath) -> Condition:
    rules = compile_permissions(value, path)
    return Predicate(f"permission {as_list(value)}", lambda ev: any(r.test(ev) for r in rules))


def _command(value: Any, path: KeyPath) -> Condition:
    return CommandCondition(value, path)


_WHEN_BUILDERS = {
    "all": _all,
    "any": _any,
    "not": _not,
    "command": _command,
    "unanalyzable": _unanalyzable,
    "paths": _paths,
    "hosts": _hosts,
    "schemes": _schemes,
    "url": _url,
    "mcp": _mcp,
    "input": _input,
    "prompt": _prompt,
    "output": _output,
    "secrets": _secrets,
    "permission": _permission,
}
