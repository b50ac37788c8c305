"""Codex 0.171.0 with Reins installed machine-wide (``reins install codex --scope managed``).

Codex reads its managed requirements only from ``/etc/codex/requirements.toml``, so this test
writes the real system paths (``/etc/codex``, ``/opt/reins``) and removes them after. It runs only
as root on a machine where neither exists yet (a CI container), and never touches a managed
install it did not make. Managed hooks need no trust step: the denied command must not run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import DENIED_RULE, DENIED_TEMPLATE, by_event, codex_session, rule_reason
from .fake_upstream import FakeResponses

pytestmark = pytest.mark.e2e

MANAGED = (Path("/etc/codex/requirements.toml"), Path("/opt/reins"))


@pytest.fixture
def managed_machine(machine):
    if os.geteuid() != 0:
        pytest.skip("a managed install writes /etc/codex and /opt/reins: needs root")
    taken = [str(path) for path in MANAGED if path.exists()]
    if taken:
        pytest.skip(f"a managed install is already on this machine ({', '.join(taken)})")
    try:
        yield machine
    finally:
        machine.reins_cli("uninstall", "codex", "--scope", "managed", check=False)
        for path in MANAGED:
            assert not path.exists(), f"reins uninstall left {path}"


def test_managed_codex_hooks_deny_without_any_user_setup(shared_reins, managed_machine):
    machine = managed_machine
    proof = machine.proof()
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        machine.codex_provider(model.url)
        machine.install("codex", shared_reins, "--scope", "managed")
        assert not (machine.codex_home / "hooks.json").exists()  # nothing in the user's files
        run = machine.codex()
        outputs = model.tool_outputs()
        session = codex_session(model)

    assert run.returncode == 0, run.describe()
    assert not proof.exists(), (
        f"the denied command ran: managed hooks not loaded?\n{run.describe()}"
    )
    assert "hook: PreToolUse Blocked" in run.stderr, run.describe()
    assert len(outputs) == 1 and rule_reason(DENIED_RULE) in outputs[0], outputs
    [pre] = by_event(shared_reins.audit(session=session), "PreToolUse")
    assert (pre["harness"], pre["decision"]) == ("codex", "deny")
