"""The policy server goes away under Claude Code and Codex: cached bundle, spool, fail-closed.

Configured only by ``reins install``. With a bundle cached by an earlier online session the hook
client still denies what the policy denies, tells the model the decision was made offline, and
spools the events; once the server is back they reach the audit log exactly once. With no bundle
and ``--fail-mode closed`` every prompt is refused with a reason that names the server.
"""

from __future__ import annotations

from collections import Counter

import pytest

from .conftest import (
    ALLOWED_TEMPLATE,
    DENIED_RULE,
    DENIED_TEMPLATE,
    by_event,
    codex_session,
    rule_reason,
)
from .fake_upstream import FakeAnthropic, FakeResponses

pytestmark = pytest.mark.e2e


def spooled(machine) -> list:
    spool = machine.reins_home / "spool"
    return sorted(spool.iterdir()) if spool.exists() else []


def online_session(machine, command: str) -> dict:
    with FakeAnthropic(command) as model:
        run = machine.claude(model.url)
    assert run.returncode == 0, run.describe()
    return run.json()


def test_server_down_with_cached_bundle_still_denies_and_spool_uploads_once(
    reins, machine, server_factory
):
    machine.install("claude-code", reins)
    online_session(machine, "true")  # SessionStart caches the policy bundle
    assert (machine.reins_home / "bundle.json").exists(), "no bundle cached by an online session"
    port = reins.server.port
    reins.server.kill()

    proof = machine.proof()
    with FakeAnthropic(DENIED_TEMPLATE.format(proof=proof)) as model:
        run = machine.claude(model.url)
        results = model.tool_results()
    offline = run.json()
    assert run.returncode == 0, run.describe()
    assert not proof.exists(), "the denied command ran while the server was down"
    [denied] = results
    assert denied["is_error"] is True
    assert rule_reason(DENIED_RULE) in denied["content"]
    assert "offline" in denied["content"], "the model is told the decision was made offline"
    assert spooled(machine), "offline events were not spooled"

    reins.server = server_factory(reins.db, port=port)
    online_session(machine, "true")  # the next successful contact uploads the spool
    assert spooled(machine) == [], "the spool was not emptied at the next successful contact"

    rows = reins.audit(session=offline["session_id"])
    [pre] = by_event(rows, "PreToolUse")
    assert (pre["decision"], pre["degraded"]) == ("deny", True)
    assert DENIED_RULE in pre["rules"]
    assert pre["tool_use_id"] == denied["tool_use_id"]
    assert all(row["degraded"] for row in rows)
    assert max(Counter(row["hook_event"] for row in rows).values()) == 1, rows

    ids = [row["event_id"] for row in reins.audit()]
    assert len(ids) == len(set(ids)), "an event was recorded twice"


def test_codex_server_down_with_cached_bundle_still_denies_and_uploads_once(
    reins, machine, server_factory
):
    proof = machine.proof()
    with FakeResponses("true") as model:  # one upstream: rewriting config.toml would drop trust
        machine.codex_provider(model.url)
        machine.install("codex", reins)
        machine.codex()  # online: SessionStart caches the bundle
        assert (machine.reins_home / "bundle.json").exists()
        port = reins.server.port
        reins.server.kill()

        model.reset(DENIED_TEMPLATE.format(proof=proof))
        run = machine.codex()
        outputs = model.tool_outputs()
        session = codex_session(model)
        assert not proof.exists(), (
            f"the denied command ran while the server was down\n{run.describe()}"
        )
        assert "hook: PreToolUse Blocked" in run.stderr, run.describe()
        [denied] = outputs
        assert rule_reason(DENIED_RULE) in denied and "offline" in denied

        reins.server = server_factory(reins.db, port=port)
        model.reset("true")
        machine.codex()  # the next successful contact uploads the spool
    assert spooled(machine) == []
    rows = reins.audit(session=session)
    [pre] = by_event(rows, "PreToolUse")
    assert (pre["harness"], pre["decision"], pre["degraded"]) == ("codex", "deny", True)
    assert all(row["degraded"] for row in rows)
    assert max(Counter(row["hook_event"] for row in rows).values()) == 1, rows


def test_server_down_without_bundle_fails_closed_with_a_clear_reason(reins, machine):
    machine.install("claude-code", reins, "--fail-mode", "closed")
    # A fresh install that never reached the server from a session: no bundle to fall back on.
    (machine.reins_home / "bundle.json").unlink(missing_ok=True)
    reins.server.kill()

    proof = machine.proof()
    with FakeAnthropic(ALLOWED_TEMPLATE.format(proof=proof)) as model:
        run = machine.claude(model.url)
        sent = model.model_requests()
    result = run.json()

    assert not proof.exists(), "even an allowed command must not run when failing closed"
    assert not sent, "the prompt reached the model although Reins failed closed"
    assert "blocked by hook" in result["result"], run.describe()
    assert reins.url in result["result"], "the reason names the server it could not reach"
    assert "closed" in result["result"]
