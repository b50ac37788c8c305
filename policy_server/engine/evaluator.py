"""Evaluate a normalised event against a compiled policy set: deny > ask > allow.

Rules are indexed by event, then tool, then (for shell commands) program, so a decision costs
the rules that could match, not every rule in the pack. Shadow rules are evaluated and
reported but never change the decision.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from .compiler import DECISION_RANK, SEVERITY_RANK, Rule
from .conditions import Names, commands_of
from .events import Event

DEFAULT_REASON = "No Reins policy rule matched."


class Decision:
    """The outcome for one event. ``rules`` are the ids of matching enforced rules."""

    __slots__ = (
        "decision",
        "default_applied",
        "matched",
        "reason",
        "revision",
        "shadow",
    )

    def __init__(
        self,
        decision: str,
        reason: str,
        matched: Sequence[Rule] = (),
        shadow: Sequence[Rule] = (),
        revision: str = "",
        default_applied: bool = False,
    ) -> None:
        self.decision = decision
        self.reason = reason
        self.matched = tuple(matched)
        self.shadow = tuple(shadow)
        self.revision = revision
        self.default_applied = default_applied

    @property
    def rules(self) -> List[str]:
        return [r.id for r in self.matched]

    @property
    def explicit_allow(self) -> bool:
        """An enforced allow rule decided this (Claude Code may then skip its own prompt)."""
        return self.decision == "allow" and bool(self.matched)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "decision": self.decision,
            "reason": self.reason,
            "rules": self.rules,
            "matched": [r.to_summary() for r in self.matched],
            "shadow_rules": [r.to_summary() for r in self.shadow],
            "default_applied": self.default_applied,
            "revision": self.revision,
        }


class _Bucket:
    """Rules for one (event, tool): those keyed by an event feature, and the rest."""

    __slots__ = ("by_key", "general")

    def __init__(self) -> None:
        self.general: List[Rule] = []
        self.by_key: Dict[str, List[Rule]] = {}


class PolicySet:
    """A compiled, indexed pack. Immutable once built; share it between requests."""

    def __init__(
        self,
        rules: Sequence[Rule],
        default_decision: str = "allow",
        revision: str = "",
        index_agents: bool = True,
    ) -> None:
        self.rules = tuple(rules)
        self._index_agents = index_agents
        self.default_decision = default_decision
        self.revision = revision
        self._index: Dict[Tuple[str, str], _Bucket] = {}
        # Rules whose tools are globs (``mcp__github__*``), checked by name after the index.
        self._tool_globs: List[Tuple[Names, Rule]] = []
        # Rules for named agents only (the registry's allowlists): one small index per agent, so
        # a thousand agents cost an event nothing but a dict lookup.
        self._by_agent: Dict[str, PolicySet] = {}
        self._build_index()

    def _build_index(self) -> None:
        per_agent: Dict[str, List[Rule]] = {}
        for rule in self.rules:
            agents = _named_agents(rule) if self._index_agents else ()
            if agents:
                for agent in agents:
                    per_agent.setdefault(agent, []).append(rule)
                continue
            keys = rule.condition.index_keys()
            for event in rule.events:
                for tool in rule.tools or ("*",):
                    if tool != "*" and any(ch in tool for ch in "*?["):
                        self._tool_globs.append((Names([tool]), rule))
                        continue
                    bucket = self._index.setdefault((event, tool), _Bucket())
                    if keys is None:
                        bucket.general.append(rule)
                    else:
                        for key in keys:
                            bucket.by_key.setdefault(key, []).append(rule)
        self._by_agent = {a: PolicySet(rules, index_agents=False) for a, rules in per_agent.items()}

    def candidates(self, event: Event) -> List[Rule]:
        """Rules whose event, tool and index keys admit this event."""
        found: List[Rule] = []
        if self._by_agent:
            own = self._by_agent.get(event.agent)
            if own is not None:
                found.extend(own.candidates(event))
        features: Optional[Set[str]] = None
        for key in ((event.event, event.tool), (event.event, "*")):
            bucket = self._index.get(key)
            if bucket is None:
                continue
            found.extend(bucket.general)
            if bucket.by_key:
                if features is None:
                    features = event_features(event)
                by_key = bucket.by_key
                for feature in features:
                    rules = by_key.get(feature)
                    if rules:
                        found.extend(rules)
        if self._tool_globs:
            found.extend(
                r
                for names, r in self._tool_globs
                if event.event in r.events and names.match(event.tool)
            )
        if len(found) > 1:
            # A rule may sit under several keys the event has; order does not matter here
            # because _combine orders what matched.
            found = list(dict.fromkeys(found))
        return found

    def evaluate(self, event: Event, enforce: FrozenSet[str] = frozenset()) -> Decision:
        """Decide. ``enforce`` names shadow rules to treat as enforced (for their own tests)."""
        matched: List[Rule] = []
        shadow: List[Rule] = []
        for rule in self.candidates(event):
            if rule.scoped and not rule.scope.applies(event):
                continue
            if not rule.condition.test(event):
                continue
            if rule.mode == "shadow" and rule.id not in enforce:
                shadow.append(rule)
            else:
                matched.append(rule)
        return self._combine(matched, shadow)

    def _combine(self, matched: List[Rule], shadow: List[Rule]) -> Decision:
        if len(shadow) > 1:
            shadow.sort(key=_by_index)
        if not matched:
            return Decision(
                self.default_decision,
                DEFAULT_REASON,
                (),
                shadow,
                self.revision,
                default_applied=True,
            )
        matched.sort(key=_by_weight)
        top = matched[0]
        reason = f"Reins {top.id}: {top.reason}"
        return Decision(top.decision, reason, matched, shadow, self.revision)

    def explain(self, event: Event) -> List[Dict[str, Any]]:
        """Every rule of the pack and why it did or did not match this event."""
        candidates = set(self.candidates(event))
        trace = []
        for rule in self.rules:
            # "looked": the rule is about this event and tool, whatever its conditions said.
            looked, matched = False, False
            named = _named_agents(rule)
            if named and event.agent not in named:
                why = f"only for agents {list(named)}"
            elif event.event not in rule.events:
                why = f"event {event.event} not in {list(rule.events)}"
            elif rule.tools and rule not in candidates and not _tool_in(event.tool, rule.tools):
                why = f"tool {event.tool or '-'} not in {list(rule.tools)}"
            elif rule not in candidates:
                needs = sorted(rule.condition.index_keys() or ())
                looked, why = True, f"the event has none of {needs}"
            elif rule.scope and not rule.scope.applies(event):
                looked, why = True, f"out of scope {rule.scope.source}"
            else:
                looked = True
                matched, why = rule.condition.explain(event)
            trace.append(
                {
                    "id": rule.id,
                    "decision": rule.decision,
                    "mode": rule.mode,
                    "looked": looked,
                    "matched": matched,
                    "why": why,
                }
            )
        return trace


def _named_agents(rule: Rule) -> Tuple[str, ...]:
    """The agents a rule is limited to when they are plain names (no ``!``, no glob), else ()."""
    agents = rule.scope.source.get("agents")
    if not agents or any(a.startswith("!") or any(c in a for c in "*?[") for a in agents):
        return ()
    return tuple(agents)


def _tool_in(tool: str, tools: Iterable[str]) -> bool:
    return any(Names([t]).match(tool) for t in tools)


def event_features(event: Event) -> Set[str]:
    """What the event has, as index keys: ``program:<name>``, ``sub:<program> <first arg>``,
    ``wrapper:<name>``, ``writes``, ``exec``, ``assigns``, ``unanalyzable``, ``urls``, ``paths``,
    ``prompt``, ``mcp``. Runs once per event on the hot path, hence the plain loop."""
    features = set()
    add = features.add
    if event.paths:
        add("paths")
    if event.urls:
        add("urls")
    if event.prompt:
        add("prompt")
    if event.mcp_server:
        add("mcp")
    for cmd in commands_of(event):
        program = cmd.program
        add("program:" + program)
        if cmd.args:
            add("sub:" + program + " " + cmd.args[0])
        for wrapper in cmd.wrappers:
            add("wrapper:" + wrapper)
        if cmd.writes:
            add("writes")
        if cmd.exec_sources:
            add("exec")
        if cmd.assignments:
            add("assigns")
        if cmd.unanalyzable:
            add("unanalyzable")
        if cmd.urls:
            add("urls")
    return features


def _by_index(rule: Rule) -> int:
    return rule.index


def _by_weight(rule: Rule) -> Tuple[int, int, int]:
    return (-DECISION_RANK[rule.decision], SEVERITY_RANK[rule.severity], rule.index)
