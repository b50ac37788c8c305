"""The hook client with the server up: the answer passes through unchanged, context headers reach
the audit log, the bundle is cached at SessionStart and refreshed when old (ETag / 304)."""

from __future__ import annotations

import json
import os
import time

import requests

PRE = {"session_id": "s-online", "cwd": "/home/dev/project", "hook_event_name": "PreToolUse"}


def bash(command: str) -> dict:
    return {**PRE, "tool_name": "Bash", "tool_input": {"command": command}}


def direct(live, payload: dict, harness: str = "claude-code") -> dict:
    response = requests.post(
        f"{live.url}/v1/hooks/{harness}",
        json=payload,
        headers={"Authorization": f"Bearer {live.dev}", "X-Reins-Home": "/home/dev"},
        timeout=10,
    )
    return response.json()


def test_prints_the_servers_answer_unchanged(live, client_factory, python) -> None:
    client = client_factory(live.url, live.dev)
    for payload in (bash("rm -rf ~"), bash("ls -la"), {**PRE, "hook_event_name": "Stop"}):
        result = client.spawn(payload, python=python)
        assert result.returncode == 0 and result.answer == direct(live, payload)
        assert result.stderr == ""
    denied = client.spawn(bash("rm -rf ~"), python=python).answer
    assert denied["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "fs.rm-root-home" in denied["hookSpecificOutput"]["permissionDecisionReason"]


def test_codex_and_gemini_answers(live, client_factory) -> None:
    client = client_factory(live.url, live.dev)
    codex = {**bash("git push --force origin main"), "turn_id": "t1", "model": "gpt"}
    answer = client.spawn(codex, "codex").answer
    assert (
        answer == direct(live, codex, "codex")
        and answer["hookSpecificOutput"]["permissionDecisionReason"]
    )
    gemini = {
        "session_id": "g1",
        "cwd": "/home/dev/p",
        "hook_event_name": "BeforeTool",
        "timestamp": "2026-01-01T00:00:00Z",
        "tool_name": "run_shell_command",
        "tool_input": {"command": "rm -rf /"},
    }
    assert client.spawn(gemini, "gemini").answer["decision"] == "deny"


def test_context_reaches_the_audit_log(live, client_factory) -> None:
    client = client_factory(live.url, live.dev, agent="nightly-deps")
    env = {"REINS_RUN": "run-42", "REINS_HARNESS_VERSION": "2.1.197"}
    client.spawn({**bash("echo hi"), "session_id": "s-ctx"}, **env)
    client.spawn({**bash("echo hi"), "session_id": "s-ctx2"}, REINS_AGENT="ci-bot")
    [row] = live.audit(session="s-ctx")
    assert (row["agent"], row["run_id"], row["user"]) == ("nightly-deps", "run-42", "dana")
    assert row["harness_version"] == "2.1.197" and row["host"] == os.uname().nodename
    assert row["degraded"] is False
    assert live.audit(session="s-ctx2")[0]["agent"] == "ci-bot"


def test_session_start_caches_the_bundle_and_refreshes_it_with_etags(live, client_factory) -> None:
    client = client_factory(live.url, live.dev)
    bundle = client.home / "bundle.json"
    client.spawn(bash("ls"))  # no bundle yet: any successful contact fetches one (age = inf)
    first = json.loads(bundle.read_text())
    assert first["format"] == "reins-bundle/1" and first["principal"]["user"] == "dana"
    assert len(first["rules"]) >= 50 and first["etag"].startswith(first["revision"])
    old = time.time() - 10
    os.utime(bundle, (old, old))
    inode = bundle.stat().st_ino
    client.spawn(bash("ls"))  # fresh enough: untouched
    assert bundle.stat().st_mtime == old
    client.spawn({**PRE, "hook_event_name": "SessionStart", "source": "startup"})
    assert bundle.stat().st_mtime > old + 5  # revalidated: 304, only the mtime moves
    assert bundle.stat().st_ino == inode
    client.config(bundle_max_age=1)
    os.utime(bundle, (old, old))
    client.spawn(bash("ls"))
    assert bundle.stat().st_mtime > old + 5


def test_a_changed_bundle_is_replaced(live, client_factory) -> None:
    client = client_factory(live.url, live.dev)
    stale = {"format": "reins-bundle/1", "revision": "old", "etag": "old.x", "rules": []}
    (client.home / "bundle.json").write_text(json.dumps(stale))
    client.spawn({**PRE, "hook_event_name": "SessionStart", "source": "startup"})
    fresh = json.loads((client.home / "bundle.json").read_text())
    assert fresh["revision"] != "old" and fresh["rules"]


def test_a_prefixed_server_url_keeps_its_path(live, client_factory) -> None:
    client = client_factory(live.url + "/", live.dev)
    assert (
        client.spawn(bash("rm -rf /")).answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    )
