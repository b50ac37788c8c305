"""Spending budgets per user, agent, team and token, checked from in-memory counters.

A ``Budget`` caps what one subject (or each subject of a scope, with ``subject: "*"``) may spend
per ``daily`` / ``monthly`` (UTC calendar) or ``total`` period, in ``usd`` or ``tokens``. Crossing
the soft limit gives a warning; reaching the hard limit rejects the request, naming the budget
and when it resets.

``BudgetBook`` holds the counters. Per (budget, subject, window) it adds three amounts:

- ``base``: what the store says was spent (all gateway processes), set by ``refresh``;
- ``local``: what this process settled since then, kept until the store includes it;
- ``held``: estimates reserved by requests still in flight (``admit`` → ``settle``/``release``).

``admit`` rejects once ``base + local + held`` reaches a hard limit. Worst-case overshoot of a
hard budget: (a) what other processes spend between two refreshes (``refresh_s`` times their spend
rate), plus (b) for requests already admitted, what they cost beyond the estimate they reserved
(with no estimate: their whole cost, so at most one request's cost per concurrent request).

Pure: no I/O, no clock (``now`` is passed in), no globals. Calls are atomic under gevent because
nothing here yields. Must never be the place that decides a request's price: costs come in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

SCOPES = ("user", "agent", "team", "token")
PERIODS = ("daily", "monthly", "total")
UNITS = ("usd", "tokens")
ZERO = Decimal(0)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class BudgetError(ValueError):
    """A budget definition is invalid; the message names the budget, the key and the fix."""


@dataclass(frozen=True, slots=True)
class Budget:
    name: str
    scope: str
    subject: str  # a user, agent, team or token id; "*" = each one separately
    period: str
    unit: str
    hard: Decimal | None = None
    soft: Decimal | None = None
    members: tuple[str, ...] = ()  # a team budget's users (a team is known by its members)

    def describe(self, subject: str) -> str:
        who = subject if self.subject == "*" else self.subject
        return f"{self.name} ({self.period} {self.unit} budget of {self.scope} {who})"


def window(period: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """(start, reset time) of the period containing ``now``, in UTC; ``total`` never resets."""
    now = now.astimezone(dt.UTC) if now.tzinfo else now.replace(tzinfo=dt.UTC)
    if period == "daily":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + dt.timedelta(days=1)
    if period == "monthly":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        return start, start.replace(year=year, month=month)
    return EPOCH, None


def _amount(value: Any, unit: str, where: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        what = "a number of US dollars" if unit == "usd" else "a whole number of tokens"
        raise BudgetError(f"{where}: expected {what} > 0, got {value!r}")
    if unit == "tokens" and amount != amount.to_integral_value():
        raise BudgetError(f"{where}: a token budget must be a whole number, got {value!r}")
    return amount


def parse_budget(data: Any, index: int) -> Budget:
    """One budget from config: ``{scope, subject, period, unit, hard?, soft?, name?}``."""
    where = f"budgets[{index}]"
    if not isinstance(data, Mapping):
        raise BudgetError(
            f"{where}: expected a mapping with scope, subject, period, unit and limits"
        )
    unknown = set(data) - {"name", "scope", "subject", "period", "unit", "hard", "soft", "members"}
    if unknown:
        raise BudgetError(
            f"{where}: unknown key(s) {sorted(unknown)}; allowed: name, scope, subject, period, unit, hard, soft, members"
        )
    for key, allowed in (("scope", SCOPES), ("period", PERIODS), ("unit", UNITS)):
        if data.get(key) not in allowed:
            raise BudgetError(
                f"{where}.{key} is {data.get(key)!r}; use one of {', '.join(allowed)}"
            )
    subject = data.get("subject")
    if not isinstance(subject, str | int) or isinstance(subject, bool) or str(subject) == "":
        raise BudgetError(
            f'{where}.subject: name the {data["scope"]} (or "*" for each {data["scope"]})'
        )
    unit = data["unit"]
    hard = _amount(data.get("hard"), unit, f"{where}.hard")
    soft = _amount(data.get("soft"), unit, f"{where}.soft")
    if hard is None and soft is None:
        raise BudgetError(f"{where}: set a hard limit (reject) or a soft limit (warn), or both")
    if hard is not None and soft is not None and soft > hard:
        raise BudgetError(
            f"{where}: soft limit {soft} is above hard limit {hard}; the soft limit warns first"
        )
    members = _members(data, where)
    name = data.get("name") or f"{data['scope']}:{subject}:{data['period']}:{unit}"
    return Budget(str(name), data["scope"], str(subject), data["period"], unit, hard, soft, members)


def _members(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """A team budget names its team's users; no other scope takes members."""
    members = data.get("members")
    if data["scope"] != "team":
        if members is not None:
            raise BudgetError(f"{where}.members: only a team budget lists members")
        return ()
    if members is None:
        return ()  # the gateway (budget_guard) requires members; the book itself does not
    if str(data["subject"]) == "*":
        raise BudgetError(f'{where}.subject: a team budget with members names one team (not "*")')
    if (
        not isinstance(members, list)
        or not members
        or not all(isinstance(m, str) and m for m in members)
    ):
        raise BudgetError(f"{where}.members: list the team's users, e.g. [alice, bob]")
    return tuple(members)


def parse_budgets(items: Any) -> tuple[Budget, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise BudgetError(f"budgets: expected a list of budgets, got {type(items).__name__}")
    budgets = tuple(parse_budget(item, i) for i, item in enumerate(items))
    names = [b.name for b in budgets]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise BudgetError(
            f"budgets: two budgets are named {duplicate!r}; give one a different name"
        )
    return budgets


@dataclass(frozen=True, slots=True)
class Hit:
    """A budget at or past one of its limits."""

    budget: Budget
    subject: str
    level: str  # "soft" or "hard"
    spent: Decimal
    limit: Decimal
    resets_at: dt.datetime | None

    def message(self) -> str:
        fmt = (
            (lambda d: f"${d:.2f}")
            if self.budget.unit == "usd"
            else (lambda d: f"{int(d):,} tokens")
        )
        reset = (
            f"it resets at {self.resets_at:%Y-%m-%dT%H:%M:%SZ}"
            if self.resets_at
            else "it does not reset"
        )
        state = "is exhausted" if self.level == "hard" else "passed its soft limit"
        return f"Budget {self.budget.describe(self.subject)} {state}: spent {fmt(self.spent)} of {fmt(self.limit)}; {reset}."


Key = tuple[str, str, dt.datetime]  # (budget name, subject, window start)


@dataclass(slots=True)
class Reservation:
    keys: list[tuple[Budget, Key]]
    usd: Decimal
    tokens: int
    open: bool = True


@dataclass(slots=True)
class Decision:
    allowed: bool
    blocked: Hit | None = None
    warnings: list[Hit] = field(default_factory=list)
    reservation: Reservation | None = None


class BudgetBook:
    """In-memory budget counters of one gateway process (see the module docstring)."""

    def __init__(self, budgets: Iterable[Budget]) -> None:
        self.budgets = tuple(budgets)
        self._index: dict[tuple[str, str], list[Budget]] = {}
        for b in self.budgets:
            self._index.setdefault((b.scope, b.subject), []).append(b)
        self._base: dict[Key, Decimal] = {}
        self._local: dict[Key, Decimal] = {}  # running sums of ``_settled``
        self._settled: dict[Key, list[tuple[dt.datetime, Decimal]]] = {}
        self._held: dict[Key, Decimal] = {}
        self._day: tuple[dt.date, dict[str, tuple[dt.datetime, dt.datetime | None]]] | None = None

    def _windows(self, now: dt.datetime) -> dict[str, tuple[dt.datetime, dt.datetime | None]]:
        """The three periods' windows for ``now``, computed once per UTC day (the hot path)."""
        if now.tzinfo is not dt.UTC:
            now = now.astimezone(dt.UTC) if now.tzinfo else now.replace(tzinfo=dt.UTC)
        day = now.date()
        if self._day is None or self._day[0] != day:
            self._day = (day, {p: window(p, now) for p in PERIODS})
        return self._day[1]

    def _matching(
        self, subjects: Mapping[str, str | tuple[str, ...]], now: dt.datetime
    ) -> list[tuple[Budget, Key, dt.datetime | None]]:
        out = []
        windows = None
        index = self._index
        for scope, named in subjects.items():
            if not named:
                continue
            for subject in (named,) if isinstance(named, str) else named:
                for key in ((scope, subject), (scope, "*")):
                    for b in index.get(key, ()):
                        if windows is None:
                            windows = self._windows(now)
                        start, resets = windows[b.period]
                        out.append((b, (b.name, subject, start), resets))
        return out

    def spent(self, key: Key) -> Decimal:
        return self._base.get(key, ZERO) + self._local.get(key, ZERO) + self._held.get(key, ZERO)

    def admit(
        self,
        subjects: Mapping[str, str | tuple[str, ...]],
        now: dt.datetime,
        estimate_usd: Decimal = ZERO,
        estimate_tokens: int = 0,
    ) -> Decision:
        """Check every budget of ``subjects`` ({"user": …, "agent": …, "team": …, "token": …});
        a value may be a tuple of names (a user in several teams).

        Allowed requests reserve the estimate until ``settle`` or ``release``.
        """
        decision = Decision(allowed=True)
        matched = self._matching(subjects, now)
        for b, key, resets in matched:
            spent = self.spent(key)
            if b.hard is not None and spent >= b.hard:
                decision.allowed = False
                decision.blocked = Hit(b, key[1], "hard", spent, b.hard, resets)
                return decision
            if b.soft is not None and spent >= b.soft:
                decision.warnings.append(Hit(b, key[1], "soft", spent, b.soft, resets))
        keys = [(b, key) for b, key, _ in matched]
        decision.reservation = Reservation(keys, estimate_usd, estimate_tokens)
        self._hold(decision.reservation, 1)
        return decision

    def _hold(self, res: Reservation, sign: int) -> None:
        for b, key in res.keys:
            amount = res.usd if b.unit == "usd" else Decimal(res.tokens)
            if amount:
                self._held[key] = self._held.get(key, ZERO) + sign * amount
                if not self._held[key]:
                    del self._held[key]

    def release(self, reservation: Reservation | None) -> None:
        """Drop a reservation whose request used nothing (refused or failed before any output)."""
        if reservation is not None and reservation.open:
            reservation.open = False
            self._hold(reservation, -1)

    def settle(
        self, reservation: Reservation | None, usd: Decimal | None, tokens: int, now: dt.datetime
    ) -> None:
        """Replace the reservation by what the request really cost (``usd`` None: unknown price)."""
        if reservation is None or not reservation.open:
            return
        self.release(reservation)
        for b, key in reservation.keys:
            amount = (usd or ZERO) if b.unit == "usd" else Decimal(tokens)
            if amount:
                self._settled.setdefault(key, []).append((now, amount))
                self._local[key] = self._local.get(key, ZERO) + amount

    def refresh(self, totals: Mapping[Key, Decimal | int], included_until: dt.datetime) -> None:
        """Take the store's totals (all processes' usage rows up to ``included_until``).

        Local amounts settled after ``included_until`` are kept on top; choose it so that every
        row settled before it has been written (e.g. now minus the usage flush interval, twice).
        """
        self._base = {k: Decimal(v) for k, v in totals.items()}
        kept = {}
        for key, entries in self._settled.items():
            later = [e for e in entries if e[0] > included_until]
            if later:
                kept[key] = later
        self._settled = kept
        self._local = {k: sum((a for _, a in v), ZERO) for k, v in kept.items()}

    def windows(self, now: dt.datetime) -> list[tuple[Budget, dt.datetime]]:
        """The (budget, window start) pairs the store must total for ``refresh``."""
        return [(b, window(b.period, now)[0]) for b in self.budgets]


def parse_definitions(items: Any, origin: str) -> tuple[Budget, ...]:
    """Validated budgets; team budgets must list members (the gateway knows users, not teams)."""
    try:
        budgets = parse_budgets(list(items) if isinstance(items, tuple) else items)
    except BudgetError as exc:
        raise BudgetError(f"{origin}: {exc}") from None
    for b in budgets:
        if b.scope == "team" and not b.members:
            raise BudgetError(
                f"{origin}: budget {b.name!r} is a team budget without members; "
                "add members: [alice, bob] (the users of the team)"
            )
    return budgets
