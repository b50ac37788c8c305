"""The one-line installer from a fresh HOME: ``curl -fsSL SERVER/install.sh | sh -s -- --token T``.

It needs only sh, curl and python3, must find both CLIs on PATH and configure them, and the
result must work: the real Claude Code and Codex (no trust bypass flag) are both blocked.
"""

from __future__ import annotations

import subprocess

import pytest

from .conftest import DENIED_RULE, DENIED_TEMPLATE, rule_reason
from .fake_upstream import FakeAnthropic, FakeResponses

pytestmark = pytest.mark.e2e


def test_one_line_installer_sets_up_both_harnesses_from_a_fresh_home(reins, machine):
    with FakeResponses(DENIED_TEMPLATE.format(proof=machine.proof("codex"))) as codex_model:
        machine.codex_provider(codex_model.url)  # the user's own Codex setup, before Reins
        line = f"curl -fsSL {reins.url}/install.sh | sh -s -- --token {reins.developer}"
        done = subprocess.run(
            ["sh", "-c", line],
            cwd=machine.project,
            env={**machine.env(), "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        assert reins.developer not in done.stdout + done.stderr, "the installer echoed the token"

        codex = machine.codex()
        codex_outputs = codex_model.tool_outputs()
    with FakeAnthropic(DENIED_TEMPLATE.format(proof=machine.proof("claude"))) as claude_model:
        claude = machine.claude(claude_model.url)
        claude_results = claude_model.tool_results()

    reason = rule_reason(DENIED_RULE)
    assert not machine.proof("claude").exists(), claude.describe()
    assert [reason in r["content"] for r in claude_results] == [True]
    assert not machine.proof("codex").exists(), codex.describe()
    assert [reason in o for o in codex_outputs] == [True]

    denied = reins.audit(decision="deny")
    harnesses = sorted(row["harness"] for row in denied if row["hook_event"] == "PreToolUse")
    assert harnesses == ["claude-code", "codex"]
    assert {row["session_id"] for row in denied} >= {claude.json()["session_id"]}
