"""``reins budget set|show|delete`` and ``reins usage report``: budgets and spend, from the store.

Thin shells: parse, open the store (``--db``; the same file the gateway writes), call
``budget_store`` / ``usage_report``, print a table (or ``--json``). Working on
the store directly is the local administrator's way, like ``reins token create``; over HTTP the
same changes need an admin token (``PUT /v1/budgets/<name>``). Errors: one line, exit 2.
"""

from __future__ import annotations

import argparse
import getpass
import json
import time
from typing import Any

from .budgets import PERIODS, SCOPES, UNITS
from .cli import _fail, _fail_with
from .flags import opened_store, store_flags


def register(subparsers: Any) -> None:
    budget = subparsers.add_parser(
        "budget",
        help="set and show spending budgets",
        description="Budgets per user, agent, team or token; daily, monthly or total; in USD "
        "or tokens. Gateways enforce a change within about a second.",
    )
    verbs = budget.add_subparsers(dest="budget_verb", metavar="VERB")
    verbs.required = True
    put = verbs.add_parser(
        "set",
        help="create or replace a budget",
        description="Create or replace a budget. Soft limit: a warning header and an audit row; "
        "hard limit: requests are refused, naming the budget and when it resets.",
    )
    put.add_argument("name", help="budget name (replaces a stored budget of that name)")
    put.add_argument("--scope", required=True, choices=SCOPES, help="who the budget caps")
    put.add_argument(
        "--subject", required=True, help='the user, agent, team or token id; "*" for each one'
    )
    put.add_argument("--period", required=True, choices=PERIODS, help="window (UTC)")
    put.add_argument("--unit", required=True, choices=UNITS, help="US dollars or tokens")
    put.add_argument("--hard", help="reject requests once this much is spent")
    put.add_argument("--soft", help="warn once this much is spent")
    put.add_argument(
        "--member", action="append", dest="members", help="a team's user (team scope; repeat)"
    )
    store_flags(put)
    put.set_defaults(func=cmd_set)

    show = verbs.add_parser(
        "show",
        help="list budgets and what was spent",
        description="List stored budgets with what each subject spent in the current window.",
    )
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    store_flags(show)
    show.set_defaults(func=cmd_show)

    drop = verbs.add_parser("delete", help="delete a stored budget", description="Delete a budget.")
    drop.add_argument("name", help="budget name")
    store_flags(drop)
    drop.set_defaults(func=cmd_delete)

    usage = subparsers.add_parser(
        "usage", help="model usage reports", description="Reports from the gateway's usage rows."
    )
    usage_verbs = usage.add_subparsers(dest="usage_verb", metavar="VERB")
    usage_verbs.required = True
    report = usage_verbs.add_parser(
        "report",
        help="requests, tokens and cost per group",
        description="Requests, errors, fallbacks, tokens and USD cost per agent, user, model, "
        "provider or session, most expensive first.",
    )
    report.add_argument(
        "--by",
        default="agent",
        choices=["agent", "user", "model", "provider", "session", "route"],
        help="group rows by this (default agent)",
    )
    report.add_argument("--since", help="from (2026-11-01, today, yesterday, 7d); default: all")
    report.add_argument("--until", help="up to, not including (same forms)")
    report.add_argument("--json", action="store_true", help="print JSON instead of a table")
    store_flags(report)
    report.set_defaults(func=cmd_report)


def _errors() -> tuple[type[Exception], ...]:
    from policy_server.store import StoreError

    return (ValueError, StoreError)


def cmd_set(args: argparse.Namespace) -> int:
    from .budget_store import save, spec_of

    spec: dict[str, Any] = {
        "name": args.name,
        "scope": args.scope,
        "subject": args.subject,
        "period": args.period,
        "unit": args.unit,
    }
    for key in ("hard", "soft"):
        if getattr(args, key) is not None:
            spec[key] = getattr(args, key)
    if args.members:
        spec["members"] = args.members
    try:
        with opened_store(args) as conn:
            budget = save(conn, spec, getpass.getuser(), time.time_ns() // 1000)
    except _errors() as exc:
        return _fail_with(exc)
    print(json.dumps(spec_of(budget)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    import datetime as dt

    from policy_server.routes.usage import budget_status

    try:
        with opened_store(args) as conn:
            budgets = budget_status(conn, dt.datetime.now(dt.UTC))
    except _errors() as exc:
        return _fail_with(exc)
    if args.json:
        print(json.dumps(budgets, indent=2))
        return 0
    if not budgets:
        print("no stored budgets; add one with `reins budget set`")
        return 0
    rows = [("name", "scope", "subject", "period", "unit", "soft", "hard", "spent", "resets")]
    for b in budgets:
        spent = ", ".join(f"{who}={amount}" for who, amount in b["spent"].items()) or "0"
        rows.append(
            (
                b["name"],
                b["scope"],
                b["subject"],
                b["period"],
                b["unit"],
                str(b.get("soft", "-")),
                str(b.get("hard", "-")),
                spent,
                b["resets_at"] or "never",
            )
        )
    _table(rows)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from .budget_store import delete

    try:
        with opened_store(args) as conn:
            found = delete(conn, args.name)
    except _errors() as exc:
        return _fail_with(exc)
    if not found:
        return _fail(f"no stored budget named {args.name!r}; see `reins budget show`")
    print(f"deleted budget {args.name}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from policy_server.audit.times import parse_time

    from .usage_report import summary

    try:
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
        with opened_store(args) as conn:
            report = summary(conn, args.by, since, until)
    except _errors() as exc:
        return _fail_with(exc)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    rows = [(args.by, "requests", "errors", "fallbacks", "tokens", "cost_usd", "unpriced")]
    for g in [*report["groups"], {**report["total"], "key": "TOTAL"}]:
        cost = "-" if g["cost_usd"] is None else f"{g['cost_usd']:.6f}"
        rows.append(
            (
                str(g["key"] or "-"),
                str(g["requests"]),
                str(g["errors"]),
                str(g["fallbacks"]),
                str(g["total_tokens"]),
                cost,
                str(g["unpriced_rows"]),
            )
        )
    _table(rows)
    return 0


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
