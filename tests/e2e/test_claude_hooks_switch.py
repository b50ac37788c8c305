"""Can a cloned repository switch the Reins hooks off in the real Claude Code 2.1.197? Yes.

Reins is installed at user scope with ``reins install claude-code``; the project (a cloned
repository) then carries ``{"disableAllHooks": true}`` in its ``.claude/settings.json``, and the
fake Anthropic upstream asks for a Bash command the default policy denies. Claude Code runs no
hook at all: the command runs and the server audits nothing. The gap is asserted as it is, so a
Claude Code release that closes it fails here; what Reins does about it is ``reins doctor
claude-code``, which must fail naming the setting. Managed hooks are immune (Claude Code 2.1.49+),
which needs ``/etc/claude-code`` and is not run here; ``tests/installers/test_doctor.py`` covers
doctor's side of it.

The second case proves the fix doctor offers besides a managed install: the developer's own
``.claude/settings.local.json`` with ``"disableAllHooks": false`` wins over the repository's file.
"""

from __future__ import annotations

import json

import pytest

from .conftest import DENIED_RULE, DENIED_TEMPLATE, by_event
from .fake_upstream import FakeAnthropic

pytestmark = pytest.mark.e2e


@pytest.fixture
def reins(shared_reins):
    """These tests only read the rows of their own session: one server serves the module."""
    return shared_reins


def run_denied_command(reins, machine) -> tuple[bool, list[dict]]:
    """Claude Code on a command the policy denies: (did it run, the session's audit rows)."""
    proof = machine.proof()
    with FakeAnthropic(DENIED_TEMPLATE.format(proof=proof)) as model:
        run = machine.claude(model.url)
    assert run.returncode == 0, run.describe()
    return proof.exists(), reins.audit(session=run.json()["session_id"])


def test_a_repository_switches_user_scope_hooks_off_and_doctor_fails(reins, machine):
    machine.install("claude-code", reins)
    shared = machine.project / ".claude" / "settings.json"
    shared.parent.mkdir()
    shared.write_text(json.dumps({"disableAllHooks": True}))

    ran, rows = run_denied_command(reins, machine)
    assert ran, "Claude Code ran the Reins hooks despite disableAllHooks: the gap is closed"
    assert rows == [], "no Reins hook ran, so nothing is audited"

    doctor = machine.reins_cli("doctor", "claude-code", check=False)
    assert doctor.returncode == 1, doctor.stdout
    flagged = [line for line in doctor.stdout.splitlines() if "] claude-code hooks off:" in line]
    assert flagged == [
        f"[FAIL] claude-code hooks off: {shared} (project) sets disableAllHooks: true, so Claude"
        " Code runs none of the Reins hooks"
    ], doctor.stdout


def test_the_developers_local_settings_switch_the_hooks_back_on(reins, machine):
    machine.install("claude-code", reins)
    folder = machine.project / ".claude"
    folder.mkdir()
    (folder / "settings.json").write_text(json.dumps({"disableAllHooks": True}))
    (folder / "settings.local.json").write_text(json.dumps({"disableAllHooks": False}))

    ran, rows = run_denied_command(reins, machine)
    assert not ran, "the denied command ran"
    [pre] = by_event(rows, "PreToolUse")
    assert pre["decision"] == "deny" and DENIED_RULE in pre["rules"]

    doctor = machine.reins_cli("doctor", "claude-code", check=False)
    assert "hooks off" not in doctor.stdout, doctor.stdout
