"""Run rows: one per scheduled, caught-up, queued or manual run of an agent.

A row is written before anything starts (``queued``), moves to ``running`` with the process id,
and ends as ``succeeded``, ``failed`` (with the reason) or ``timed_out``; a slot that was not
run at all is kept as ``skipped`` or ``missed`` with the reason. ``(agent, scheduled_us)`` is
unique, so two schedulers can never both claim the same scheduled slot.

Never stores tokens, prompts or harness output beyond the short result summary.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable
from typing import Any

STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "skipped", "missed")
FINAL = frozenset({"succeeded", "failed", "timed_out", "skipped", "missed"})
_COLUMNS = (
    "id, agent, trigger, scheduled_us, created_us, status, started_us, ended_us, exit_code,"
    " reason, summary, session_id, cost_usd, denials, scheduler, pid"
)
_NAMES = [c.strip() for c in _COLUMNS.split(",")]


class SlotTaken(Exception):
    """Another scheduler already claimed this scheduled slot."""


def new_id() -> str:
    return "run_" + uuid.uuid4().hex[:20]


def create(
    conn: sqlite3.Connection,
    agent: str,
    *,
    trigger: str,
    now_us: int,
    scheduled_us: int | None = None,
    status: str = "queued",
    reason: str = "",
    scheduler: str = "",
) -> str:
    """Insert a run row; :class:`SlotTaken` when ``(agent, scheduled_us)`` already exists."""
    run_id = new_id()
    ended = now_us if status in FINAL else None
    try:
        conn.execute(
            "INSERT INTO runs (id, agent, trigger, scheduled_us, created_us, status, ended_us,"
            " reason, scheduler) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, agent, trigger, scheduled_us, now_us, status, ended, reason, scheduler),
        )
    except sqlite3.IntegrityError:
        raise SlotTaken(f"{agent} at {scheduled_us}") from None
    return run_id


def mark_running(
    conn: sqlite3.Connection, run_id: str, *, pid: int | None, scheduler: str, now_us: int
) -> None:
    conn.execute(
        "UPDATE runs SET status = 'running', started_us = ?, pid = ?, scheduler = ? WHERE id = ?",
        (now_us, pid, scheduler, run_id),
    )


def finish(
    conn: sqlite3.Connection,
    run_id: str,
    *,
    status: str,
    now_us: int,
    exit_code: int | None = None,
    reason: str = "",
    summary: dict[str, Any] | None = None,
    session_id: str = "",
    cost_usd: float | None = None,
    denials: int = 0,
) -> None:
    if status not in FINAL:
        raise ValueError(f"a run ends as one of {sorted(FINAL)}, not {status!r}")
    conn.execute(
        "UPDATE runs SET status = ?, ended_us = ?, exit_code = ?, reason = ?, summary = ?,"
        " session_id = ?, cost_usd = ?, denials = ? WHERE id = ?",
        (
            status,
            now_us,
            exit_code,
            reason,
            json.dumps(summary or {}),
            session_id,
            cost_usd,
            denials,
            run_id,
        ),
    )


def get(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    return _row(row) if row else None


def list_runs(
    conn: sqlite3.Connection,
    *,
    agents: Iterable[str] | None = None,
    status: str | None = None,
    since_us: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first. ``agents=None`` means every agent; an empty list means none."""
    where, params = [], []
    if agents is not None:
        names = list(agents)
        if not names:
            return []
        where.append(f"agent IN ({', '.join('?' * len(names))})")
        params.extend(names)
    if status:
        where.append("status = ?")
        params.append(status)
    if since_us is not None:
        where.append("created_us >= ?")
        params.append(since_us)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM runs {clause} ORDER BY created_us DESC, id LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [_row(r) for r in rows]


def queued(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Runs waiting to start, oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM runs WHERE status = 'queued' ORDER BY created_us, id"
    ).fetchall()
    return [_row(r) for r in rows]


def _row(row: tuple) -> dict[str, Any]:
    out = dict(zip(_NAMES, row, strict=True))
    out["summary"] = json.loads(out["summary"] or "{}")
    return out
