"""The scheduler with real processes: a fake `claude`, the real hook client, a real `reins serve`.

Time is injected into the scheduler (its clock decides which cron slots are due), everything
else is real: run rows, leases, run tokens, hook decisions in the audit log, process groups.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from policy_server import store
from policy_server.registry import runs
from policy_server.scheduler.service import Scheduler

MINUTE_US = 60_000_000


def now_us() -> int:
    return time.time_ns() // 1000


class Clock:
    def __init__(self) -> None:
        self.value = now_us()

    def __call__(self) -> int:
        return self.value

    def at_next_slot(self, minutes: int = 5) -> None:
        """Move just past the next multiple of ``minutes`` (a */minutes cron slot)."""
        step = minutes * MINUTE_US
        self.value = (self.value // step + 1) * step + 1_000_000


def all_runs(db: Path) -> list[dict]:
    conn = store.connect(db)
    try:
        return sorted(
            runs.list_runs(conn, limit=100), key=lambda r: (r["scheduled_us"] or 0, r["created_us"])
        )
    finally:
        conn.close()


@pytest.fixture
def env(tmp_path, server_factory, fake_claude, make_pack, scheduler_settings):
    db = tmp_path / "reins.db"
    # The server reads the same policy directory; it reloads when a test rewrites the agent.
    server = server_factory(db, extra=("--policies", str(make_pack())))

    class Env:
        pass

    e = Env()
    e.db, e.server, e.tmp = db, server, tmp_path

    def scheduler(clock: Clock, claude_bin: Path | str = fake_claude, **fields) -> Scheduler:
        pack = make_pack(**fields)
        return Scheduler(db, pack, scheduler_settings(server.url, claude_bin), clock=clock)

    e.scheduler = scheduler
    return e


def test_a_due_run_starts_its_harness_and_records_status_cost_and_denials(env) -> None:
    clock = Clock()
    scheduler = env.scheduler(
        clock, environment={"FAKE_COMMAND": "rm -rf build", "FAKE_USAGE_DB": str(env.db)}
    )
    assert scheduler.tick() == []  # first sight of the schedule: the cursor starts now
    clock.at_next_slot()
    started = scheduler.tick()
    assert len(started) == 1
    scheduler.wait(60)
    [run] = all_runs(env.db)
    assert run["status"] == "succeeded", run
    assert run["trigger"] == "schedule" and run["scheduled_us"] % (5 * MINUTE_US) == 0
    assert run["started_us"] <= run["ended_us"] and run["exit_code"] == 0
    assert run["summary"]["result"] == "done: Check the build and report."
    assert run["summary"]["permission_denials"] == ["Bash"]
    assert run["session_id"].startswith("fake-")
    # Cost comes from the gateway's usage row for this run, denials from the audit log.
    assert run["cost_usd"] == pytest.approx(0.0125) and run["summary"]["cost_source"] == "gateway"
    assert run["denials"] == 1
    conn = store.connect(env.db)
    audit = conn.execute(
        "SELECT agent, run_id, decision, rules, user FROM audit_events WHERE run_id = ?",
        (run["id"],),
    ).fetchall()
    token = conn.execute(
        "SELECT revoked_us, agent, run_id FROM tokens WHERE run_id = ?", (run["id"],)
    ).fetchone()
    conn.close()
    assert audit == [
        (
            "nightly-test",
            run["id"],
            "deny",
            '["agent.nightly-test.tools-allow"]',
            "run:nightly-test",
        )
    ]
    assert token[0] is not None and token[1:] == ("nightly-test", run["id"])  # revoked at the end


def test_a_missing_harness_binary_fails_the_run_not_the_scheduler(env) -> None:
    clock = Clock()
    scheduler = env.scheduler(clock, claude_bin=env.tmp / "nowhere" / "claude")
    scheduler.tick()
    clock.at_next_slot()
    scheduler.tick()
    scheduler.wait(30)
    clock.at_next_slot()
    scheduler.tick()  # still ticking
    scheduler.wait(30)
    done = all_runs(env.db)
    assert [r["status"] for r in done] == ["failed", "failed"]
    assert "harness binary" in done[0]["reason"] and "not found" in done[0]["reason"]
    assert "scheduler.claude_bin" in done[0]["reason"]


def test_max_runtime_kills_the_whole_process_group(env) -> None:
    pids = env.tmp / "children"
    clock = Clock()
    scheduler = env.scheduler(
        clock, max_runtime="2s", environment={"FAKE_SLEEP": "60", "FAKE_CHILD_PIDS": str(pids)}
    )
    scheduler.tick()
    clock.at_next_slot()
    started_at = time.monotonic()
    scheduler.tick()
    scheduler.wait(60)
    elapsed = time.monotonic() - started_at
    [run] = all_runs(env.db)
    assert run["status"] == "timed_out" and "max runtime of 2s" in run["reason"]
    assert elapsed < 20
    child = int(pids.read_text().split()[0])
    assert not alive(child), "the harness's child outlived the kill"


def alive(pid: int) -> bool:
    """Running (a killed orphan may linger as a zombie until init reaps it: that is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_missed_slots_are_skipped_or_caught_up_as_the_agent_says(env) -> None:
    for catch_up, expected in (
        ("skip", ["missed", "missed", "missed"]),
        ("latest", ["missed", "missed", "queued"]),
        ("all", ["queued", "queued", "queued"]),
    ):
        name = f"hourly-{catch_up}"
        clock = Clock()
        scheduler = env.scheduler(
            clock,
            claude_bin="/nonexistent/claude",
            name=name,
            schedule={"cron": "0 * * * *", "catch_up": catch_up, "overlap": "queue"},
        )
        scheduler._plan(scheduler.agents()[name], clock())
        clock.value = (clock.value // (60 * MINUTE_US) + 3) * 60 * MINUTE_US + 10 * MINUTE_US
        scheduler._plan(scheduler.agents()[name], clock())  # down for 3 hours: 3 slots passed
        rows = [r for r in all_runs(env.db) if r["agent"] == name]
        assert [r["status"] for r in rows] == expected, (catch_up, rows)
        assert all(
            r["trigger"] == ("catch-up" if r["status"] == "queued" else "schedule") for r in rows
        )
        if catch_up == "skip":
            assert "not running" in rows[0]["reason"]


def test_overlap_skip_holds_across_two_scheduler_processes(env, fake_claude, make_pack) -> None:
    """Two `reins scheduler --once` processes race for two queued runs of an overlap=skip agent."""
    log = env.tmp / "starts.log"
    pack = make_pack(environment={"FAKE_SLEEP": "2", "FAKE_LOG": str(log)})
    conn = store.connect(env.db)
    first = runs.create(conn, "nightly-test", trigger="manual", now_us=now_us())
    second = runs.create(conn, "nightly-test", trigger="manual", now_us=now_us() + 1)
    conn.close()
    command = [
        sys.executable,
        "-m",
        "reins.cli",
        "scheduler",
        "--once",
        "--db",
        str(env.db),
        "--policies",
        str(pack),
        "--server-url",
        env.server.url,
        "--runs-dir",
        str(env.tmp / "runs"),
    ]
    environ = {**os.environ, "REINS_CLAUDE_BIN": str(fake_claude)}
    processes = [
        subprocess.Popen(command, env=environ, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    for process in processes:
        assert process.wait(timeout=90) == 0, process.stderr.read()
    by_id = {r["id"]: r for r in all_runs(env.db)}
    assert by_id[first]["status"] == "succeeded"
    assert by_id[second]["status"] == "skipped"
    assert f"run {first} was still running" in by_id[second]["reason"]
    assert log.read_text().count("start ") == 1


def test_overlap_queue_waits_for_the_previous_run(env) -> None:
    log = env.tmp / "starts.log"
    clock = Clock()
    # The injected clock jumps 5 minutes while the run goes: keep the lease longer than that.
    fields = {
        "schedule": {"cron": "*/5 * * * *", "overlap": "queue"},
        "environment": {"FAKE_SLEEP": "1.5", "FAKE_LOG": str(log)},
        "max_runtime": "10m",
    }
    scheduler = env.scheduler(clock, **fields)
    other = env.scheduler(clock, **fields)
    scheduler.tick()
    clock.at_next_slot()
    assert len(scheduler.tick()) == 1
    clock.at_next_slot()
    assert other.tick() == []  # the first run holds the lease: the second slot waits, queued
    assert [r["status"] for r in all_runs(env.db)] == ["running", "queued"]
    scheduler.wait(60)
    assert len(other.tick()) == 1
    other.wait(60)
    assert [r["status"] for r in all_runs(env.db)] == ["succeeded", "succeeded"]
    lines = [line.split() for line in log.read_text().splitlines()]
    assert [kind for kind, _, _ in lines] == ["start", "end", "start", "end"]  # never overlapping


@pytest.mark.parametrize(
    ("fail_mode", "denied"), [("closed", ["Bash"]), (None, ["Bash"]), ("open", [])]
)
def test_the_agents_fail_mode_decides_when_reins_is_unreachable(
    env, fake_claude, make_pack, scheduler_settings, fail_mode, denied
) -> None:
    fields = {"fail_mode": fail_mode} if fail_mode else {}
    pack = make_pack(tools={"allow": ["Bash", "@read"]}, **fields)
    down = scheduler_settings("http://127.0.0.1:9", fake_claude)  # nothing listens on port 9
    clock = Clock()
    scheduler = Scheduler(env.db, pack, down, clock=clock)
    scheduler.tick()
    clock.at_next_slot()
    scheduler.tick()
    scheduler.wait(60)
    [run] = all_runs(env.db)
    assert run["status"] == "succeeded"
    assert run["summary"]["permission_denials"] == denied


def test_a_crash_inside_one_run_is_recorded_and_the_scheduler_goes_on(env, monkeypatch) -> None:
    from policy_server.scheduler import runner

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runner, "execute", explode)
    clock = Clock()
    scheduler = env.scheduler(clock)
    scheduler.tick()
    clock.at_next_slot()
    scheduler.tick()
    scheduler.wait(30)
    [run] = all_runs(env.db)
    assert run["status"] == "failed" and run["reason"] == "internal error: disk on fire"
    conn = store.connect(env.db)
    assert conn.execute("SELECT COUNT(*) FROM scheduler_leases").fetchone()[0] == 0
    conn.close()
    clock.at_next_slot()
    assert len(scheduler.tick()) == 1  # the agent is free again: the next slot starts


def test_a_run_whose_scheduler_died_is_failed_not_left_running(env) -> None:
    conn = store.connect(env.db)
    run_id = runs.create(conn, "nightly-test", trigger="manual", now_us=now_us())
    runs.mark_running(conn, run_id, pid=None, scheduler="gone-host:1:abc", now_us=now_us())
    conn.close()
    env.scheduler(Clock()).tick()
    [run] = all_runs(env.db)
    assert run["status"] == "failed" and "scheduler gone-host:1:abc stopped" in run["reason"]


def test_stopping_the_scheduler_ends_its_runs_and_records_them(env, fake_claude, make_pack) -> None:
    pack = make_pack(environment={"FAKE_SLEEP": "120"})
    conn = store.connect(env.db)
    run_id = runs.create(conn, "nightly-test", trigger="manual", now_us=now_us())
    conn.close()
    command = [
        sys.executable, "-m", "reins.cli", "scheduler", "--tick", "0.2", "--db", str(env.db),
        "--policies", str(pack), "--server-url", env.server.url, "--runs-dir", str(env.tmp / "runs"),
    ]  # fmt: skip
    environ = {**os.environ, "REINS_CLAUDE_BIN": str(fake_claude)}
    process = subprocess.Popen(command, env=environ, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while all_runs(env.db)[0]["pid"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all_runs(env.db)[0]["status"] == "running"
    process.terminate()
    assert process.wait(timeout=30) == 0, process.stderr.read()
    [run] = all_runs(env.db)
    assert run["id"] == run_id and run["status"] == "failed"
    assert run["reason"] == "killed by SIGTERM (scheduler stopping?)"


def test_a_codex_run_on_a_host_that_would_skip_its_hooks_is_refused(env, monkeypatch) -> None:
    """``allow_managed_hooks_only = true`` in the host's Codex requirements: the run fails closed
    with the reason, Codex never starts, and the run's token is revoked."""
    requirements = env.tmp / "root" / "etc" / "codex" / "requirements.toml"
    requirements.parent.mkdir(parents=True)
    requirements.write_text("allow_managed_hooks_only = true\n")
    monkeypatch.setenv("REINS_MANAGED_ROOT", str(env.tmp / "root"))
    clock = Clock()
    scheduler = env.scheduler(clock, harness="codex")  # codex_bin "codex" need not exist
    scheduler.tick()
    clock.at_next_slot()
    assert len(scheduler.tick()) == 1
    scheduler.wait(30)
    [run] = all_runs(env.db)
    assert run["status"] == "failed" and run["exit_code"] is None, run
    assert run["reason"].startswith(
        f"this host's {requirements} sets allow_managed_hooks_only = true, so Codex would skip"
    )
    conn = store.connect(env.db)
    revoked = conn.execute(
        "SELECT revoked_us FROM tokens WHERE run_id = ?", (run["id"],)
    ).fetchone()
    conn.close()
    assert revoked[0] is not None
