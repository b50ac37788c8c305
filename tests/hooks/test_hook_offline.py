"""The hook client with the server down: the cached bundle decides (degraded), the event is spooled
and uploaded exactly once when the server is back; without a bundle the fail mode decides."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

PRE = {"session_id": "s-off", "cwd": "/home/dev/project", "hook_event_name": "PreToolUse"}
START = {"session_id": "s-off", "cwd": "/home/dev/project", "hook_event_name": "SessionStart"}


def bash(command: str, session: str = "s-off") -> dict:
    return {**PRE, "session_id": session, "tool_name": "Bash", "tool_input": {"command": command}}


def decision(answer: dict) -> str:
    return answer.get("hookSpecificOutput", {}).get("permissionDecision", "none")


def cached_client(live, client_factory, **options):
    """A client that cached the bundle while the server was up, now pointed at a dead port."""
    client = client_factory(live.url, live.dev, **options)
    client.spawn(START)
    assert (client.home / "bundle.json").is_file()
    return client


def test_cached_bundle_decides_offline_marked_degraded(live, client_factory, dead_url, python):
    client = cached_client(live, client_factory)
    result = client.spawn(bash("rm -rf ~"), python=python, REINS_SERVER=dead_url)
    reason = result.answer["hookSpecificOutput"]["permissionDecisionReason"]
    assert result.returncode == 0 and decision(result.answer) == "deny"
    assert reason.startswith("Reins fs.rm-root-home:") and "decided offline" in reason
    assert "Connection refused" in result.stderr
    [spooled] = client.spool()
    item = json.loads(spooled.read_text())
    assert item["decision"] == "deny" and item["rules"] == ["fs.rm-root-home"]
    assert item["degraded"] is True and item["revision"] and item["home"] == "/home/dev"
    assert oct(spooled.stat().st_mode & 0o777) == "0o600"
    allowed = client.spawn(bash("ls"), python=python, REINS_SERVER=dead_url)
    assert allowed.answer == {} and len(client.spool()) == 2


def test_spool_is_uploaded_once_at_the_next_contact(live, client_factory, dead_url) -> None:
    client = cached_client(live, client_factory, agent="offline-agent")
    for i in range(3):
        env = {"REINS_SERVER": dead_url, "REINS_RUN": "r9", "REINS_HARNESS_VERSION": "2.1.197"}
        client.spawn(bash("rm -rf /", f"s-spool-{i}"), **env)
    assert len(client.spool()) == 3
    client.spawn(bash("ls", "s-back"))
    assert client.spool() == []
    for i in range(3):
        [row] = live.audit(session=f"s-spool-{i}")
        assert row["degraded"] is True and row["decision"] == "deny"
        assert (row["agent"], row["run_id"], row["user"]) == ("offline-agent", "r9", "dana")
        assert row["rules"] == ["fs.rm-root-home"] and row["enforced_decision"] == "deny"
        assert row["harness_version"] == "2.1.197" and row["host"] == os.uname().nodename
    client.spawn(bash("ls", "s-back"))
    assert [len(live.audit(session=f"s-spool-{i}")) for i in range(3)] == [1, 1, 1]


def test_concurrent_hooks_upload_each_event_exactly_once(live, client_factory, dead_url) -> None:
    client = cached_client(live, client_factory)
    for i in range(40):
        client.run(bash("rm -rf /", f"s-race-{i}"), REINS_SERVER=dead_url)
    assert len(client.spool()) == 40
    with ThreadPoolExecutor(8) as pool:  # 8 real hook processes racing for the same spool
        results = list(pool.map(lambda i: client.spawn(bash("ls", f"s-up-{i}")), range(8)))
    assert all(r.returncode == 0 and r.answer == {} for r in results)
    assert os.listdir(client.home / "spool") == []
    rows = [r for r in live.audit() if r["session_id"].startswith("s-race-")]
    assert len(rows) == 40 and len({r["event_id"] for r in rows}) == 40


def test_a_stale_claim_of_a_dead_process_is_released(live, client_factory, dead_url) -> None:
    client = cached_client(live, client_factory)
    client.run(bash("rm -rf /", "s-stale"), REINS_SERVER=dead_url)
    [path] = client.spool()
    claimed = path.with_name(path.name + ".claim-99999-abc")
    path.rename(claimed)
    client.run(bash("ls"))
    assert claimed.exists() and live.audit(session="s-stale") == []  # a live claim is respected
    os.utime(claimed, (1, 1))
    client.run(bash("ls"))
    assert not claimed.exists() and len(live.audit(session="s-stale")) == 1


def test_no_bundle_fail_closed_denies_naming_the_server(client_factory, dead_url, python) -> None:
    client = client_factory(dead_url, fail_mode="closed")
    result = client.spawn(bash("ls"), python=python)
    reason = result.answer["hookSpecificOutput"]["permissionDecisionReason"]
    assert result.returncode == 0 and decision(result.answer) == "deny"
    assert dead_url in reason and "reins doctor" in reason
    assert json.loads(client.spool()[0].read_text())["decision"] == "deny"


def test_no_bundle_fail_open_allows_and_still_spools(client_factory, dead_url) -> None:
    client = client_factory(dead_url, fail_mode="open")
    result = client.spawn(bash("rm -rf /"), REINS_RUN="r1")
    assert result.answer == {} and len(client.spool()) == 1


def test_default_fail_mode_is_closed_for_scheduled_runs_only(client_factory, dead_url) -> None:
    client = client_factory(dead_url)
    assert client.spawn(bash("ls")).answer == {}
    assert decision(client.spawn(bash("ls"), REINS_RUN="nightly-1").answer) == "deny"
    codex = {**bash("ls"), "turn_id": "t", "model": "m"}
    reason = client.spawn(codex, "codex", REINS_RUN="r").answer["hookSpecificOutput"]
    assert reason["permissionDecision"] == "deny" and reason["permissionDecisionReason"]
    gemini = {**bash("ls"), "hook_event_name": "BeforeTool", "timestamp": "t"}
    assert client.spawn(gemini, "gemini", REINS_RUN="r").answer["decision"] == "deny"


def test_timeout_is_bounded(client_factory, python) -> None:
    """A server that accepts and never answers: the hook gives up after its timeout."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        client = client_factory(f"http://127.0.0.1:{sock.getsockname()[1]}", fail_mode="closed")
        client.config(timeout=0.5)
        result = client.spawn(bash("ls"), python=python)
    assert result.returncode == 0 and decision(result.answer) == "deny"
    assert "timed out" in result.stderr and result.seconds < 3


def test_spool_is_bounded(client_factory, dead_url) -> None:
    client = client_factory(dead_url, fail_mode="open")
    client.config(spool_max_events=2)
    for _ in range(4):
        assert client.spawn(bash("ls")).answer == {}
    assert len(client.spool()) == 2
    assert (client.home / "spool" / "dropped").read_text() == "2"


def test_huge_payload_is_spooled_without_its_bulk(client_factory, dead_url) -> None:
    client = client_factory(dead_url, fail_mode="open")
    payload = {
        **PRE,
        "tool_name": "Write",
        "tool_input": {"file_path": "/tmp/x", "content": "a" * 2_000_000},
    }
    client.run(payload)
    item = json.loads(client.spool()[0].read_text())
    assert item["payload"]["reins_truncated"] is True and "tool_input" not in item["payload"]
    assert item["payload"]["hook_event_name"] == "PreToolUse"


def test_the_installed_file_finds_its_home_without_reins_home(client_factory, dead_url) -> None:
    client = client_factory(dead_url, fail_mode="closed")
    del client.env["REINS_HOME"]
    result = client.spawn(bash("ls"))
    assert decision(result.answer) == "deny" and dead_url in json.dumps(result.answer)


def test_an_event_the_server_rejects_does_not_block_the_others(live, client_factory, dead_url):
    client = cached_client(live, client_factory)
    client.run(bash("rm -rf /", "s-good"), REINS_SERVER=dead_url)
    [good] = client.spool()
    bad = json.loads(good.read_text()) | {"decision": "maybe", "event_id": "e-bad"}
    (client.home / "spool" / "00000000000000000000-bad.json").write_text(json.dumps(bad))
    (client.home / "spool" / "00000000000000000001-junk.json").write_text("{not json")
    result = client.run(bash("ls"))
    assert result.answer == {}
    assert len(live.audit(session="s-good")) == 1 and client.spool() == []
    left = sorted(p.name for p in (client.home / "spool").iterdir())
    assert left == [
        "00000000000000000000-bad.json.rejected",
        "00000000000000000001-junk.json.rejected",
    ]
