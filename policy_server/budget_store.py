"""Budgets in the store: their definitions (``budgets`` table) and what was spent against them.

``save`` validates a definition with ``policy_server.budgets`` before writing it; ``load`` returns the
stored ones. ``totals`` sums the ``usage`` rows of every budget's current window, per subject:
USD from ``cost_usd`` (rows of unpriced models count 0), tokens as billed (input, cache reads
and writes, output; the SQL applies the same per-format semantics as ``from_reported``).
Used by the gateway's background refresh and by ``reins budget show``; never on a request path.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from .budgets import Budget, BudgetError, Key, parse_budget, window

# Billed tokens of one row. OpenAI (responses, chat) and Gemini input includes cache reads;
# Anthropic's excludes them and reports writes apart; Gemini's output excludes thoughts.
TOKENS_SQL = (
    "COALESCE(input_tokens,0) + COALESCE(output_tokens,0)"
    " + CASE WHEN inbound = 'anthropic'"
    " THEN COALESCE(cache_read_tokens,0) + COALESCE(cache_write_tokens,0)"
    " WHEN inbound = 'gemini' THEN COALESCE(reasoning_tokens,0) ELSE 0 END"
)
_COLUMN = {"user": "user", "agent": "agent", "token": "CAST(token_id AS TEXT)"}


def spec_of(budget: Budget) -> dict[str, Any]:
    """The definition as plain JSON-able data (what ``save`` stores and the API returns)."""
    spec: dict[str, Any] = {
        "name": budget.name,
        "scope": budget.scope,
        "subject": budget.subject,
        "period": budget.period,
        "unit": budget.unit,
    }
    for key in ("hard", "soft"):
        value = getattr(budget, key)
        if value is not None:
            spec[key] = int(value) if budget.unit == "tokens" else str(value)
    if budget.members:
        spec["members"] = list(budget.members)
    return spec


def save(conn: sqlite3.Connection, data: Mapping[str, Any], by: str, now_us: int) -> Budget:
    """Validate and insert or replace one budget (by name); raises ``BudgetError``."""
    budget = parse_budget(dict(data), 0)
    if budget.scope == "team" and not budget.members:
        raise BudgetError(
            "a team budget must list its members (--member alice --member bob): "
            "the gateway knows a team by its users"
        )
    conn.execute(
        "INSERT OR REPLACE INTO budgets (name, spec, updated_us, updated_by) VALUES (?, ?, ?, ?)",
        (budget.name, json.dumps(spec_of(budget)), now_us, by),
    )
    return budget


def delete(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("DELETE FROM budgets WHERE name = ?", (name,)).rowcount > 0


def load(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Stored definitions, as raw specs (validated again by the caller), ordered by name."""
    rows = conn.execute("SELECT spec FROM budgets ORDER BY name").fetchall()
    return [json.loads(spec) for (spec,) in rows]


def totals(
    conn: sqlite3.Connection, budgets: Iterable[Budget], now: dt.datetime
) -> dict[Key, Decimal]:
    """Spent per (budget name, subject, window start) in each budget's window containing ``now``."""
    out: dict[Key, Decimal] = {}
    for b in budgets:
        start, _ = window(b.period, now)
        start_us = int(start.timestamp() * 1_000_000)
        amount = "COALESCE(SUM(cost_usd), 0)" if b.unit == "usd" else f"SUM({TOKENS_SQL})"
        if b.scope == "team":
            marks = ", ".join("?" * len(b.members))
            sql = f"SELECT {amount} FROM usage WHERE time_us >= ? AND user IN ({marks})"
            row = conn.execute(sql, (start_us, *b.members)).fetchone()
            out[(b.name, b.subject, start)] = _decimal(row[0])
            continue
        column = _COLUMN[b.scope]
        if b.subject == "*":
            sql = f"SELECT {column}, {amount} FROM usage WHERE time_us >= ? GROUP BY {column}"
            rows = conn.execute(sql, (start_us,)).fetchall()
        else:
            sql = f"SELECT {column}, {amount} FROM usage WHERE time_us >= ? AND {column} = ?"
            rows = conn.execute(sql, (start_us, b.subject)).fetchall()
        for subject, value in rows:
            if subject is not None:
                out[(b.name, str(subject), start)] = _decimal(value)
    return out


def _decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    # SQLite sums REAL costs as a float: round away binary noise below a millionth of a cent.
    return (
        Decimal(str(value)).quantize(Decimal("1e-8"))
        if isinstance(value, float)
        else Decimal(value)
    )
