""" "This agent runs every night at 2 AM", end to end with the real Claude Code, Codex and Gemini CLIs.

A real `reins serve` (the policy directory holds the agent), a real `reins gateway` in front of
the fake Anthropic upstream, and the scheduler: its clock is moved from 01:59 to 02:00, the slot
falls due, and the scheduler starts `claude -p … --output-format json` headless with the hooks and
the gateway set up for the agent. The model asks for a Bash command the agent's allowlist does not
permit; Reins denies it (rule `agent.nightly.tools-allow`), and the run row shows the status, the
cost from the gateway's usage rows and the denial from the audit log.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_server import store
from policy_server.loader import BUNDLED_POLICIES
from policy_server.registry import runs
from policy_server.scheduler.service import Scheduler

from ..conftest import LiveGateway
from .fake_providers import FakeAnthropicShell
from .fake_upstream import FakeAnthropic, FakeResponses
from .gateway_fixtures import CODEX_MODEL

pytestmark = pytest.mark.e2e


FAKE_KEY = "sk-ant-upstream-key"  # the gateway's; the harness never holds it


class Nightly:
    """A store, a policy directory holding one agent ``name`` (scheduled at 2 AM UTC, allowed to
    read and to run ``git status`` only), a live ``reins serve``, and a test environment with
    only PATH and the locale: no real HOME, no real keys."""

    def __init__(self, tmp: Path, server_factory, monkeypatch, name: str, **agent: Any) -> None:
        self.tmp = tmp
        self.home, self.project = tmp / "home", tmp / "project"
        self.home.mkdir()
        self.project.mkdir()
        self.proof = tmp / "proof"
        self.policies = tmp / "policies"
        shutil.copytree(BUNDLED_POLICIES, self.policies)
        definition = {
            "name": name,
            "owner": "ops",
            "working_directory": str(self.project),
            "prompt": "Run the nightly checks.",
            "tools": {"allow": ["@read", "Bash(git status:*)"]},
            "schedule": {"cron": "0 2 * * *", "timezone": "UTC"},
            "max_runtime": "2m",
            **agent,
        }
        definition["environment"] = {"HOME": str(self.home), **agent.get("environment", {})}
        (self.policies / "agents" / f"{name}.yaml").write_text(yaml.safe_dump(definition))
        self.db = tmp / "reins.db"
        self.server = server_factory(self.db, extra=("--policies", str(self.policies)))
        for variable in list(os.environ):
            if variable not in ("PATH", "LANG", "LC_ALL"):
                monkeypatch.delenv(variable)

    def run_the_two_am_slot(
        self, clis, upstream: str, kind: str, gemini: Path | None = None, alias: str = ""
    ) -> str:
        """Tick at 01:59:30 (nothing due) and at 02:00:05 (the slot), through a gateway whose one
        provider of ``kind`` is ``upstream`` (serving model ``alias`` too, if given); wait for
        the run and return its id."""
        config: dict[str, Any] = {
            "providers": {"fake": {"kind": kind, "base_url": upstream, "api_key_env": "FAKE_KEY"}},
            "usage": {"flush_s": 0.2},
        }
        if alias:
            config["models"] = {alias: [{"provider": "fake", "model": "claude-sonnet-4-5"}]}
        gateway = LiveGateway(self.tmp, self.db, config, {"FAKE_KEY": FAKE_KEY})
        try:
            now = [at(1, 59, 30)]
            settings = {
                "server_url": self.server.url,
                "gateway_url": gateway.url,
                "tick": 1.0,
                "late_grace": 120.0,
                "runs_dir": str(self.tmp / "runs"),
                "claude_bin": str(clis.claude),
                "codex_bin": str(clis.codex),
                "gemini_bin": str(gemini or "gemini"),
            }
            scheduler = Scheduler(self.db, self.policies, settings, clock=lambda: now[0])
            assert scheduler.tick() == []  # 01:59:30: nothing due yet
            now[0] = at(2, 0, 5)
            [run_id] = scheduler.tick()  # 02:00:05: the 2 AM slot is due
            scheduler.wait(120)
        finally:
            gateway.stop()
        return run_id

    def rows(self, run_id: str, audit: str, usage: str) -> tuple[dict, list[tuple], list[tuple]]:
        """The run row, and the ``audit`` columns of its audit rows (in order) and the ``usage``
        columns of its usage rows."""
        conn = store.connect(self.db)
        try:
            where = " WHERE run_id = ?"
            return (
                runs.get(conn, run_id),
                conn.execute(
                    f"SELECT {audit} FROM audit_events{where} ORDER BY seq", (run_id,)
                ).fetchall(),
                conn.execute(f"SELECT {usage} FROM usage{where}", (run_id,)).fetchall(),
            )
        finally:
            conn.close()

    def log(self, run_id: str) -> str:
        return (self.tmp / "runs" / run_id / "stderr.log").read_text()


def at(hour: int, minute: int, second: int) -> int:
    day = datetime.now(UTC).date()
    moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000


def test_the_nightly_agent_runs_at_two_and_its_policy_decides(
    tmp_path: Path, clis, server_factory, monkeypatch
) -> None:
    nightly = Nightly(
        tmp_path,
        server_factory,
        monkeypatch,
        "nightly",
        harness="claude-code",
        model="claude-sonnet-4-5",
        environment={"CLAUDE_CODE_MAX_RETRIES": "0", "DISABLE_AUTOUPDATER": "1"},
    )
    proof = nightly.proof
    # The repository tries to switch every hook off; the run's own --settings outrank it.
    (nightly.project / ".claude").mkdir()
    (nightly.project / ".claude" / "settings.json").write_text('{"disableAllHooks": true}')
    with FakeAnthropic(f"touch {proof}") as model:
        run_id = nightly.run_the_two_am_slot(clis, model.url, "anthropic")
        requests_seen = model.model_requests()
    run, audit, usage = nightly.rows(
        run_id, "hook_event, tool, decision, rules, agent", "cost_usd, agent"
    )
    log = nightly.log(run_id)
    assert run["status"] == "succeeded", (run, log)
    assert run["scheduled_us"] == at(2, 0, 0) and run["trigger"] == "schedule"
    assert not proof.exists(), "the denied command ran"
    denied = [a for a in audit if a[0] == "PreToolUse"]
    assert denied == [("PreToolUse", "Bash", "deny", '["agent.nightly.tools-allow"]', "nightly")]
    assert {a[4] for a in audit} == {"nightly"}
    assert run["denials"] == 1 and run["summary"]["permission_denials"] == ["Bash"]
    # Cost: the gateway's usage rows for this run when it priced them, else Claude's estimate.
    assert len(usage) == len(requests_seen) >= 2 and {u[1] for u in usage} == {"nightly"}
    priced = [u[0] for u in usage if u[0] is not None]
    if priced:
        assert run["summary"]["cost_source"] == "gateway"
        assert run["cost_usd"] == pytest.approx(sum(priced))
    else:
        assert run["summary"]["cost_source"] == "harness"
        assert run["cost_usd"] > 0
        assert run["cost_usd"] == pytest.approx(run["summary"]["harness_cost_usd"])
    assert run["session_id"] and run["exit_code"] == 0
    # Model traffic went through the gateway as this agent and run, with no provider key.
    headers = {k.lower(): v for k, v in requests_seen[0].headers.items()}
    assert headers.get("x-api-key") == FAKE_KEY  # injected by the gateway only


def test_a_scheduled_codex_agent_runs_headless_and_its_policy_decides(
    tmp_path: Path, clis, server_factory, monkeypatch
) -> None:
    """The same slot for a Codex agent: ``codex exec`` with the hooks the scheduler sets up, its
    model traffic through the gateway's OpenAI provider."""
    nightly = Nightly(
        tmp_path, server_factory, monkeypatch, "nightly-codex", harness="codex", model=CODEX_MODEL
    )
    proof = nightly.proof
    with FakeResponses(f"touch {proof}") as model:
        run_id = nightly.run_the_two_am_slot(clis, model.url + "/v1", "openai")
        requests_seen = model.model_requests()
        outputs = model.tool_outputs()
    run, audit, usage = nightly.rows(run_id, "hook_event, decision, rules, agent", "agent, inbound")
    log = nightly.log(run_id)
    assert run["status"] == "succeeded" and run["exit_code"] == 0, (run, log)
    assert not proof.exists(), f"the denied command ran\n{log}"
    denied = [a for a in audit if a[0] == "PreToolUse"]
    assert denied == [
        ("PreToolUse", "deny", '["agent.nightly-codex.tools-allow"]', "nightly-codex")
    ]
    assert outputs and "agent.nightly-codex.tools-allow" in outputs[0], outputs
    assert run["denials"] == 1
    assert len(usage) == len(requests_seen) >= 2, (usage, requests_seen)
    assert set(usage) == {("nightly-codex", "responses")}
    headers = {k.lower(): v for k, v in requests_seen[0].headers.items()}
    assert headers.get("authorization") == f"Bearer {FAKE_KEY}"  # the gateway's key only


def test_a_scheduled_gemini_agent_shares_its_session_id_between_audit_and_usage(
    tmp_path: Path, clis, gemini, server_factory, monkeypatch
) -> None:
    """A Gemini agent's slot, in a working copy whose ``.gemini/settings.json`` lists "reins" in
    ``hooksConfig.disabled``: Gemini CLI sends no session id with its model requests, so the
    scheduler gives the run one (``--session-id`` and a ``session-id`` header); the audit rows,
    the usage rows and the run row all carry it. The gateway serves the Gemini model from the
    fake Anthropic upstream, which asks for a shell command the allowlist denies."""
    alias = "gemini-2.5-flash"
    nightly = Nightly(
        tmp_path, server_factory, monkeypatch, "nightly-gemini", harness="gemini", model=alias
    )
    proof = nightly.proof
    # The repository tries to switch Reins off by the hooks' usual name: a run's hooks have
    # a name of their own, so they still run.
    (nightly.project / ".gemini").mkdir()
    (nightly.project / ".gemini" / "settings.json").write_text(
        json.dumps({"hooksConfig": {"disabled": ["reins"]}})
    )
    with FakeAnthropicShell(command=f"touch {proof}") as model:
        run_id = nightly.run_the_two_am_slot(clis, model.url, "anthropic", gemini, alias)
        requests_seen = model.model_requests()
    run, audit, usage = nightly.rows(
        run_id, "hook_event, decision, rules, agent, session_id", "agent, inbound, session_id"
    )
    log = nightly.log(run_id)
    assert run["status"] == "succeeded" and run["exit_code"] == 0, (run, log)
    assert not proof.exists(), f"the denied command ran\n{log}"
    denied = [a[:4] for a in audit if a[0] == "PreToolUse"]
    assert denied == [
        ("PreToolUse", "deny", '["agent.nightly-gemini.tools-allow"]', "nightly-gemini")
    ]
    session = run["session_id"]
    assert session and {a[4] for a in audit} == {session}, (session, audit)
    assert len(usage) == len(requests_seen) >= 2, (usage, requests_seen)
    assert set(usage) == {("nightly-gemini", "gemini", session)}


def test_a_working_copy_that_switches_gemini_hooks_off_is_refused(
    tmp_path: Path, clis, gemini, server_factory, monkeypatch
) -> None:
    """``hooksConfig.enabled: false`` in the working copy would beat the run's own settings:
    the run fails before Gemini CLI starts, saying why, and no model is ever asked."""
    alias = "gemini-2.5-flash"
    nightly = Nightly(
        tmp_path, server_factory, monkeypatch, "nightly-gemini", harness="gemini", model=alias
    )
    (nightly.project / ".gemini").mkdir()
    (nightly.project / ".gemini" / "settings.json").write_text(
        json.dumps({"hooksConfig": {"enabled": False}})
    )
    with FakeAnthropicShell(command=f"touch {nightly.proof}") as model:
        run_id = nightly.run_the_two_am_slot(clis, model.url, "anthropic", gemini, alias)
        assert model.model_requests() == []
    run, audit, _ = nightly.rows(run_id, "hook_event", "agent")
    assert run["status"] == "failed" and audit == [], run
    assert "hooksConfig.enabled to False" in run["reason"], run
