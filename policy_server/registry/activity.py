"""What an agent did in a time window: sessions, tool decisions, model calls and cost, runs.

Read-only queries over the audit log (``audit_events``), the gateway's usage rows (``usage``)
and the run rows. The caller decides who may see an agent's activity (its owner, admins,
auditors); this module never filters by user.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import runs


def summary(
    conn: sqlite3.Connection, agent: str, since_us: int, until_us: int, *, denials_limit: int = 20
) -> dict[str, Any]:
    """The one answer to "what did this agent do between these times"."""
    window = (agent, since_us, until_us)
    sessions = conn.execute(
        "SELECT session_id, MIN(time_us), MAX(time_us), COUNT(*), SUM(decision = 'deny'),"
        " MAX(harness), MAX(user), MAX(run_id) FROM audit_events"
        " WHERE agent = ? AND time_us >= ? AND time_us < ? GROUP BY session_id"
        " ORDER BY MIN(time_us) LIMIT 500",
        window,
    ).fetchall()
    decisions = conn.execute(
        "SELECT tool, decision, COUNT(*) FROM audit_events"
        " WHERE agent = ? AND time_us >= ? AND time_us < ? AND tool != ''"
        " GROUP BY tool, decision ORDER BY COUNT(*) DESC, tool",
        window,
    ).fetchall()
    usage = model_usage(conn, agent, since_us, until_us)
    return {
        "agent": agent,
        "since_us": since_us,
        "until_us": until_us,
        "sessions": [
            {
                "session_id": s,
                "first_us": first,
                "last_us": last,
                "events": n,
                "denials": int(d or 0),
                "harness": h,
                "user": u,
                "run_id": r,
            }
            for s, first, last, n, d, h, u, r in sessions
        ],
        "tool_decisions": [{"tool": t, "decision": d, "count": n} for t, d, n in decisions],
        "denials": recent_denials(conn, agent, since_us, until_us, denials_limit),
        "model_calls": usage,
        "cost_usd": _total_cost(usage),
        "runs": runs.list_runs(conn, agents=[agent], since_us=since_us, limit=100),
    }


def recent_denials(
    conn: sqlite3.Connection,
    agent: str,
    since_us: int,
    until_us: int,
    limit: int = 20,
    *,
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """Newest first; ``run_id`` narrows them to one run (the audit_run index answers it)."""
    where = "agent = ? AND decision = 'deny' AND time_us >= ? AND time_us < ?"
    params: list[Any] = [agent, since_us, until_us]
    if run_id is not None:
        where += " AND run_id = ?"
        params.append(run_id)
    rows = conn.execute(
        "SELECT time_us, session_id, run_id, tool, target, reason, rules FROM audit_events"
        f" WHERE {where} ORDER BY seq DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [
        {
            "time_us": t,
            "session_id": s,
            "run_id": r,
            "tool": tool,
            "target": target,
            "reason": reason,
            "rules": json.loads(rules or "[]"),
        }
        for t, s, r, tool, target, reason, rules in rows
    ]


def run_denials(conn: sqlite3.Connection, run_id: str) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM audit_events WHERE run_id = ? AND decision = 'deny'", (run_id,)
    ).fetchone()
    return int(row[0])


def run_cost(conn: sqlite3.Connection, run_id: str) -> float | None:
    """Cost of one run from the gateway's usage rows; None when no call of the run went through
    the gateway or none of them could be priced (then the harness's own estimate is used)."""
    cost = conn.execute("SELECT SUM(cost_usd) FROM usage WHERE run_id = ?", (run_id,)).fetchone()[0]
    return None if cost is None else float(cost)


def model_usage(
    conn: sqlite3.Connection, agent: str, since_us: int, until_us: int
) -> list[dict[str, Any]]:
    """Model calls, tokens and cost by model, from the gateway's usage rows."""
    rows = conn.execute(
        "SELECT model, COUNT(*), COALESCE(SUM(cost_usd), 0), COALESCE(SUM(input_tokens), 0),"
        " COALESCE(SUM(output_tokens), 0), SUM(status >= 400) FROM usage"
        " WHERE agent = ? AND time_us >= ? AND time_us < ? GROUP BY model ORDER BY model",
        (agent, since_us, until_us),
    ).fetchall()
    return [
        {
            "model": model,
            "calls": calls,
            "cost_usd": round(float(cost), 6),
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "errors": int(errors or 0),
        }
        for model, calls, cost, tokens_in, tokens_out, errors in rows
    ]


def _total_cost(usage: list[dict[str, Any]]) -> float:
    return round(sum(u["cost_usd"] for u in usage), 6)
