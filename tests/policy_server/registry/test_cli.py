"""`reins agent …` and `reins runs …` against a real server: the CLI is a client of the API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from policy_server import store
from policy_server.registry import runs
from reins.cli import main

AGENT_YAML = """\
name: docs-bot
harness: gemini
owner: alice
description: Keeps the docs in sync.
working_directory: /tmp
prompt: Update the docs.
tools: {allow: ["@read", Edit]}
schedule: {cron: "30 1 * * *", timezone: Europe/Berlin}
"""


@pytest.fixture
def cli(server_factory, token_factory, tmp_path: Path, monkeypatch, capsys):
    db = tmp_path / "reins.db"
    server = server_factory(db)
    monkeypatch.setenv("REINS_SERVER", server.url)

    def run(user_roles: tuple[str, ...], *argv: str) -> tuple[int, str, str]:
        monkeypatch.setenv("REINS_TOKEN", tokens[user_roles])
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    tokens = {
        ("alice", "author"): token_factory(db, "alice", "author"),
        ("dev", "developer"): token_factory(db, "dev", "developer"),
        ("audit", "auditor"): token_factory(db, "audit", "auditor"),
    }
    run.db, run.url, run.tokens = db, server.url, tokens
    return run


ALICE = ("alice", "author")


def test_create_list_show_edit_disable_run(cli, tmp_path: Path) -> None:
    (tmp_path / "docs-bot.yaml").write_text(AGENT_YAML)
    code, out, _ = cli(ALICE, "agent", "create", "--file", str(tmp_path / "docs-bot.yaml"))
    assert code == 0 and "created agent docs-bot (version 1)" in out
    code, out, _ = cli(ALICE, "agent", "list")
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "30 1 * * *" in lines["docs-bot"] and "store" in lines["docs-bot"]
    assert "policies/agents/agent-b.yaml" in lines["agent-b"]
    code, out, _ = cli(
        ALICE,
        "agent",
        "edit",
        "docs-bot",
        "--set",
        "schedule.cron=0 3 * * *",
        "--set",
        "tools.deny=[WebFetch]",
    )
    assert code == 0 and "version 2" in out
    code, out, _ = cli(ALICE, "agent", "show", "docs-bot")
    assert "schedule: 0 3 * * * (Europe/Berlin)" in out and "tools.deny: WebFetch" in out
    code, out, _ = cli(ALICE, "agent", "show", "docs-bot", "--json")
    assert json.loads(out)["version"] == 2
    code, _, err = cli(ALICE, "agent", "edit", "docs-bot", "--set", "schedule.cron=0 3 * *")
    assert code == 2 and "schedule/cron: '0 3 * *' is not a five-field cron" in err
    code, _, err = cli(ALICE, "agent", "edit", "agent-b", "--set", "description=x")
    assert code == 2 and "change it by pull request" in err
    code, out, _ = cli(ALICE, "agent", "run", "docs-bot")
    assert code == 0 and "queued run run_" in out
    run_id = out.split()[2]
    code, out, _ = cli(ALICE, "runs", "list", "--agent", "docs-bot")
    assert run_id in out and "queued" in out and "manual" in out
    code, out, _ = cli(ALICE, "runs", "show", run_id)
    assert f"run {run_id} of docs-bot (manual): queued" in out
    code, out, _ = cli(ALICE, "agent", "disable", "docs-bot")
    assert code == 0 and "docs-bot disabled (version 3)" in out


def test_bad_input_and_missing_access_are_one_clear_line(cli, tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(AGENT_YAML.replace("gemini", "copilot").replace("@read", "Reed"))
    code, _, err = cli(ALICE, "agent", "create", "--file", str(bad))
    assert code == 2
    assert "harness: 'copilot' is not one of" in err and err.count("\n") == 1
    bad.write_text("name: [unclosed")
    code, _, err = cli(ALICE, "agent", "create", "--file", str(bad))
    assert code == 2 and "is not valid YAML" in err
    code, _, err = cli(("dev", "developer"), "agent", "list")
    assert code == 2 and "needs the author or auditor role" in err
    monkeypatch.delenv("REINS_TOKEN")
    assert main(["agent", "list"]) == 2
    monkeypatch.setenv("REINS_TOKEN", cli.tokens[ALICE])
    assert main(["agent", "list", "--server", "http://127.0.0.1:9"]) == 2


def test_what_did_agent_b_do_yesterday(cli) -> None:
    """One command: sessions, tool decisions, model calls and cost of agent-b since yesterday."""
    dev = {
        "Authorization": f"Bearer {cli.tokens[('dev', 'developer')]}",
        "X-Reins-Agent": "agent-b",
    }
    for session, tool, tool_input in (
        ("s-1", "Read", {"file_path": "/home/dev/project/README.md"}),
        ("s-1", "Bash", {"command": "git push origin main"}),
        ("s-2", "WebFetch", {"url": "https://docs.python.org/3/"}),
    ):
        payload = {
            "session_id": session,
            "cwd": "/home/dev/project",
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": tool_input,
        }
        assert requests.post(cli.url + "/v1/hooks/codex", json=payload, headers=dev, timeout=10).ok
    conn = store.connect(cli.db)
    now = time.time_ns() // 1000
    for i, (model, cost) in enumerate((("gpt-5", 0.02), ("gpt-5", 0.03), ("gpt-5-mini", 0.001))):
        conn.execute(
            "INSERT INTO usage (request_id, time_us, agent, session_id, inbound, endpoint, model,"
            " status, outcome, input_tokens, output_tokens, cost_usd, latency_us)"
            " VALUES (?, ?, 'agent-b', 's-1', 'responses', 'responses', ?, 200, 'ok', 100, 10, ?, 1)",
            (f"req-{i}", now, model, cost),
        )
    runs.create(conn, "agent-b", trigger="manual", now_us=now, status="skipped", reason="test")
    conn.close()
    code, out, _ = cli(("audit", "auditor"), "agent", "activity", "agent-b", "--since", "yesterday")
    assert code == 0
    assert "sessions: 2, model calls: 3, cost: $0.0510" in out
    decisions = out.split("\ntool decisions:")[1].split("\n\n")[0].splitlines()
    assert [line.split() for line in decisions[2:]] == [
        ["Bash", "deny", "1"],
        ["Read", "allow", "1"],
        ["WebFetch", "allow", "1"],
    ]
    models = out.split("\nmodel calls:")[1].split("\n\n")[0].splitlines()
    assert [line.split()[:2] for line in models[2:]] == [["gpt-5", "2"], ["gpt-5-mini", "1"]]
    denials = out.split("denials:")[-1]
    assert "Bash" in denials and "git push origin main" in denials
    code, out, _ = cli(
        ("audit", "auditor"), "agent", "activity", "agent-b", "--since", "yesterday", "--json"
    )
    data = json.loads(out)
    assert {d["tool"]: d["decision"] for d in data["tool_decisions"]} == {
        "Read": "allow",
        "Bash": "deny",
        "WebFetch": "allow",
    }
    assert [s["session_id"] for s in data["sessions"]] == ["s-1", "s-2"]
    assert data["runs"][0]["status"] == "skipped"
    # The owner (platform-team) is not alice: an author who does not own it sees no activity.
    code, _, err = cli(ALICE, "agent", "activity", "agent-b")
    assert code == 2 and "visible to its owner (platform-team)" in err
