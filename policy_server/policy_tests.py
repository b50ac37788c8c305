"""Run the inline tests of a policy pack (``reins policy test``).

A test is an event (a shorthand like ``command: "rm -rf /"`` or a full harness payload) and
the decision the whole pack must reach, with the enclosing rule enforced even if it is in
shadow mode. A test expecting deny/ask also requires its rule (the enclosing one unless it
names another) to be among the matches; a test expecting allow requires the enclosing rule
not to match. Events go through the same harness adapters as live traffic.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .engine.adapters import PayloadError, to_event
from .engine.compiler import Rule
from .engine.evaluator import PolicySet

DEFAULT_CWD = "/home/dev/project"
DEFAULT_HOME = "/home/dev"
_SHORTHANDS = {
    "read": ("Read", "file_path"),
    "write": ("Write", "file_path"),
    "edit": ("Edit", "file_path"),
    "fetch": ("WebFetch", "url"),
}


@dataclass(frozen=True)
class CaseResult:
    rule: Rule
    number: int
    name: str
    passed: bool
    message: str
    seconds: float


def fixture_payload(test: dict[str, Any]) -> dict[str, Any]:
    """A harness-native payload for one test fixture (Claude Code shape for shorthands)."""
    if "payload" in test:
        return dict(test["payload"])
    payload: dict[str, Any] = {
        "session_id": "reins-policy-test",
        "cwd": test.get("cwd", DEFAULT_CWD),
        "hook_event_name": test.get("event", "PreToolUse"),
    }
    if "command" in test:
        payload.update(tool_name="Bash", tool_input={"command": test["command"]})
    elif "prompt" in test:
        payload.update(hook_event_name=test.get("event", "UserPromptSubmit"), prompt=test["prompt"])
    elif "tool" in test:
        payload.update(tool_name=test["tool"], tool_input=test.get("input", {}))
    else:
        for key, (tool, input_key) in _SHORTHANDS.items():
            if key in test:
                payload.update(tool_name=tool, tool_input={input_key: test[key]})
                break
    return payload


def describe(test: dict[str, Any]) -> str:
    if "name" in test:
        return str(test["name"])
    for key in ("command", "prompt", "read", "write", "edit", "fetch", "tool"):
        if key in test:
            return f"{key}: {test[key]}"
    return "payload"


def run_test(policies: PolicySet, rule: Rule, number: int, test: dict[str, Any]) -> CaseResult:
    started = time.perf_counter()
    name = describe(test)
    context = {
        "home": test.get("home", DEFAULT_HOME),
        "agent": test.get("agent", "interactive"),
        "user": test.get("user", ""),
        "roles": test.get("roles", []),
    }
    try:
        event = to_event(fixture_payload(test), test.get("harness"), context)
    except PayloadError as exc:
        return CaseResult(rule, number, name, False, f"bad fixture: {exc}", 0.0)
    decision = policies.evaluate(event, enforce=frozenset({rule.id}))
    expect = test["expect"]
    want_rule = test.get("rule", rule.id if expect != "allow" else "")
    problems = []
    if decision.decision != expect:
        problems.append(
            f"expected {expect}, got {decision.decision} ({', '.join(decision.rules) or 'no rule'})"
        )
    if want_rule and want_rule not in decision.rules:
        problems.append(
            f"expected rule {want_rule} to match; matched: {', '.join(decision.rules) or 'none'}"
        )
    if expect == "allow" and "rule" not in test and rule.id in decision.rules:
        problems.append(f"rule {rule.id} matched a case it must leave alone")
    elapsed = time.perf_counter() - started
    return CaseResult(rule, number, name, not problems, "; ".join(problems), elapsed)


def run_all(policies: PolicySet) -> Iterator[CaseResult]:
    for rule in policies.rules:
        for number, test in enumerate(rule.tests, 1):
            yield run_test(policies, rule, number, test)


def summary(results: list[CaseResult]) -> str:
    passed = sum(1 for r in results if r.passed)
    return f"{passed} passed, {len(results) - passed} failed"


def write_junit(results: list[CaseResult], path: Path) -> None:
    """JUnit XML so CI systems show each policy test as a test case."""
    failures = sum(1 for r in results if not r.passed)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuite name="reins-policy" tests="{len(results)}" failures="{failures}">',
    ]
    for r in results:
        attrs = f'classname={quoteattr(r.rule.id)} name={quoteattr(f"{r.number}: {r.name}")} time="{r.seconds:.6f}"'
        if r.passed:
            lines.append(f"  <testcase {attrs}/>")
        else:
            lines.append(
                f"  <testcase {attrs}><failure message={quoteattr(r.message)}>{escape(r.rule.source)}:{r.rule.line}</failure></testcase>"
            )
    lines.append("</testsuite>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
