"""Execute one claimed run: token, working copy, harness process, max runtime, run row.

The run row is already ``running`` and the agent's lease is held when ``execute`` is called.
It mints a token that only acts as this agent and run and expires soon after the max runtime,
starts the harness in its own process group, kills the whole group when the max runtime is
reached, and writes the outcome: exit status, result summary, cost from the gateway's usage rows
(else what the harness reported), denials from the audit rows. A missing binary, a failed
clone or a process that cannot start ends as a failed run with the reason, never an exception.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

from .. import store, tokens
from ..registry import activity, runs
from ..registry.agent import Agent
from . import harness, lease, workspace

TOKEN_GRACE_US = 5 * 60 * 1_000_000
KILL_GRACE_S = 5.0
USAGE_SETTLE_S = 3.0
GATEWAY_WAIT_S = 20.0


def now_us() -> int:
    return time.time_ns() // 1000


def execute(db_path: Path, agent: Agent, run_id: str, settings: dict[str, Any], holder: str) -> str:
    """Run it to the end; return the final status. Releases the agent's lease."""
    conn = store.connect(db_path)
    try:
        outcome = _attempt(conn, agent, run_id, settings, holder)
        outcome.setdefault("denials", activity.run_denials(conn, run_id))
        runs.finish(conn, run_id, now_us=now_us(), **outcome)
        return outcome["status"]
    finally:
        conn.execute("BEGIN IMMEDIATE")
        lease.release(conn, f"agent:{agent.name}", holder)
        conn.execute("COMMIT")
        conn.close()


def _attempt(
    conn: sqlite3.Connection, agent: Agent, run_id: str, settings: dict[str, Any], holder: str
) -> dict[str, Any]:
    run_dir = Path(settings["runs_dir"]).resolve() / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    token, info = tokens.create(
        conn,
        f"run:{agent.name}",
        ["developer"],
        description=f"scheduled run {run_id}",
        expires_us=now_us() + agent.max_runtime_s * 1_000_000 + TOKEN_GRACE_US,
        now_us=now_us(),
        agent=agent.name,
        run_id=run_id,
    )
    try:
        cwd = workspace.prepare(agent, run_dir)
        call = harness.invocation(
            agent, run_id=run_id, token=token, run_dir=run_dir, settings=settings
        )
        binary = shutil.which(call.argv[0], path=call.env.get("PATH"))
        if binary is None:
            return _failed(
                f"harness binary {call.argv[0]!r} for {agent.harness} not found on PATH of the "
                f"scheduler host; install it or set scheduler.{_bin_setting(agent.harness)}"
            )
        argv = [binary, *call.argv[1:]]
        gateway = bool(settings.get("gateway_url"))
        if gateway and not _gateway_knows(settings["gateway_url"], call.env):
            return _failed(
                f"the gateway at {settings['gateway_url']} did not accept the run's token within "
                f"{GATEWAY_WAIT_S:.0f}s; check that it is running and uses the same store (--db)"
            )
        return _run_process(conn, agent, run_id, argv, call.env, cwd, run_dir, gateway)
    except workspace.WorkspaceError as exc:
        return _failed(str(exc))
    except OSError as exc:
        return _failed(f"cannot start {agent.harness}: {exc.strerror or exc}")
    finally:
        tokens.revoke(conn, info.id, now_us())


def _run_process(
    conn: sqlite3.Connection,
    agent: Agent,
    run_id: str,
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    run_dir: Path,
    gateway: bool,
) -> dict[str, Any]:
    out_path, err_path = run_dir / "stdout.log", run_dir / "stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group: the max runtime kills all of it
        )
        conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (process.pid, run_id))
        timed_out = _wait(process, agent.max_runtime_s)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    summary = harness.summarize(agent.harness, stdout, stderr)
    cost = _settled_cost(conn, run_id) if gateway else activity.run_cost(conn, run_id)
    summary["cost_source"] = "gateway" if cost is not None else "harness"
    if cost is None and isinstance(summary.get("harness_cost_usd"), int | float):
        cost = float(summary["harness_cost_usd"])
    outcome = {
        "exit_code": process.returncode,
        "summary": summary,
        "session_id": str(summary.get("session_id") or ""),
        "cost_usd": cost,
    }
    if timed_out:
        return outcome | {
            "status": "timed_out",
            "reason": f"killed after the max runtime of {agent.max_runtime_s}s",
        }
    if process.returncode < 0:
        name = signal.Signals(-process.returncode).name
        return outcome | {"status": "failed", "reason": f"killed by {name} (scheduler stopping?)"}
    if process.returncode != 0 or summary.get("is_error"):
        last = (stderr.strip().splitlines() or [str(summary.get("result", ""))[:200]])[-1]
        return outcome | {"status": "failed", "reason": f"exit {process.returncode}: {last}"[:500]}
    return outcome | {"status": "succeeded"}


def _gateway_knows(gateway_url: str, env: dict[str, str]) -> bool:
    """The gateway loads new tokens every few seconds (``auth.refresh_s``): wait until it
    accepts this run's token, so the harness's first model call is not refused."""
    headers = {
        "Authorization": f"Bearer {env['REINS_TOKEN']}",
        "X-Reins-Agent": env["REINS_AGENT"],
        "X-Reins-Run": env["REINS_RUN"],
    }
    deadline = time.monotonic() + GATEWAY_WAIT_S
    while time.monotonic() < deadline:
        try:
            answer = requests.get(gateway_url + "/v1/models", headers=headers, timeout=2)
            if answer.status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.25)
    return False


def _settled_cost(conn: sqlite3.Connection, run_id: str) -> float | None:
    """The gateway writes usage rows in batches (every ``usage.flush_s``): wait until this run's
    rows stop arriving, at most ``USAGE_SETTLE_S``, so the last model call is counted."""
    deadline = time.monotonic() + USAGE_SETTLE_S
    seen = -1
    while True:
        count = conn.execute("SELECT COUNT(*) FROM usage WHERE run_id = ?", (run_id,)).fetchone()[0]
        if (count and count == seen) or time.monotonic() > deadline:
            return activity.run_cost(conn, run_id)
        seen = count
        time.sleep(0.5)


def _wait(process: subprocess.Popen, limit_s: int) -> bool:
    """Wait up to ``limit_s``; past it, TERM then KILL the process group. True if killed."""
    try:
        process.wait(timeout=limit_s)
        return False
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE_S)
    # Children that ignored TERM, or outlived their parent, go too.
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()
    return True


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _failed(reason: str) -> dict[str, Any]:
    return {"status": "failed", "reason": reason}


def _bin_setting(harness_name: str) -> str:
    return {"claude-code": "claude_bin", "codex": "codex_bin", "gemini": "gemini_bin"}[harness_name]
