"""Budgets: definitions, windows, soft and hard limits, reservations, refresh from the store."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from policy_server.budgets import BudgetBook, BudgetError, parse_budgets, window

NOW = dt.datetime(2026, 11, 29, 23, 50, tzinfo=dt.UTC)


def book(*items: dict) -> BudgetBook:
    return BudgetBook(parse_budgets(list(items)))


@pytest.mark.parametrize(
    ("period", "now", "start", "reset"),
    [
        (
            "daily",
            NOW,
            dt.datetime(2026, 11, 29, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
        ),
        (
            "monthly",
            NOW,
            dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        ),
        (
            "monthly",
            dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
            dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        ),
        # 20:00 in New York on the 29th is already the 30th in UTC: windows are UTC days.
        (
            "daily",
            dt.datetime(2026, 11, 29, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        ),
        ("total", NOW, dt.datetime(1970, 1, 1, tzinfo=dt.UTC), None),
    ],
)
def test_windows_are_utc_calendar_periods(period: str, now, start, reset) -> None:
    assert window(period, now) == (start, reset)


def test_soft_limit_warns_and_hard_limit_rejects_with_budget_and_reset_time() -> None:
    b = book(
        {
            "scope": "agent",
            "subject": "reviewer",
            "period": "daily",
            "unit": "usd",
            "soft": 4,
            "hard": 5,
        }
    )
    who = {"agent": "reviewer", "user": "alice"}
    first = b.admit(who, NOW)
    assert first.allowed and not first.warnings
    b.settle(first.reservation, Decimal("4.10"), 1000, NOW)
    second = b.admit(who, NOW)
    assert second.allowed and [w.level for w in second.warnings] == ["soft"]
    b.settle(second.reservation, Decimal("0.95"), 1000, NOW)
    third = b.admit(who, NOW)
    assert not third.allowed and third.reservation is None
    assert third.blocked.message() == (
        "Budget agent:reviewer:daily:usd (daily usd budget of agent reviewer) is exhausted: "
        "spent $5.05 of $5.00; it resets at 2026-11-30T00:00:00Z."
    )
    assert b.admit({"agent": "writer"}, NOW).allowed  # other agents are not affected
    assert b.admit(who, NOW + dt.timedelta(minutes=11)).allowed  # a new day


def test_wildcard_budgets_count_each_subject_separately_and_tokens_count_tokens() -> None:
    b = book(
        {
            "scope": "user",
            "subject": "*",
            "period": "monthly",
            "unit": "tokens",
            "hard": 1000,
            "name": "per-user",
        }
    )
    alice = b.admit({"user": "alice"}, NOW)
    b.settle(alice.reservation, None, 1000, NOW)  # unknown price still counts tokens
    blocked = b.admit({"user": "alice"}, NOW).blocked
    assert blocked.subject == "alice" and "1,000 tokens of 1,000 tokens" in blocked.message()
    assert b.admit({"user": "bob"}, NOW).allowed


def test_every_scope_is_checked_and_the_first_exhausted_budget_is_named() -> None:
    b = book(
        {"scope": "team", "subject": "platform", "period": "total", "unit": "usd", "hard": 100},
        {"scope": "token", "subject": "42", "period": "daily", "unit": "usd", "hard": 1},
    )
    d = b.admit({"user": "alice", "team": "platform", "token": "42"}, NOW)
    b.settle(d.reservation, Decimal(1), 10, NOW)
    blocked = b.admit({"team": "platform", "token": "42"}, NOW).blocked
    assert blocked.budget.scope == "token" and "resets at 2026-11-30" in blocked.message()
    assert b.admit({"team": "platform", "token": "43"}, NOW).allowed


def test_reservations_stop_concurrent_requests_from_overshooting() -> None:
    """64 clients race one $1 budget; each call costs what it reserved (5 cents)."""
    b = book({"scope": "agent", "subject": "a", "period": "daily", "unit": "usd", "hard": 1})
    rng = random.Random(7)
    in_flight, spent = [], Decimal(0)
    for _ in range(2000):
        if in_flight and (len(in_flight) >= 64 or rng.random() < 0.5):
            res = in_flight.pop(rng.randrange(len(in_flight)))
            b.settle(res, Decimal("0.05"), 100, NOW)
            spent += Decimal("0.05")
        else:
            d = b.admit({"agent": "a"}, NOW, estimate_usd=Decimal("0.05"))
            if d.allowed:
                in_flight.append(d.reservation)
    for res in in_flight:
        b.settle(res, Decimal("0.05"), 100, NOW)
        spent += Decimal("0.05")
    assert spent == Decimal("1.00")  # exact: estimates were right, so no overshoot at all


def test_without_estimates_overshoot_is_at_most_one_call_per_request_in_flight() -> None:
    b = book({"scope": "agent", "subject": "a", "period": "daily", "unit": "usd", "hard": 1})
    admitted = [b.admit({"agent": "a"}, NOW) for _ in range(64)]
    assert all(d.allowed for d in admitted)  # nothing spent yet, nothing reserved
    for d in admitted:
        b.settle(d.reservation, Decimal("0.05"), 1, NOW)
    assert not b.admit({"agent": "a"}, NOW).allowed
    assert b.spent(("agent:a:daily:usd", "a", window("daily", NOW)[0])) == Decimal(
        "3.20"
    )  # 1 + 64 x 0.05 bound


def test_release_and_double_settle_do_not_leak_or_double_count() -> None:
    b = book({"scope": "user", "subject": "u", "period": "daily", "unit": "tokens", "hard": 100})
    d = b.admit({"user": "u"}, NOW, estimate_tokens=100)
    assert not b.admit({"user": "u"}, NOW).allowed  # the reservation holds the budget
    b.release(d.reservation)
    b.release(d.reservation)
    b.settle(d.reservation, None, 50, NOW)  # already closed: ignored
    assert b.admit({"user": "u"}, NOW).allowed


def test_refresh_takes_store_totals_and_keeps_local_spend_the_store_has_not_seen() -> None:
    b = book({"scope": "user", "subject": "u", "period": "daily", "unit": "usd", "hard": 10})
    key = ("user:u:daily:usd", "u", window("daily", NOW)[0])
    early, late = NOW - dt.timedelta(seconds=30), NOW - dt.timedelta(seconds=1)
    for at, cost in ((early, "2"), (late, "3")):
        d = b.admit({"user": "u"}, at)
        b.settle(d.reservation, Decimal(cost), 1, at)
    assert b.spent(key) == Decimal(5)
    b.refresh({key: Decimal("9")}, included_until=NOW - dt.timedelta(seconds=5))  # 9 includes our 2
    assert b.spent(key) == Decimal(12)  # 9 from every process + our 3 not yet in the store
    assert not b.admit({"user": "u"}, NOW).allowed


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            [{"scope": "org", "subject": "x", "period": "daily", "unit": "usd", "hard": 1}],
            r"budgets\[0\]\.scope is 'org'; use one of user, agent, team, token",
        ),
        (
            [{"scope": "user", "subject": "x", "period": "weekly", "unit": "usd", "hard": 1}],
            "period is 'weekly'",
        ),
        (
            [{"scope": "user", "subject": "x", "period": "daily", "unit": "eur", "hard": 1}],
            "unit is 'eur'",
        ),
        (
            [{"scope": "user", "subject": "", "period": "daily", "unit": "usd", "hard": 1}],
            "name the user",
        ),
        ([{"scope": "user", "subject": "x", "period": "daily", "unit": "usd"}], "set a hard limit"),
        (
            [{"scope": "user", "subject": "x", "period": "daily", "unit": "usd", "hard": "lots"}],
            "expected a number of US dollars",
        ),
        (
            [{"scope": "user", "subject": "x", "period": "daily", "unit": "tokens", "hard": 1.5}],
            "whole number",
        ),
        (
            [
                {
                    "scope": "user",
                    "subject": "x",
                    "period": "daily",
                    "unit": "usd",
                    "hard": 1,
                    "soft": 2,
                }
            ],
            "soft limit 2 is above hard limit 1",
        ),
        (
            [
                {
                    "scope": "user",
                    "subject": "x",
                    "period": "daily",
                    "unit": "usd",
                    "hard": 1,
                    "limit": 2,
                }
            ],
            r"unknown key\(s\) \['limit'\]",
        ),
        (
            [{"scope": "user", "subject": "x", "period": "daily", "unit": "usd", "hard": 1}] * 2,
            "two budgets are named",
        ),
        ({"scope": "user"}, "expected a list"),
    ],
)
def test_bad_budgets_name_the_key_and_the_fix(items, message: str) -> None:
    with pytest.raises(BudgetError, match=message):
        parse_budgets(items)
