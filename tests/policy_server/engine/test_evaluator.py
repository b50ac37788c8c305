"""Combination, shadow mode, scope and indexing of compiled rules."""

from __future__ import annotations

from typing import Any

import pytest

from policy_server.engine.adapters import to_event
from policy_server.engine.compiler import Rule
from policy_server.engine.conditions import RuleError
from policy_server.engine.evaluator import PolicySet


def rule(id: str, decision: str = "deny", **spec: Any) -> Rule:
    spec.setdefault("reason", f"reason of {id}")
    return Rule({"id": id, "decision": decision, **spec}, source="test.yaml")


def bash(command: str, **context: Any) -> Any:
    payload = {
        "hook_event_name": "PreToolUse",
        "cwd": "/home/dev/proj",
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }
    return to_event(payload, "claude-code", {"home": "/home/dev", **context})


RM = {"command": {"program": "rm", "flags": {"all": ["-r", "-f"]}}}
PUSH = {"command": {"program": "git", "subcommand": "push"}}


def test_nothing_matches_gives_the_default_decision() -> None:
    decision = PolicySet([rule("a", tools="Bash", when=RM)]).evaluate(bash("ls"))
    assert (decision.decision, decision.rules, decision.default_applied) == ("allow", [], True)


def test_default_decision_is_configurable() -> None:
    assert PolicySet([], default_decision="ask").evaluate(bash("ls")).decision == "ask"


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        (["allow", "ask"], "ask"),
        (["ask", "deny"], "deny"),
        (["deny", "allow"], "deny"),
        (["allow"], "allow"),
    ],
)
def test_deny_beats_ask_beats_allow(decisions: list[str], expected: str) -> None:
    rules = [rule(f"r{i}", d, tools="Bash", when=RM) for i, d in enumerate(decisions)]
    decision = PolicySet(rules).evaluate(bash("rm -rf x"))
    assert decision.decision == expected
    assert sorted(decision.rules) == sorted(r.id for r in rules)


def test_reason_comes_from_the_most_severe_winning_rule() -> None:
    rules = [
        rule("low", severity="low", tools="Bash", when=RM),
        rule("crit", severity="critical", tools="Bash", when=RM),
    ]
    decision = PolicySet(rules).evaluate(bash("rm -rf x"))
    assert decision.reason == "Reins crit: reason of crit"


def test_shadow_rules_are_reported_but_never_decide() -> None:
    shadow = rule("new", mode="shadow", tools="Bash", when=RM)
    decision = PolicySet([shadow]).evaluate(bash("rm -rf x"))
    assert decision.decision == "allow"
    assert [r.id for r in decision.shadow] == ["new"]
    assert (
        PolicySet([shadow]).evaluate(bash("rm -rf x"), enforce=frozenset({"new"})).decision
        == "deny"
    )


def test_rules_only_see_their_events_and_tools() -> None:
    policies = PolicySet([rule("bash-only", tools="Bash", when=RM)])
    read = to_event(
        {
            "hook_event_name": "PreToolUse",
            "tool_name": "Read",
            "tool_input": {"file_path": "/x"},
            "cwd": "/",
        }
    )
    post = to_event(
        {
            "hook_event_name": "PostToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": "rm -rf x"},
            "cwd": "/",
        }
    )
    assert policies.evaluate(read).decision == "allow"
    assert policies.evaluate(post).decision == "allow"


@pytest.mark.parametrize(
    ("scope", "context", "applies"),
    [
        ({"agents": ["nightly"]}, {"agent": "nightly"}, True),
        ({"agents": ["nightly"]}, {}, False),
        ({"agents": ["!interactive"]}, {}, False),
        ({"agents": ["!interactive"]}, {"agent": "bot"}, True),
        ({"roles": ["developer"]}, {"roles": ["developer", "author"]}, True),
        ({"roles": ["developer"]}, {"roles": ["auditor"]}, False),
        ({"users": ["ana"]}, {"user": "ana"}, True),
        ({"harnesses": ["codex"]}, {}, False),
        ({"paths": ["~/proj/**"]}, {}, True),
        ({"paths": ["/srv/**"]}, {}, False),
    ],
)
def test_scope_selectors(scope: dict[str, Any], context: dict[str, Any], applies: bool) -> None:
    policies = PolicySet([rule("scoped", tools="Bash", when=RM, **scope)])
    assert (policies.evaluate(bash("rm -rf x", **context)).decision == "deny") is applies


def test_rules_are_indexed_by_program() -> None:
    rules = [rule(f"rm{i}", tools="Bash", when=RM) for i in range(50)] + [
        rule("push", tools="Bash", when=PUSH)
    ]
    policies = PolicySet(rules)
    assert [r.id for r in policies.candidates(bash("git push"))] == ["push"]
    assert len(policies.candidates(bash("sudo rm -rf x && git push"))) == 51


def test_any_of_programs_is_indexed_by_their_union() -> None:
    when = {"any": [{"command": {"program": "curl"}}, {"command": {"program": "wget"}}]}
    policies = PolicySet([rule("net", tools="Bash", when=when)])
    assert policies.candidates(bash("wget x"))
    assert not policies.candidates(bash("ls"))


def test_not_conditions_are_not_indexed_by_program() -> None:
    policies = PolicySet(
        [rule("not-ls", tools="Bash", when={"not": {"command": {"program": "ls"}}})]
    )
    assert policies.evaluate(bash("pwd")).decision == "deny"
    assert policies.evaluate(bash("ls")).decision == "allow"


def test_mcp_tool_globs() -> None:
    policies = PolicySet([rule("gh", "ask", tools="mcp__github__*")])
    ev = to_event(
        {
            "hook_event_name": "PreToolUse",
            "tool_name": "mcp__github__create_issue",
            "tool_input": {},
            "cwd": "/",
        }
    )
    other = to_event(
        {
            "hook_event_name": "PreToolUse",
            "tool_name": "mcp__slack__post",
            "tool_input": {},
            "cwd": "/",
        }
    )
    assert policies.evaluate(ev).decision == "ask"
    assert policies.evaluate(other).decision == "allow"


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"command": {"text": "("}}, "invalid regular expression"),
        ({"prompt": ["ok", "[z-a]"]}, "invalid regular expression"),
        ({"nope": 1}, "unknown condition 'nope'"),
        ({"command": {"progam": "rm"}}, "unknown key 'progam'"),
        ({"secrets": ["aws_key_typo"]}, "unknown secret detector"),
        ({"permission": "Bash("}, r"Tool\(specifier\)"),
    ],
)
def test_bad_conditions_raise_rule_errors_with_a_path(when: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message) as info:
        rule("bad", when=when)
    assert info.value.path[0] == "when"


def test_explain_says_why_each_rule_did_or_did_not_match() -> None:
    policies = PolicySet(
        [
            rule("rm", tools="Bash", when=RM),
            rule("push", tools="Bash", when=PUSH),
            rule("read", tools="Read"),
        ]
    )
    trace = {t["id"]: t for t in policies.explain(bash("rm -rf ./build"))}
    assert trace["rm"]["matched"] is True
    assert trace["push"]["matched"] is False and "git" in trace["push"]["why"]
    assert trace["read"]["matched"] is False and "tool Bash" in trace["read"]["why"]


@pytest.mark.parametrize(
    ("subcommand", "command", "matches"),
    [
        ("push", "git push origin main", True),
        ("push", "git -C repo push", True),
        ("push", "git pull", False),
        ("push", "git", False),
        (["stash drop", "stash clear"], "git stash clear", True),
        (["stash drop", "stash clear"], "git stash list", False),
        (["stash drop", "stash clear"], "git stash", False),
        ("* push", "git x push", True),
        ("stash *", "git stash pop", True),
        ("stash *", "git stash", False),
    ],
)
def test_subcommand_prefixes(subcommand: Any, command: str, matches: bool) -> None:
    policies = PolicySet(
        [rule("sub", tools="Bash", when={"command": {"program": "git", "subcommand": subcommand}})]
    )
    assert (policies.evaluate(bash(command)).decision == "deny") is matches
