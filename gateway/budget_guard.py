"""Budget enforcement in one gateway process: admit before forwarding, settle when the row is priced.

Definitions come from the gateway config's ``budgets:`` list and from the store's ``budgets``
table (``reins budget set``; a stored budget replaces a config one of the same name). Counters
live in a ``policy_server.budgets.BudgetBook``; a background greenlet (``run``) reloads definitions and
the store's totals every ``REFRESH_S`` (1) second in a worker thread, so the request path never
waits on the store. Per request:

- ``admit`` (on the request path, a few µs): checks every budget of the caller's user, agent,
  teams and token, and reserves an estimate: the larger of the model's recent average cost in
  this process (an exponential average of settled calls) and the request body's bytes / 4 as
  input tokens. A hard limit reached → the request is refused in the inbound API's shape
  (``refusal``); a soft limit passed → ``X-Reins-Budget-Warning`` response headers.
- ``settle`` (in the recorder, once the row's tokens and cost are known): replaces the reservation
  by the real amounts. A request that got no answer (error without usage) is released.

Worst-case overshoot of a hard budget (see ``policy_server.budgets``): what other gateway processes
spend between two refreshes, plus, for the requests admitted while the budget was still open,
what each costs beyond the estimate it reserved. Once this process has seen the model, requests
of a steady size reserve about what they cost, so concurrent requests cannot all slip past the
limit together: the overshoot is then below one request's cost (tested with 64 racing clients).
This process's own spend is never counted twice nor missed: the refresh reads the store's totals
and the recorder's ``committed_until`` under the recorder's commit lock.

Each limit crossing is also an audit row (``harness: gateway``, ``hook_event: BudgetSoftLimit``
or ``BudgetHardLimit``), one per budget, subject and window: its event id is derived from those,
so every process and retry writes the same row once. Never prices a call itself (``costing``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import gevent

from policy_server.budget_store import load as load_stored
from policy_server.budget_store import totals
from policy_server.budgets import (
    ZERO,
    Budget,
    BudgetBook,
    BudgetError,
    Decision,
    Hit,
    parse_definitions,
)

from .costing import neutral_usage, total_tokens
from .errors import error_body
from .incoming import response_head
from .metrics import Metrics
from .pricing import MILLION, PriceTable
from .usage import UsageRecord

if TYPE_CHECKING:
    from .recorder import Recorder

log = logging.getLogger("reins.gateway")
WARNING_HEADER = "X-Reins-Budget-Warning"
SMOOTHING = 8  # the running average moves 1/8 of the way to each new call
REFRESH_S = 1.0  # how often definitions and the store's totals are reloaded
BUDGET_EXCEEDED = "budget_exceeded"  # error.code of the OpenAI-shaped refusal


def refusal_status(fmt: str) -> int:
    """The HTTP status of a hard-budget refusal to a client of inbound format ``fmt``."""
    return {"anthropic": 402, "gemini": 429}.get(fmt, 400)


class BudgetGuard:
    """Admission and settlement against the budgets of this gateway (see the module docstring)."""

    def __init__(
        self,
        config_items: Iterable[Any],
        prices: PriceTable,
        metrics: Metrics,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.config_budgets = parse_definitions(tuple(config_items), "gateway config")
        self.prices = prices
        self.metrics = metrics
        self.clock = clock
        self.book = BudgetBook(self.config_budgets)
        self.teams = _teams(self.config_budgets)
        self.average: dict[str, tuple[int, Decimal]] = {}  # model -> (tokens, usd) per call
        self.audit: list[dict[str, Any]] = []  # rows for the recorder to append
        self.noted: set[tuple[str, str, dt.datetime | None, str]] = set()
        self.loaded = False
        self.conn: sqlite3.Connection | None = None  # the refresh's own (worker thread only)

    # -- request path ------------------------------------------------------------------

    def admit(self, record: UsageRecord, model: str) -> Decision | None:
        """The budgets' verdict for this request (None when no budget applies at all).

        ``count_tokens`` is free at every provider, so it is never refused nor reserved.
        """
        if not self.book.budgets or record.endpoint == "count_tokens":
            return None
        subjects = {
            "user": record.user,
            "agent": record.agent,
            "team": self.teams.get(record.user, ()),
            "token": str(record.token_id) if record.token_id else "",
        }
        tokens, usd = self._estimate(model, record.request_bytes)
        now = self.clock()
        decision = self.book.admit(subjects, now, usd, tokens)
        if decision.blocked is not None or decision.warnings:
            self._note(decision, record, now)
        record.budget = (self.book, decision)  # settled on the book that holds the reservation
        return decision

    def _estimate(self, model: str, request_bytes: int) -> tuple[int, Decimal]:
        guess = request_bytes // 4
        seen = self.average.get(model)
        if seen is not None and seen[0] >= guess:
            return seen
        rates = self.prices.rates(model, self.clock())
        usd = Decimal(guess) * rates.input / MILLION if rates else ZERO
        return guess, max(usd, seen[1]) if seen else usd

    def refusal(self, fmt: str, hit: Hit) -> bytes:
        """The whole HTTP answer refusing a request over a hard budget, in the inbound shape.

        Every shape names the budget and its reset time. Anthropic clients get 402
        ``billing_error``; Gemini clients 429 ``RESOURCE_EXHAUSTED``, Gemini's quota error;
        OpenAI clients (Responses, Chat) 400 ``invalid_request_error`` with code
        ``budget_exceeded``, the status OpenAI gives its own "Billing hard limit has been
        reached". Claude Code and Codex stop at once on theirs and show our message. Not 429
        for OpenAI: Codex 0.171.0 shows its own text for ``insufficient_quota`` ("Quota
        exceeded…") and ``usage_limit_reached``, and retries any other 429, like every 5xx and
        4xx but 400, five times in ~25 s (``tests/e2e/test_budget_refusals.py``).
        """
        status, message = refusal_status(fmt), hit.message()
        if fmt == "anthropic":
            body = json.dumps(
                {"type": "error", "error": {"type": "billing_error", "message": message}}
            ).encode()
        elif fmt == "gemini":
            body = error_body(fmt, status, message)
        else:
            payload = json.loads(error_body(fmt, status, message))
            payload["error"]["code"] = BUDGET_EXCEEDED
            body = json.dumps(payload).encode()
        extra = [("x-reins-budget", _latin1(hit.budget.name))]
        if hit.resets_at is not None:
            wait = max(1, int((hit.resets_at - self.clock()).total_seconds()) + 1)
            extra.append(("retry-after", str(wait)))
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        return response_head(status, headers + extra) + body

    def warning_headers(self, decision: Decision | None) -> str:
        if decision is None or not decision.warnings:
            return ""
        return "".join(f"{WARNING_HEADER}: {_latin1(h.message())}\r\n" for h in decision.warnings)

    # -- after the answer (recorder greenlet) ------------------------------------------

    def settle(self, record: UsageRecord, at: dt.datetime) -> None:
        """Replace the request's reservation by its real tokens and cost (``record.cost_usd``)."""
        if record.budget is None:
            return
        book, decision = record.budget
        record.budget = None
        reservation = decision.reservation
        usage = neutral_usage(record)
        if usage is None:
            if record.status >= 400 or record.outcome in ("no_target", "client_gone"):
                book.release(reservation)
            elif reservation is not None:  # answered, but no usage came back: keep the estimate
                book.settle(reservation, reservation.usd, reservation.tokens, at)
            return
        tokens = total_tokens(usage)
        usd = record.cost_usd
        book.settle(reservation, usd, tokens, at)
        if record.model:
            self._learn(record.model, tokens, usd)

    def _learn(self, model: str, tokens: int, usd: Decimal | None) -> None:
        usd = usd or ZERO
        seen = self.average.get(model)
        if seen is None:
            self.average[model] = (tokens, usd)
            return
        self.average[model] = (
            seen[0] + (tokens - seen[0]) // SMOOTHING,
            seen[1] + (usd - seen[1]) / SMOOTHING,
        )

    def _note(self, decision: Decision, record: UsageRecord, now: dt.datetime) -> None:
        hits = [*decision.warnings, *([decision.blocked] if decision.blocked else [])]
        for hit in hits:
            key = (hit.budget.name, hit.subject, hit.resets_at, hit.level)
            if key in self.noted:
                continue
            self.noted.add(key)
            self.metrics.inc("reins_gateway_budget_crossings_total", f'level="{hit.level}"')
            self.audit.append(audit_record(hit, record, now))

    # -- background refresh ------------------------------------------------------------

    def refresh(self, connect: Callable[[], sqlite3.Connection], recorder: Recorder) -> None:
        """Reload definitions and totals in a worker thread, then swap them in on the loop.

        The totals and the recorder's ``committed_until`` are read under its commit lock: an
        amount settled at or before that time is in the store and leaves the local counters;
        a later one is not yet, and stays. So nothing is counted twice or missed.
        """
        try:
            budgets, spent, included = gevent.get_hub().threadpool.apply(
                self._read_locked, (connect, recorder)
            )
        except (OSError, sqlite3.Error, BudgetError) as exc:  # keep enforcing the last state
            self.metrics.inc("reins_gateway_budget_refresh_failures_total")
            log.warning("budget refresh failed, keeping the last counters: %s", exc)
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            return
        self.apply(budgets, spent, included)

    def _read_locked(
        self, connect: Callable[[], sqlite3.Connection], recorder: Recorder
    ) -> tuple[tuple[Budget, ...], dict, dt.datetime]:
        if self.conn is None:
            self.conn = connect()
        with recorder.commit_lock:
            included = recorder.committed_until
            return (*self.read(self.conn), included)

    def read(self, conn: sqlite3.Connection) -> tuple[tuple[Budget, ...], dict]:
        """Definitions (store first, then config) and the store's totals. Worker thread."""
        stored = parse_definitions(load_stored(conn), "store budgets")
        names = {b.name for b in stored}
        budgets = (*stored, *(b for b in self.config_budgets if b.name not in names))
        return budgets, totals(conn, budgets, self.clock())

    def run(self, connect: Callable[[], sqlite3.Connection], recorder: Recorder) -> None:
        """The background loop: refresh every ``REFRESH_S`` seconds."""
        while True:
            gevent.sleep(REFRESH_S)
            self.refresh(connect, recorder)

    def apply(
        self, budgets: tuple[Budget, ...], spent: Mapping, included_until: dt.datetime
    ) -> None:
        if budgets != self.book.budgets:
            book = BudgetBook(budgets)
            # Local amounts not yet in the store carry over; in-flight reservations stay on the
            # old book and settle there (their rows reach the store and the next refresh).
            book._settled, book._local = self.book._settled, self.book._local
            self.book = book
            self.teams = _teams(budgets)
        self.book.refresh(spent, included_until)
        self.loaded = True


def _teams(budgets: Iterable[Budget]) -> dict[str, tuple[str, ...]]:
    teams: dict[str, list[str]] = {}
    for b in budgets:
        for user in b.members:
            if b.subject not in teams.setdefault(user, []):
                teams[user].append(b.subject)
    return {user: tuple(names) for user, names in teams.items()}


def audit_record(hit: Hit, record: UsageRecord, now: dt.datetime) -> dict[str, Any]:
    """The audit row of a budget limit crossing (one per budget, subject, window and level)."""
    start = hit.resets_at.isoformat() if hit.resets_at else "total"
    event_id = f"budget:{hit.level}:{hit.budget.name}:{hit.subject}:{start}"
    time_us = int(now.timestamp() * 1_000_000)
    verdict = "deny" if hit.level == "hard" else "allow"
    return {
        "schema_version": "1",
        "event_id": event_id,
        "decision_id": event_id,
        "time_us": time_us,
        "received_us": time_us,
        "harness": "gateway",
        "harness_version": "",
        "hook_event": "BudgetHardLimit" if hit.level == "hard" else "BudgetSoftLimit",
        "session_id": record.session_id,
        "turn_id": "",
        "tool_use_id": "",
        "agent": record.agent,
        "run_id": record.run_id,
        "user": record.user,
        "host": "",
        "cwd": "",
        "tool": "",
        "target": hit.budget.name,
        "programs": [],
        "decision": verdict,
        "enforced_decision": verdict,
        "reason": hit.message(),
        "rules": [f"budget:{hit.budget.name}"],
        "shadow_rules": [],
        "policy_revision": "",
        "eval_us": 0,
        "degraded": False,
        "input_redacted": {
            "budget": hit.budget.name,
            "scope": hit.budget.scope,
            "subject": hit.subject,
            "period": hit.budget.period,
            "unit": hit.budget.unit,
            "spent": str(hit.spent),
            "limit": str(hit.limit),
            "request_id": record.request_id,
        },
        "prompt_redacted": None,
        "input_truncated": False,
    }


def _latin1(text: str) -> str:
    """Header-safe text: one line, Latin-1 only (other characters become ``?``)."""
    return " ".join(text.split()).encode("latin-1", "replace").decode("latin-1")
