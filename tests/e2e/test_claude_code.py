"""Claude Code 2.1.197, headless, set up only by ``reins install claude-code``: deny, allow, prompts.

The deny runs in both install modes: ``command`` (the local hook client) and ``http`` (Claude
Code posts PreToolUse and the other blocking events straight to the server).

The fake Anthropic upstream asks for one Bash call; the proof file tells whether it ran, the
next model request tells what the model was told, and the server's audit log must hold the
event under the session id Claude Code reported.
"""

from __future__ import annotations

import json

import pytest

from .conftest import (
    ALLOWED_TEMPLATE,
    DENIED_RULE,
    DENIED_TEMPLATE,
    SECRET,
    SECRET_PROMPT,
    SECRET_RULE,
    by_event,
    rule_reason,
)
from .fake_upstream import FINAL_PREFIX, FakeAnthropic

pytestmark = pytest.mark.e2e


@pytest.fixture
def reins(shared_reins):
    """These tests only read the rows of their own session: one server serves the module."""
    return shared_reins


@pytest.mark.parametrize("mode", ["command", "http"])
def test_denied_command_does_not_run_and_the_model_gets_the_policy_reason(reins, machine, mode):
    machine.install("claude-code", reins, "--mode", mode)
    proof = machine.proof()
    with FakeAnthropic(DENIED_TEMPLATE.format(proof=proof)) as model:
        run = machine.claude(model.url)
        results = model.tool_results()
    result = run.json()

    assert run.returncode == 0, run.describe()
    assert not proof.exists(), "the denied command ran"
    assert [d["tool_name"] for d in result["permission_denials"]] == ["Bash"], run.describe()
    assert len(results) == 1, results
    assert results[0]["is_error"] is True
    assert rule_reason(DENIED_RULE) in results[0]["content"]
    assert "reins_hook.py" not in results[0]["content"], "a JSON deny never leaks the hook command"
    assert result["result"].startswith(FINAL_PREFIX)

    rows = reins.audit(session=result["session_id"])
    [pre] = by_event(rows, "PreToolUse")
    assert (pre["decision"], pre["enforced_decision"]) == ("deny", "deny")
    assert DENIED_RULE in pre["rules"]
    assert pre["tool_use_id"] == results[0]["tool_use_id"]
    assert pre["harness"] == "claude-code" and pre["user"] == "ana"
    assert pre["degraded"] is False
    assert not by_event(rows, "PostToolUse")


def test_allowed_command_runs_and_both_sides_of_the_call_are_audited(reins, machine):
    machine.install("claude-code", reins)
    proof = machine.proof()
    with FakeAnthropic(ALLOWED_TEMPLATE.format(proof=proof)) as model:
        run = machine.claude(model.url)
        results = model.tool_results()
    result = run.json()

    assert run.returncode == 0, run.describe()
    assert proof.exists(), f"the allowed command did not run\n{run.describe()}"
    assert result["permission_denials"] == []
    assert [r.get("is_error", False) for r in results] == [False]

    rows = reins.audit(session=result["session_id"])
    [pre] = by_event(rows, "PreToolUse")
    [post] = by_event(rows, "PostToolUse")
    assert pre["decision"] == "allow"
    assert pre["tool_use_id"] == post["tool_use_id"] == results[0]["tool_use_id"]
    assert str(proof) in pre["target"]
    assert by_event(rows, "UserPromptSubmit"), "the prompt is audited too"


def test_prompt_with_a_secret_is_blocked_before_the_model_sees_it(reins, machine):
    machine.install("claude-code", reins)
    with FakeAnthropic(ALLOWED_TEMPLATE.format(proof=machine.proof())) as model:
        run = machine.claude(model.url, prompt=SECRET_PROMPT)
        sent = [json.dumps(r.body) for r in model.model_requests()]
    result = run.json()

    assert not machine.proof().exists()
    assert not [body for body in sent if SECRET in body], "the secret reached the model"
    assert result["num_turns"] == 0
    assert "blocked by hook" in result["result"]
    assert rule_reason(SECRET_RULE) in result["result"]

    rows = reins.audit(session=result["session_id"])
    [prompt] = by_event(rows, "UserPromptSubmit")
    assert prompt["decision"] == "deny"
    assert SECRET_RULE in prompt["rules"]
    assert SECRET not in json.dumps(reins.audit()), "the audit log stores prompts redacted"
