"""The default pack as a whole: test coverage per rule, and decisions that survive evasion."""

from __future__ import annotations

import random
import shlex
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_server.engine.adapters import to_event
from policy_server.engine.evaluator import PolicySet
from policy_server.loader import BUNDLED_POLICIES, load_strict


@cache
def pack() -> PolicySet:
    return load_strict(BUNDLED_POLICIES).policies


def decide(command: str) -> str:
    payload = {
        "hook_event_name": "PreToolUse",
        "cwd": "/home/dev/project",
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }
    return pack().evaluate(to_event(payload, "claude-code", {"home": "/home/dev"})).decision


# The example agents' rules (policies/agents/) are generated with their own tests
# (tests/policy_server/registry/test_pack.py); this corpus bar is for the default pack.
@pytest.mark.parametrize(
    "rule", [r for r in pack().rules if not r.policy.startswith("agent.")], ids=lambda r: r.id
)
def test_every_rule_has_catches_and_benign_look_alikes(rule) -> None:
    # A look-alike may be left to a milder rule (``rule:`` names it); it is still benign here.
    catches = sum(
        1 for t in rule.tests if t["expect"] != "allow" and t.get("rule", rule.id) == rule.id
    )
    benign = len(rule.tests) - catches
    assert catches >= 3, f"{rule.id}: add must-catch cases, evasions included ({catches} < 3)"
    assert benign >= 2, f"{rule.id}: add benign look-alikes that must stay allowed ({benign} < 2)"


# Simple commands (no operators) whose words can be re-quoted and whose flags can be
# reordered or split without changing what the shell runs.
SIMPLE = [
    "rm -rf /",
    "rm -r -f /home/dev",
    "rm --recursive --force /etc",
    "rm -rf ./build",
    "git push --force origin main",
    "git push -f origin feature/x",
    "git push origin main",
    "git clean -fdx",
    "chmod -R 777 /",
    "docker system prune -af --volumes",
    "cat /home/dev/.aws/credentials",
    "cat /home/dev/.ssh/id_ed25519.pub",
    "kubectl delete pod web-1",
    "terraform apply -auto-approve",
    "npm publish --access public",
    "npm publish --dry-run",
]


def requote(word: str, style: int) -> str:
    if style == 0:
        return shlex.quote(word)
    if style == 1:
        return "'" + word.replace("'", "'\\''") + "'"
    if style == 2:
        return (
            '"'
            + word.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
            + '"'
        )
    # Backslash before every letter: the shell drops each backslash.
    return "".join(
        "\\" + c if c.isalpha() else shlex.quote(c) if not c.isalnum() and c not in "-_./~" else c
        for c in word
    )


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SIMPLE), st.lists(st.integers(0, 3), min_size=8, max_size=8))
def test_requoting_never_changes_a_decision(command: str, styles: list[int]) -> None:
    words = shlex.split(command)
    # Keep a leading ~ unquoted: quoting it would (correctly) stop tilde expansion.
    requoted = " ".join(
        w if w.startswith("~") else requote(w, styles[i % len(styles)]) for i, w in enumerate(words)
    )
    assert decide(requoted) == decide(command), requoted


def split_and_shuffle(words: list[str], seed: int) -> list[str]:
    """Split short-flag clusters (-rf -> -r -f) and shuffle the flags among the flag positions."""
    out: list[str] = []
    for w in words:
        if w.startswith("-") and not w.startswith("--") and len(w) > 2 and w[1:].isalpha():
            out.extend("-" + c for c in w[1:])
        else:
            out.append(w)
    # The program and its subcommand words stay in front; flags move among the rest.
    n = 1
    while n < len(out) and not out[n].startswith("-"):
        n += 1
    head, rest = out[:n], out[n:]
    slots = [i for i, w in enumerate(rest) if w.startswith("-")]
    flags = [rest[i] for i in slots]
    rng = random.Random(seed)
    rng.shuffle(flags)
    for i, flag in zip(slots, flags, strict=True):
        rest[i] = flag
    return head + rest


FLAGGED = [c for c in SIMPLE if " -" in c]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(FLAGGED), st.integers(0, 10_000))
def test_flag_order_and_form_never_change_a_decision(command: str, seed: int) -> None:
    variant = " ".join(split_and_shuffle(shlex.split(command), seed))
    assert decide(variant) == decide(command), variant


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("bash -c 'rm -rf /'", "deny"),
        ('sh -c "sudo rm -fr ~"', "deny"),
        ("env FOO=1 nohup timeout 5 rm -rf /usr", "deny"),
        ("echo ok; r\\m -rf $HOME", "deny"),
        ("true && /usr/bin/git push --force origin main", "deny"),
        ("cd /etc && rm -rf .", "deny"),
        ("echo 'rm -rf /' > notes.txt", "allow"),
        ("git log --oneline | head -n 5", "allow"),
        ("npm test -- --watch=false", "allow"),
        ("python -m pytest -q tests/", "allow"),
    ],
)
def test_evasions_and_ordinary_work(command: str, expected: str) -> None:
    assert decide(command) == expected
