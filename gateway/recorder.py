"""Writes usage rows (and logged bodies) in batches, off the request path, and never drops one.

Requests append a ``UsageRecord`` to ``pending`` and go on. A background greenlet takes the
batch every ``flush_s`` seconds, counts each request in ``/metrics``, turns records into rows
in small slices (yielding to requests in between), then hands only the SQLite transaction to
a worker thread, so neither the event loop nor the GIL is held for long. A failed commit keeps
its rows, is counted in ``/metrics`` (``reins_gateway_usage_write_failures_total``) and is
retried with backoff; ``INSERT OR IGNORE`` on the request id makes a retry after an unclear
failure safe.

The usage table *is* the traffic log's metadata (one row per request, every attempt in
``attempt_log``). Bodies go to a JSON-lines file only for routes that opt in, redacted first.

Each row is priced here (``gateway.costing``) and its budget reservation settled
(``gateway.budget_guard``); audit rows of budget limit crossings ride in the same transaction.
``committed_until`` tells the budget refresh which settled amounts the store already holds.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import gevent
import gevent.lock
from gevent import monkey

from policy_server.audit import writer
from policy_server.engine.detectors import redact

from .metrics import Metrics
from .usage import INSERT_SQL, UsageRecord, extract_tokens, unframe

if TYPE_CHECKING:
    from .budget_guard import BudgetGuard
    from .costing import Costing

log = logging.getLogger("reins.gateway")
MAX_LOGGED_BODY = 1024 * 1024
MAX_BACKOFF_S = 30.0
SLICE = 5  # records turned into rows between two yields: a request waits for ~50 us at most


class Recorder:
    """Owns the store connection used for usage rows (used in the worker thread only)."""

    def __init__(
        self,
        conn_factory: Callable[[], sqlite3.Connection] | None,
        bodies_log: Path | None,
        metrics: Metrics,
        flush_s: float,
    ) -> None:
        self.conn_factory = conn_factory
        self.conn: sqlite3.Connection | None = None
        self.bodies_log = bodies_log
        self.metrics = metrics
        self.flush_s = flush_s
        self.pending: list[UsageRecord] = []
        self._flushing = gevent.lock.Semaphore()
        self.rows: list[tuple] = []  # serialised, not yet committed
        self.body_lines: list[str] = []
        self.failures = 0
        # Set by the gateway: prices each row, settles its budget reservation, and queues the
        # audit rows of budget limit crossings (committed with the next batch).
        self.costing: Costing | None = None
        self.budgets: BudgetGuard | None = None
        self.audit: list[writer.Prepared] = []
        # Every record settled at or before this time is in the store (budget refresh).
        self.committed_until = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.commit_lock = monkey.get_original("_thread", "allocate_lock")()  # a real OS lock

    def add(self, record: UsageRecord) -> None:
        self.pending.append(record)

    def backlog(self) -> int:
        return len(self.pending) + len(self.rows)

    def run(self) -> None:
        """The background loop: flush, wait, repeat (backing off while the store fails)."""
        while True:
            gevent.sleep(self.flush_s if not self.failures else self._backoff())
            self.flush()

    def flush(self) -> bool:
        """Write everything pending now; True when nothing is left. One flush at a time: the
        background loop and a stop-time flush must never both take the same rows (the bodies log
        has no unique key to skip a second copy)."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> bool:
        batch, self.pending = self.pending, []
        swapped = dt.datetime.now(dt.UTC)
        for start in range(0, len(batch), SLICE):
            for record in batch[start : start + SLICE]:
                self._serialise(record, swapped)
            gevent.sleep(0)
        if self.budgets is not None and self.budgets.audit:
            records, self.budgets.audit = self.budgets.audit, []
            for item in records:
                try:  # serialised here, so a bad record can never block the usage rows
                    self.audit.append(writer.prepare(item))
                except ValueError as exc:
                    log.error("budget audit row %s dropped: %s", item.get("event_id"), exc)
        if not self.rows and not self.body_lines and not self.audit:
            return True
        rows, lines, audit = self.rows, self.body_lines, self.audit
        try:
            gevent.get_hub().threadpool.apply(self._commit, (rows, lines, audit, swapped))
        except Exception as exc:  # isolation boundary: the rows are kept and retried
            self.failures += 1
            self.metrics.inc("reins_gateway_usage_write_failures_total")
            log.warning("usage write failed (%s rows kept, will retry): %s", len(rows), exc)
            return False
        self.rows, self.body_lines, self.audit = [], [], []  # only this greenlet fills them
        self.failures = 0
        self.metrics.inc("reins_gateway_usage_rows_written_total", value=len(rows))
        return not self.rows and not self.pending

    def _serialise(self, record: UsageRecord, now: dt.datetime) -> None:
        self._count(record)
        try:
            if record.framed:
                record.head, record.tail = unframe(record.head), unframe(record.tail)
                if record.response_body is not None:
                    record.response_body = unframe(record.response_body)
            if (record.head or record.tail) and not record.priced:
                record.tokens = extract_tokens(record.inbound, record.head, record.tail)
            record.head = record.tail = b""
            if self.costing is not None:
                record.cost_usd = self.costing.row_cost(record)
            if self.budgets is not None and record.budget is not None:
                self.budgets.settle(record, now)
            self.rows.append(record.row())
            if record.request_body is not None and self.bodies_log is not None:
                self.body_lines.append(json.dumps(_bodies_entry(record)) + "\n")
        except (TypeError, ValueError) as exc:  # a bug, not the store: retrying cannot help
            self.metrics.inc("reins_gateway_usage_rows_dropped_total")
            log.error("usage row %s cannot be serialised, dropped: %s", record.request_id, exc)

    def _count(self, record: UsageRecord) -> None:
        """The request's metrics (``/metrics`` lags the answers by up to ``flush_s``)."""
        metrics = self.metrics
        metrics.inc(
            "reins_gateway_requests_total", f'format="{record.inbound}",status="{record.status}"'
        )
        metrics.observe("reins_gateway_request_seconds", record.latency_us / 1e6)
        if record.ttfb_us is not None:
            metrics.observe("reins_gateway_ttfb_seconds", record.ttfb_us / 1e6)
        attempts = record.attempts
        for note in attempts:
            if "ms" in note:  # sent upstream: not skipped for a missing key or a translation
                outcome = note.get("status", note.get("error"))
                metrics.inc(
                    "reins_gateway_attempts_total",
                    f'provider="{note["provider"]}",outcome="{outcome}"',
                )
        if len(attempts) > 1 and "status" in attempts[-1]:  # answered by a later target
            metrics.inc("reins_gateway_fallbacks_total")

    def _backoff(self) -> float:
        return min(MAX_BACKOFF_S, self.flush_s * 2 ** min(self.failures, 10))

    def _commit(
        self,
        rows: list[tuple],
        lines: list[str],
        audit: list[writer.Prepared],
        swapped: dt.datetime,
    ) -> None:
        if self.conn_factory is not None and (rows or audit):
            if self.conn is None:
                self.conn = self.conn_factory()
            conn = self.conn
            # The budget refresh reads committed_until and the store's totals under this lock,
            # so each settled amount is counted either in the store or locally, never both.
            with self.commit_lock:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(INSERT_SQL, rows)
                    if audit:  # chained after the head read inside this transaction; ids dedupe
                        writer.insert(conn, audit)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                self.committed_until = swapped
        if lines and self.bodies_log is not None:
            with self.bodies_log.open("a", encoding="utf-8") as out:
                out.write("".join(lines))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _bodies_entry(record: UsageRecord) -> dict:
    """One line of the bodies log; joins the usage row by ``request_id``."""
    return {
        "request_id": record.request_id,
        "time_us": record.time_us,
        "user": record.user,
        "agent": record.agent,
        "session_id": record.session_id,
        "provider": record.provider,
        "model": record.model,
        "status": record.status,
        "request_body": _redacted(record.request_body or b""),
        "response_body": _redacted(record.response_body or b""),
    }


def _redacted(body: bytes) -> str:
    return redact(body[:MAX_LOGGED_BODY].decode("utf-8", "replace"))
