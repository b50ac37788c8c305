"""Codex 0.171.0 with Reins installed machine-wide (``reins install codex --scope managed``).

Codex reads its managed requirements only from ``/etc/codex/requirements.toml``, and a managed
install puts the hook client in ``/opt/reins``. So install, Codex and uninstall run one after the
other in a private mount namespace whose ``/etc`` and ``/opt`` are overlays on a tmpfs
(``private_etc``, root only): the machine's own ``/etc/codex`` and ``/opt/reins`` are never
written. Managed hooks need no trust step: the denied command must not run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .clis import base_env
from .conftest import (
    DENIED_RULE,
    DENIED_TEMPLATE,
    by_event,
    codex_session,
    private_etc,
    rule_reason,
)
from .fake_upstream import FakeResponses

pytestmark = pytest.mark.e2e

MANAGED = ("/etc/codex/requirements.toml", "/opt/reins")


def test_managed_codex_hooks_deny_without_any_user_setup(shared_reins, machine, namespaces):
    taken = [path for path in MANAGED if Path(path).exists()]
    if taken:  # the overlay shows it, and the test expects a machine without one
        pytest.skip(f"a managed install is already on this machine ({', '.join(taken)})")
    proof = machine.proof()
    reins_cli = [sys.executable, "-m", "reins.cli"]
    install = [*reins_cli, "install", "codex", "--server", shared_reins.url]
    install += ["--token", shared_reins.developer, "--scope", "managed"]
    user_hooks = machine.codex_home / "hooks.json"
    steps = [
        install,
        ["test", "!", "-e", str(user_hooks)],  # nothing in the user's files
        [str(machine.clis.codex), "exec", "--skip-git-repo-check", "do it"],
        [*reins_cli, "uninstall", "codex", "--scope", "managed"],
        ["ls", "-d", *MANAGED],  # prints what the uninstall left
    ]
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        machine.codex_provider(model.url)
        env = {**base_env(machine.home), **machine.env(), "FAKE_OPENAI_KEY": "sk-fake"}
        installed, untouched, run, uninstall, left = private_etc(
            machine.root, {}, steps, env, machine.project, also=("/opt",)
        )
        outputs = model.tool_outputs()
        session = codex_session(model)

    assert installed["rc"].strip() == "0", installed
    assert untouched["rc"].strip() == "0", f"the managed install wrote {user_hooks}"
    assert run["rc"].strip() == "0", run
    assert not proof.exists(), f"the denied command ran: managed hooks not loaded?\n{run}"
    assert "hook: PreToolUse Blocked" in run["err"], run
    assert len(outputs) == 1 and rule_reason(DENIED_RULE) in outputs[0], outputs
    [pre] = by_event(shared_reins.audit(session=session), "PreToolUse")
    assert (pre["harness"], pre["decision"]) == ("codex", "deny")
    assert left["out"] == "", f"reins uninstall left {left['out'].split()}: {uninstall}"
    for path in MANAGED:  # the namespace kept every write away from the machine
        assert not Path(path).exists(), f"{path} leaked out of the private /etc and /opt"
