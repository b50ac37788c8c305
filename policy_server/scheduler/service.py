"""``reins scheduler``: find due runs, claim them in the store, start them, never crash.

Each tick: (1) for every enabled agent with a schedule, turn the cron slots since its cursor
into run rows — on time, caught up, or ``missed`` as its ``catch_up`` says; (2) start queued
runs whose agent is free, holding the lease ``agent:<name>`` for the run; a queued run of a busy
agent is ``skipped`` (``overlap: skip``) or waits (``overlap: queue``); (3) fail runs whose
scheduler died (their lease expired). Slot rows are unique per ``(agent, scheduled time)`` and
claims are single ``BEGIN IMMEDIATE`` transactions, so any number of scheduler processes can
share one store without starting a slot twice or overlapping an agent.

Runs execute in threads (each waits on its harness process); an unexpected error in one is
caught at that boundary, logged and recorded as a failed run — it never stops the scheduler.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import store
from ..loader import Problem
from ..registry import catalog, runs
from ..registry.agent import Agent
from ..registry.definitions import read_agent_files
from ..registry.schedule import slots_between
from . import lease, runner

log = logging.getLogger("reins.scheduler")

LEASE_GRACE_US = 120 * 1_000_000
MAX_CATCH_UP = 24


class Scheduler:
    def __init__(
        self,
        db_path: Path,
        policies_dir: Path,
        settings: dict[str, Any],
        *,
        clock: Callable[[], int] = runner.now_us,
    ) -> None:
        self.db_path = Path(db_path)
        self.policies_dir = Path(policies_dir)
        self.settings = settings
        self.clock = clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.conn = store.connect(self.db_path)
        self.threads: dict[str, threading.Thread] = {}
        self.stopping = threading.Event()

    def agents(self) -> dict[str, Agent]:
        """File agents and store agents (a file wins over a store agent of the same name)."""
        problems: list[Problem] = []
        found = {
            a.name: a for a in read_agent_files(self.policies_dir, problems, check_paths=False)
        }
        for problem in problems:
            log.warning("agent definition ignored: %s", problem)
        for agent in catalog.store_agents(self.conn):
            found.setdefault(agent.name, agent)
        return found

    def tick(self) -> list[str]:
        """One pass; returns the ids of the runs it started."""
        now = self.clock()
        agents = self.agents()
        for agent in agents.values():
            if agent.enabled and agent.schedule:
                self._plan(agent, now)
        self._fail_orphans(now)
        started = self._start_queued(agents, now)
        self.threads = {k: t for k, t in self.threads.items() if t.is_alive()}
        return started

    def run_forever(self) -> None:
        log.info("scheduler %s started (tick %.1fs)", self.holder, self.settings["tick"])
        while not self.stopping.is_set():
            try:
                self.tick()
            except sqlite3.Error as exc:  # a locked or unavailable store: try again next tick
                log.error("scheduler tick failed, retrying: %s", exc)
            self.stopping.wait(self.settings["tick"])
        self.stop_runs()
        self.wait(timeout=30)

    def stop_runs(self) -> None:
        """On shutdown, end this scheduler's runs (TERM to their process groups): they are
        recorded as failed with the signal, never left 'running' with no one watching."""
        for run_id in list(self.threads):
            row = self.conn.execute("SELECT pid FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row and row[0]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(row[0], signal.SIGTERM)

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self.threads.values()):
            thread.join(timeout)

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    def _plan(self, agent: Agent, now: int) -> None:
        schedule = agent.schedule
        assert schedule is not None
        key = json.dumps([schedule["cron"], schedule["timezone"]])
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT schedule, last_slot_us FROM schedule_cursors WHERE agent = ?",
                (agent.name,),
            ).fetchone()
            if row is None or row[0] != key:
                # First sight of this schedule: runs start from now, nothing is "missed".
                conn.execute(
                    "INSERT OR REPLACE INTO schedule_cursors (agent, schedule, last_slot_us)"
                    " VALUES (?, ?, ?)",
                    (agent.name, key, now),
                )
                return
            slots = slots_between(schedule, row[1], now, MAX_CATCH_UP)
            if not slots:
                return
            conn.execute(
                "UPDATE schedule_cursors SET last_slot_us = ? WHERE agent = ?",
                (slots[-1], agent.name),
            )
            for slot in slots:
                self._slot_row(conn, agent, slot, slot == slots[-1], now)

    def _slot_row(
        self, conn: sqlite3.Connection, agent: Agent, slot: int, latest: bool, now: int
    ) -> None:
        catch_up = agent.schedule["catch_up"] if agent.schedule else "skip"
        late = now - slot > self.settings["late_grace"] * 1_000_000
        if not late:
            status, trigger, reason = "queued", "schedule", ""
        elif catch_up == "all" or (catch_up == "latest" and latest):
            status, trigger, reason = "queued", "catch-up", f"caught up (catch_up: {catch_up})"
        else:
            status, trigger = "missed", "schedule"
            reason = f"the scheduler was not running at this time (catch_up: {catch_up})"
        # SlotTaken: another scheduler planned this slot first.
        with contextlib.suppress(runs.SlotTaken):
            runs.create(
                conn,
                agent.name,
                trigger=trigger,
                scheduled_us=slot,
                now_us=now,
                status=status,
                reason=reason,
                scheduler=self.holder,
            )

    def _start_queued(self, agents: dict[str, Agent], now: int) -> list[str]:
        started = []
        for run in runs.queued(self.conn):
            agent = agents.get(run["agent"])
            if agent is None or not agent.enabled:
                why = "the agent no longer exists" if agent is None else "the agent is disabled"
                with self._transaction() as conn:
                    _end_queued(conn, run["id"], "skipped", why, now)
                continue
            if self._claim(agent, run, now):
                started.append(run["id"])
                self._spawn(agent, run["id"])
        return started

    def _claim(self, agent: Agent, run: dict[str, Any], now: int) -> bool:
        name = f"agent:{agent.name}"
        overlap = agent.schedule["overlap"] if agent.schedule else "skip"
        with self._transaction() as conn:
            busy = lease.holder_of(conn, name, now)
            if busy is not None:
                if overlap == "skip":
                    other = busy.rsplit("/", 1)[-1]
                    _end_queued(conn, run["id"], "skipped", f"run {other} was still running", now)
                return False
            expires = now + agent.max_runtime_s * 1_000_000 + LEASE_GRACE_US
            lease.acquire(conn, name, f"{self.holder}/{run['id']}", expires_us=expires, now_us=now)
            claimed = conn.execute(
                "UPDATE runs SET status = 'running', started_us = ?, scheduler = ?"
                " WHERE id = ? AND status = 'queued'",
                (runner.now_us(), self.holder, run["id"]),  # wall time, as the runner's end
            ).rowcount
            if not claimed:
                raise _Rollback  # another scheduler started it a moment ago
        return bool(claimed)

    def _spawn(self, agent: Agent, run_id: str) -> None:
        holder = f"{self.holder}/{run_id}"

        def work() -> None:
            try:
                status = runner.execute(self.db_path, agent, run_id, self.settings, holder)
                log.info("run %s of %s ended: %s", run_id, agent.name, status)
            except Exception as exc:  # isolation boundary: one broken run never stops the others
                log.exception("run %s of %s crashed", run_id, agent.name)
                _record_crash(self.db_path, agent.name, run_id, holder, exc, self.clock())

        thread = threading.Thread(target=work, name=f"run-{run_id}", daemon=True)
        self.threads[run_id] = thread
        thread.start()

    def _fail_orphans(self, now: int) -> None:
        """Running rows whose lease expired: their scheduler died; say so instead of 'running'."""
        rows = self.conn.execute(
            "SELECT id, agent, scheduler FROM runs WHERE status = 'running'"
        ).fetchall()
        for run_id, agent, scheduler in rows:
            if run_id in self.threads:
                continue
            with self._transaction() as conn:
                if lease.holder_of(conn, f"agent:{agent}", now) != f"{scheduler}/{run_id}":
                    runs.finish(
                        conn,
                        run_id,
                        status="failed",
                        now_us=now,
                        reason=f"scheduler {scheduler} stopped while the run was going",
                    )


class _Rollback(Exception):
    """Abandon a transaction quietly."""


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
        return kind is _Rollback


def _end_queued(conn: sqlite3.Connection, run_id: str, status: str, reason: str, now: int) -> None:
    conn.execute(
        "UPDATE runs SET status = ?, reason = ?, ended_us = ? WHERE id = ? AND status = 'queued'",
        (status, reason, now, run_id),
    )


def _record_crash(
    db_path: Path, agent: str, run_id: str, holder: str, exc: Exception, now: int
) -> None:
    try:
        conn = store.connect(db_path)
        try:
            runs.finish(conn, run_id, status="failed", now_us=now, reason=f"internal error: {exc}")
            lease.release(conn, f"agent:{agent}", holder)
        finally:
            conn.close()
    except Exception:  # the store itself is gone: the orphan check fails the run later
        log.exception("cannot record the crash of run %s", run_id)
