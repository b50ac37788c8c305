"""Codex 0.171.0, ``codex exec`` WITHOUT the hook-trust bypass flag, set up only by ``reins install codex``.

Codex skips untrusted hooks silently and runs the tool, so these tests prove that the installer
established hook trust: the denied command must not run, and the model must receive the policy
reason in the ``function_call_output``. The session id comes from the ``session-id`` header Codex
sends to the model, and the audit log must hold the event under it.
"""

from __future__ import annotations

import json
import re

import pytest

from .conftest import (
    ALLOWED_TEMPLATE,
    DENIED_RULE,
    DENIED_TEMPLATE,
    SECRET,
    SECRET_PROMPT,
    SECRET_RULE,
    by_event,
    codex_session,
    rule_reason,
)
from .fake_upstream import FINAL_PREFIX, FakeResponses

pytestmark = pytest.mark.e2e


@pytest.fixture
def reins(shared_reins):
    """These tests only read the rows of their own session: one server serves the module."""
    return shared_reins


def test_codex_denies_through_installer_trust_without_bypass_flag(reins, machine):
    proof = machine.proof()
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        machine.codex_provider(model.url)
        machine.install("codex", reins)
        run = machine.codex()
        outputs = model.tool_outputs()
        session = codex_session(model)

    assert "--dangerously-bypass-hook-trust" not in run.argv
    assert run.returncode == 0, run.describe()
    assert not proof.exists(), f"the denied command ran: hooks untrusted?\n{run.describe()}"
    assert "hook: PreToolUse Blocked" in run.stderr, run.describe()
    assert len(outputs) == 1, outputs
    assert outputs[0].startswith("Command blocked by PreToolUse hook:")
    assert rule_reason(DENIED_RULE) in outputs[0]
    assert run.stdout.startswith(FINAL_PREFIX)

    rows = reins.audit(session=session)
    [pre] = by_event(rows, "PreToolUse")
    assert (pre["harness"], pre["decision"], pre["enforced_decision"]) == ("codex", "deny", "deny")
    assert DENIED_RULE in pre["rules"]
    assert pre["tool_use_id"] == "call_fake"
    assert not by_event(rows, "PostToolUse")


def test_codex_allows_and_audits_both_sides_without_bypass_flag(reins, machine):
    proof = machine.proof()
    with FakeResponses(ALLOWED_TEMPLATE.format(proof=proof)) as model:
        machine.codex_provider(model.url)
        machine.install("codex", reins)
        run = machine.codex()
        outputs = model.tool_outputs()
        session = codex_session(model)

    assert run.returncode == 0, run.describe()
    assert proof.exists(), f"the allowed command did not run\n{run.describe()}"
    assert "hook: PreToolUse Completed" in run.stderr, run.describe()
    assert not [o for o in outputs if "blocked" in o]

    rows = reins.audit(session=session)
    [pre] = by_event(rows, "PreToolUse")
    [post] = by_event(rows, "PostToolUse")
    assert pre["decision"] == "allow"
    assert pre["tool_use_id"] == post["tool_use_id"] == "call_fake"
    assert str(proof) in pre["target"]


def test_codex_prompt_with_a_secret_is_blocked_before_the_model_sees_it(reins, machine):
    with FakeResponses(ALLOWED_TEMPLATE.format(proof=machine.proof())) as model:
        machine.codex_provider(model.url)
        machine.install("codex", reins)
        run = machine.codex(prompt=SECRET_PROMPT)
        sent = model.model_requests()

    assert not sent, "the prompt with a secret reached the model"
    assert not machine.proof().exists()
    assert "hook: UserPromptSubmit Blocked" in run.stderr, run.describe()
    [session] = re.findall(r"^session id: (\S+)$", run.stderr, re.MULTILINE)
    [prompt] = by_event(reins.audit(session=session), "UserPromptSubmit")
    assert (prompt["decision"], prompt["enforced_decision"]) == ("deny", "deny")
    assert SECRET_RULE in prompt["rules"]
    assert SECRET not in json.dumps(prompt), "the audit log stores prompts redacted"
