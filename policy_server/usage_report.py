"""Usage reports from the ``usage`` table: per agent, user, model, provider or session.

``summary`` groups the rows in ``[since, until)`` and returns, per group: requests, errors,
fallbacks (answered by a target after the first), billed tokens split the neutral way (input
without cache, cache reads, cache writes, output: the same semantics as pricing), the USD cost
and how many rows could not be priced. ``model_calls`` lists one session's calls for
``GET /v1/sessions/<id>``. Used by ``reins usage report`` and ``GET /v1/usage/summary``; reads
only, never writes, and never returns a prompt or a token.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

GROUPS = {
    "agent": "agent",
    "user": "user",
    "model": "model",
    "provider": "provider",
    "session": "session_id",
    "route": "route",
}
# Neutral counts per row (see gateway.translate.usage.from_reported): OpenAI and Gemini input
# includes cache reads; Gemini output excludes thoughts.
_INPUT = (
    "CASE WHEN inbound = 'anthropic' THEN COALESCE(input_tokens,0)"
    " ELSE MAX(COALESCE(input_tokens,0) - COALESCE(cache_read_tokens,0), 0) END"
)
_OUTPUT = (
    "COALESCE(output_tokens,0)"
    " + CASE WHEN inbound = 'gemini' THEN COALESCE(reasoning_tokens,0) ELSE 0 END"
)
_CACHE_WRITE = "CASE WHEN inbound = 'anthropic' THEN COALESCE(cache_write_tokens,0) ELSE 0 END"


class ReportError(ValueError):
    """A report cannot be made as asked; the message says what to ask instead."""


def summary(
    conn: sqlite3.Connection, by: str, since_us: int | None = None, until_us: int | None = None
) -> dict[str, Any]:
    """Totals per group, most expensive first, plus an overall total."""
    column = GROUPS.get(by)
    if column is None:
        raise ReportError(f"cannot group by {by!r}; use one of {', '.join(GROUPS)}")
    where, params = _window(since_us, until_us)
    sql = f"""
        SELECT {column} AS grp, COUNT(*), SUM(status >= 400), SUM(attempts > 1),
               SUM({_INPUT}), SUM(COALESCE(cache_read_tokens,0)), SUM({_CACHE_WRITE}),
               SUM({_OUTPUT}), SUM(cost_usd),
               SUM(cost_usd IS NULL AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL))
        FROM usage {where} GROUP BY grp ORDER BY COALESCE(SUM(cost_usd), 0) DESC, grp
    """
    groups = [_group(row) for row in conn.execute(sql, params)]
    total = _group(("", *([0] * 9)))
    total["cost_usd"] = None  # stays None when no row could be priced
    for group in groups:
        for key, value in group.items():
            if key != "key" and value is not None:
                total[key] = round((total[key] or 0) + value, 10)
    total.pop("key")
    return {"by": by, "since_us": since_us, "until_us": until_us, "groups": groups, "total": total}


def _window(since_us: int | None, until_us: int | None) -> tuple[str, list[int]]:
    clauses, params = [], []
    if since_us is not None:
        clauses.append("time_us >= ?")
        params.append(since_us)
    if until_us is not None:
        clauses.append("time_us < ?")
        params.append(until_us)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _group(row: tuple) -> dict[str, Any]:
    key, requests, errors, fallbacks, inp, cread, cwrite, out, cost, unpriced = row
    tokens = [int(v or 0) for v in (inp, cread, cwrite, out)]
    return {
        "key": key,
        "requests": int(requests or 0),
        "errors": int(errors or 0),
        "fallbacks": int(fallbacks or 0),
        "input_tokens": tokens[0],
        "cache_read_tokens": tokens[1],
        "cache_write_tokens": tokens[2],
        "output_tokens": tokens[3],
        "total_tokens": sum(tokens),
        "cost_usd": None if cost is None else round(float(cost), 10),
        "unpriced_rows": int(unpriced or 0),
    }


def model_calls(conn: sqlite3.Connection, session_id: str, limit: int = 10000) -> list[dict]:
    """One session's model calls in time order: tokens, cost, provider, model and fallbacks."""
    rows = conn.execute(
        f"""SELECT request_id, time_us, agent, user, inbound, route, provider, model, stream,
                   status, outcome, attempts, attempt_log, {_INPUT}, COALESCE(cache_read_tokens,0),
                   {_CACHE_WRITE}, {_OUTPUT}, input_tokens IS NULL AND output_tokens IS NULL,
                   cost_usd, latency_us
            FROM usage WHERE session_id = ? ORDER BY time_us, id LIMIT ?""",
        (session_id, limit),
    ).fetchall()
    calls = []
    for row in rows:
        (rid, time_us, agent, user, inbound, route, provider, model, stream, status, outcome,
         _attempts, attempt_log, inp, cread, cwrite, out, no_usage, cost, latency_us) = row  # fmt: skip
        tried = json.loads(attempt_log or "[]")
        calls.append(
            {
                "kind": "model_call",
                "request_id": rid,
                "time_us": time_us,
                "agent": agent,
                "user": user,
                "format": inbound,
                "route": route,
                "provider": provider,
                "model": model,
                "stream": bool(stream),
                "status": status,
                "outcome": outcome,
                "tokens": None
                if no_usage
                else {"input": inp, "cache_read": cread, "cache_write": cwrite, "output": out},
                "cost_usd": cost,
                "latency_ms": round(latency_us / 1000, 3),
                # Targets that failed before one answered (the fallback path), with why.
                "fallbacks": [a for a in tried if "error" in a],
            }
        )
    return calls
