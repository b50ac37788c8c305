"""Usage and budget endpoints: ``GET /v1/usage/summary``, ``GET|PUT|DELETE /v1/budgets``.

Reading (summary, budgets with what was spent) needs the auditor role; changing a budget needs
admin. The numbers come from the gateway's ``usage`` rows (``gateway.usage_report``,
``gateway.budget_store``); gateways pick a budget change up within a second or two.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from flask import Blueprint, Response, jsonify, request

from .. import budget_store
from ..app import now_us, state
from ..budgets import BudgetError, parse_definitions, window
from ..errors import ApiError
from ..usage_report import ReportError, summary
from .args import time_arg
from .hooks import json_body
from .writer import writer

bp = Blueprint("usage", __name__)


@bp.get("/v1/usage/summary")
def usage_summary() -> Response:
    """``?by=agent|user|model|provider|session&since=…&until=…`` (default by agent, all time)."""
    reins = state()
    reins.require(request, "auditor")
    try:
        report = summary(
            reins.reader, request.args.get("by", "agent"), time_arg("since"), time_arg("until")
        )
    except ReportError as exc:
        raise ApiError(400, str(exc)) from None
    return jsonify(report)


def budget_status(conn: sqlite3.Connection, now: dt.datetime) -> list[dict[str, Any]]:
    """Every stored budget with what each subject spent in its current window."""
    budgets = parse_definitions(budget_store.load(conn), "store budgets")
    spent = budget_store.totals(conn, budgets, now)
    out = []
    for b in budgets:
        start, resets = window(b.period, now)
        subjects = {
            subject: str(amount)
            for (name, subject, _), amount in sorted(spent.items(), key=lambda kv: kv[0][1])
            if name == b.name
        }
        out.append(
            {
                **budget_store.spec_of(b),
                "window_start": start.isoformat(),
                "resets_at": resets.isoformat() if resets else None,
                "spent": subjects,
            }
        )
    return out


@bp.get("/v1/budgets")
def list_budgets() -> Response:
    reins = state()
    reins.require(request, "auditor")
    with writer() as conn:
        return jsonify({"budgets": budget_status(conn, dt.datetime.now(dt.UTC))})


@bp.put("/v1/budgets/<name>")
def put_budget(name: str) -> Response:
    """Create or replace a budget; the body is its definition (``name`` comes from the path)."""
    reins = state()
    principal = reins.require(request, "admin")
    body = json_body()
    if "name" in body and body["name"] != name:
        raise ApiError(400, f"the body names budget {body['name']!r} but the path says {name!r}")
    try:
        with writer() as conn:
            budget = budget_store.save(conn, {**body, "name": name}, principal.user, now_us())
    except BudgetError as exc:
        raise ApiError(400, str(exc)) from None
    return jsonify(budget_store.spec_of(budget))


@bp.delete("/v1/budgets/<name>")
def delete_budget(name: str) -> Response:
    reins = state()
    reins.require(request, "admin")
    with writer() as conn:
        if not budget_store.delete(conn, name):
            raise ApiError(404, f"no stored budget named {name!r}; see GET /v1/budgets")
    return jsonify({"deleted": name})
