"""Semantic checks a schema cannot express: duplicates, unknown names, dead and shadowed rules.

Runs over a loaded :class:`~policy_server.loader.Pack` and returns problems in the same
``file:line [rule]: message; fix`` shape as the loader, so ``reins policy lint`` prints one list.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

from .engine.compiler import DECISION_RANK, Rule
from .engine.events import EVENTS, TOOL_EVENTS, TOOL_GROUPS, TOOLS
from .loader import Pack, Problem

# Conditions that can only hold for some tools; a rule restricted to other tools never matches.
_CONDITION_TOOLS = {
    "command": {"Bash"},
    "unanalyzable": {"Bash"},
    "paths": set(TOOL_GROUPS["@file"]),
    "hosts": {"WebFetch"},
    "schemes": {"WebFetch"},
    "url": {"WebFetch"},
}
# Tool names a rule may name; the agent registry checks allowlists against them too.
KNOWN_TOOLS = frozenset(TOOLS) | {"PowerShell", "Agent"}


def lint(pack: Pack) -> list[Problem]:
    """Every semantic problem of the pack (errors and warnings)."""
    problems: list[Problem] = []
    rules = list(pack.policies.rules)
    problems.extend(_duplicate_ids(rules))
    for rule in rules:
        problems.extend(_names(rule))
        problems.extend(_never_matches(rule))
        problems.extend(_tests_present(rule))
    problems.extend(_shadowed(rules))
    problems.extend(_agent_places(pack))
    if rules and not any(r.decision == "deny" and r.mode == "enforce" for r in rules):
        problems.append(
            Problem(
                str(pack.directory),
                0,
                "no enforced rule can deny; a pack that never denies protects nothing",
                level="warning",
            )
        )
    return problems


def _agent_places(pack: Pack) -> list[Problem]:
    from .registry.definitions import missing_places  # the registry imports this module

    return missing_places(pack.agents)


def _problem(rule: Rule, message: str, level: str = "error") -> Problem:
    return Problem(rule.source, rule.line, message, rule.id, level)


def _duplicate_ids(rules: list[Rule]) -> Iterable[Problem]:
    first: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in first:
            other = first[rule.id]
            yield _problem(
                rule,
                f"duplicate rule id (first defined at {other.source}:{other.line}); rename one of them",
            )
        else:
            first[rule.id] = rule


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _names(rule: Rule) -> Iterable[Problem]:
    for event in rule.events:
        if event not in EVENTS:
            yield _problem(
                rule,
                f"unknown event {event!r}{_suggest(event, EVENTS)} (known: {', '.join(EVENTS)})",
            )
    for tool in rule.tools:
        if tool in KNOWN_TOOLS or tool.startswith("mcp__") or tool == "*":
            continue
        known = sorted(KNOWN_TOOLS | set(TOOL_GROUPS))
        yield _problem(
            rule,
            f"unknown tool {tool!r}{_suggest(tool, known)}; use a tool name, a group (@file, @write, …) or mcp__server__tool",
        )


def _condition_keys(when: Any) -> set[str]:
    """Top-level condition keys that must hold (those under ``all`` included, not ``any``/``not``)."""
    if not isinstance(when, dict):
        return set()
    keys = {k for k in when if k not in ("all", "any", "not")}
    for part in when.get("all", []) or []:
        keys |= _condition_keys(part)
    return keys


def _never_matches(rule: Rule) -> Iterable[Problem]:
    spec = _spec(rule)
    if rule.tools and not any(e in TOOL_EVENTS for e in rule.events):
        yield _problem(
            rule,
            f"`tools` is set but none of the events {list(rule.events)} carries a tool call; the rule can never match — drop `tools` or add PreToolUse",
        )
    tools = set(rule.tools)
    for key in _condition_keys(spec.get("when")):
        needs = _CONDITION_TOOLS.get(key)
        if (
            needs
            and tools
            and not (needs & tools)
            and not any(t.startswith("mcp__") for t in tools)
        ):
            yield _problem(
                rule,
                f"condition `{key}` only applies to {sorted(needs)} but the rule is limited to tools {sorted(tools)}; it can never match",
            )
        if key == "prompt" and "UserPromptSubmit" not in rule.events:
            yield _problem(
                rule, "condition `prompt` only applies to UserPromptSubmit; add it to `events`"
            )
    for command in _command_specs(spec.get("when")):
        flags = command.get("flags")
        if not isinstance(flags, dict):
            continue
        both = set(_as_list(flags.get("all"))) & set(_as_list(flags.get("none")))
        if both:
            yield _problem(
                rule,
                f"flags {sorted(both)} are both required and forbidden; the rule can never match",
            )


def _command_specs(when: Any) -> Iterable[dict[str, Any]]:
    """Every ``command:`` mapping in a ``when`` tree, under all/any/not too."""
    if not isinstance(when, dict):
        return
    if isinstance(when.get("command"), dict):
        yield when["command"]
    for key in ("all", "any"):
        for part in when.get(key) or []:
            yield from _command_specs(part)
    yield from _command_specs(when.get("not"))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _spec(rule: Rule) -> dict[str, Any]:
    return rule.spec if isinstance(rule.spec, dict) else {}


def _tests_present(rule: Rule) -> Iterable[Problem]:
    expects = [t.get("expect") for t in rule.tests]
    hits = sum(1 for e in expects if e == rule.decision)
    misses = sum(1 for e in expects if e == "allow") if rule.decision != "allow" else 0
    if not rule.tests:
        yield _problem(
            rule,
            "no inline tests; add cases that must match and benign look-alikes that must not",
            "warning",
        )
    elif rule.decision != "allow" and (hits == 0 or misses == 0):
        yield _problem(
            rule,
            "tests should include at least one case that matches and one benign look-alike that must stay allowed",
            "warning",
        )


def _shadowed(rules: list[Rule]) -> Iterable[Problem]:
    """A rule with the same scope and conditions as an earlier, at-least-as-strong rule adds nothing."""
    seen: dict[str, Rule] = {}
    for rule in rules:
        spec = _spec(rule)
        key = json.dumps(
            {
                k: spec.get(k)
                for k in (
                    "events",
                    "tools",
                    "when",
                    "agents",
                    "users",
                    "roles",
                    "harnesses",
                    "paths",
                )
            },
            sort_keys=True,
            default=str,
        )
        earlier = seen.get(key)
        if (
            earlier
            and earlier.mode == rule.mode
            and DECISION_RANK[earlier.decision] >= DECISION_RANK[rule.decision]
        ):
            yield _problem(
                rule,
                f"shadowed by {earlier.id} ({earlier.source}:{earlier.line}), which matches the same events with decision {earlier.decision}; remove one or make them differ",
                "warning",
            )
        else:
            seen.setdefault(key, rule)
