"""Appending to the audit chain: one transaction per batch, and a group committer for servers.

Two rules keep the chain whole when several processes (gunicorn workers, ``reins audit prune``)
share one SQLite file:

- The chain head (last ``record_hash`` and ``seq``) is read *inside* the ``BEGIN IMMEDIATE``
  transaction that appends after it. The write lock is taken at ``BEGIN``, so no other writer can
  append between our read and our insert: the chain never forks, seqs never repeat or skip.
- ``seq`` is assigned here, not by SQLite, so it keeps counting after a prune that emptied the
  table (SQLite would otherwise reuse low rowids).

An ``event_id`` already stored is skipped, not inserted again: a client that re-uploads spooled
events after a timeout must not create a second row (DESIGN: "idempotent by event id").

``GroupCommitter`` turns many concurrent ``submit`` calls into few fsyncs: with
``synchronous=FULL`` each commit costs an fsync, so committing whatever is pending in one
transaction is what makes "every hook event is written before we answer" affordable.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from . import checkpoints
from .records import (
    GENESIS_HASH,
    ROW_COLUMNS,
    canonical_json,
    chain_hash,
    column_values,
    has_lone_surrogates,
    without_lone_surrogates,
)

T = TypeVar("T")
MAX_BATCH = 256
_INSERT = (
    f"INSERT INTO audit_events (seq, {', '.join(ROW_COLUMNS)})"
    f" VALUES ({', '.join('?' * (len(ROW_COLUMNS) + 1))})"
)


class AuditWriteError(Exception):
    """An audit record could not be committed; ``__cause__`` holds the SQLite error."""


class Prepared(NamedTuple):
    """A record serialised ahead of the transaction (the expensive part, done by the caller)."""

    canonical: str
    columns: tuple[Any, ...]

    @property
    def event_id(self) -> str:
        return self.columns[0]


@dataclass(frozen=True)
class Appended:
    """Outcome of one append. ``seqs`` has one entry per input record, in order: the new seq,
    or for a duplicate event id the seq it is already stored under."""

    seqs: list[int]
    inserted: list[int]
    duplicates: list[str] = field(default_factory=list)


def prepare(record: Mapping[str, Any]) -> Prepared:
    """Serialise ``record``; raises ValueError for a record that can never be stored."""
    canonical = canonical_json(record)
    if not canonical.isascii() and has_lone_surrogates(canonical):
        # JSON lets a client send "\ud800"; UTF-8 (SQLite, the hash) cannot hold it.
        record = without_lone_surrogates(record)
        canonical = canonical_json(record)
    return Prepared(canonical, column_values(record))


def append(conn: sqlite3.Connection, records: Sequence[Mapping[str, Any]]) -> list[int]:
    """Append ``records`` in one transaction; return the seqs of the rows inserted (records
    whose event id was already stored are skipped: see ``append_batch`` for which)."""
    return append_batch(conn, records).inserted


def append_batch(conn: sqlite3.Connection, records: Sequence[Mapping[str, Any]]) -> Appended:
    """Like ``append``, but say which records were duplicates and where each one is stored."""
    return _append_prepared(conn, [prepare(r) for r in records])


def _append_prepared(conn: sqlite3.Connection, prepared: Sequence[Prepared]) -> Appended:
    try:
        with transaction(conn):
            return insert(conn, prepared)
    except sqlite3.Error as exc:
        raise AuditWriteError(f"the audit log could not be written: {exc}") from exc


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error (including a failed COMMIT)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            # The original error says more; SQLite rolls a dead transaction back by itself.
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def insert(conn: sqlite3.Connection, prepared: Sequence[Prepared]) -> Appended:
    """Chain and insert ``prepared`` after the current head. Caller holds a write transaction."""
    next_seq, prev_hash = head(conn)
    stored = _stored_seqs(conn, {item.event_id for item in prepared})
    seqs: list[int] = []
    inserted: list[int] = []
    duplicates: list[str] = []
    rows = []
    for item in prepared:
        seq = stored.get(item.event_id)
        if seq is not None:
            seqs.append(seq)
            duplicates.append(item.event_id)
            continue
        record_hash = chain_hash(prev_hash, item.canonical)
        rows.append((next_seq, *item.columns, item.canonical, prev_hash, record_hash))
        stored[item.event_id] = next_seq
        seqs.append(next_seq)
        inserted.append(next_seq)
        prev_hash, next_seq = record_hash, next_seq + 1
    conn.executemany(_INSERT, rows)
    return Appended(seqs, inserted, duplicates)


def _stored_seqs(conn: sqlite3.Connection, event_ids: set[str]) -> dict[str, int]:
    """The seqs of those ``event_ids`` already stored (one query per chunk, not per record)."""
    ids = list(event_ids)
    found: dict[str, int] = {}
    step = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        found.update(
            conn.execute(
                "SELECT event_id, seq FROM audit_events WHERE event_id IN"
                f" ({', '.join('?' * len(chunk))})",
                chunk,
            )
        )
    return found


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(next seq, hash to chain after): the last row, else the last checkpoint, else genesis."""
    row = conn.execute(
        "SELECT seq, record_hash FROM audit_events ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if row:
        return row[0] + 1, row[1]
    last = checkpoints.latest(conn)
    if last:
        return last.seq_to + 1, last.head_hash
    return 1, GENESIS_HASH


class _Pending:
    """One submitted record waiting for its batch to commit."""

    __slots__ = ("cause", "done", "prepared", "seq")

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        # Looked up at call time, so under gevent monkey-patching this is a gevent Event.
        self.done = threading.Event()
        self.seq = 0
        self.cause: BaseException | None = None


_STOP = object()


def _call(fn: Callable[[], T]) -> T:
    return fn()


class GroupCommitter:
    """Commits records submitted by many concurrent callers in shared transactions.

    ``submit`` blocks until its record is durably committed and returns its seq (for an event id
    already stored, the seq it is stored under), or raises ``AuditWriteError``. One writer
    thread, started on first use, takes everything pending (up to ``max_batch``) and commits it
    at once; it survives failed commits. Under gevent monkey-patching (done before the committer
    is built) the thread, queue, lock and events are gevent's; pass ``run_blocking`` (e.g. ``lambda fn: hub.threadpool.apply(fn)``) to
    keep the SQLite commit and its fsync off the event loop.

    ``conn`` is used by the writer only and is left open by ``close``; like any SQLite
    connection it must be opened after a fork, so build the committer in each worker. Counters
    for /metrics: ``written``, ``duplicates``, ``failures`` (records not written), ``batches``
    (commits).
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        max_batch: int = MAX_BATCH,
        run_blocking: Callable[[Callable[[], Appended]], Appended] | None = None,
    ) -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._run_blocking = run_blocking or _call
        self._queue: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.written = 0
        self.duplicates = 0
        self.failures = 0
        self.batches = 0

    def submit(self, record: Mapping[str, Any]) -> int:
        """Commit ``record``; return its seq once it is durable."""
        return self.submit_many([record])[0]

    def submit_many(self, records: Sequence[Mapping[str, Any]]) -> list[int]:
        """Commit ``records`` (e.g. an uploaded spool); return their seqs, in order.

        They may be split across commits: on AuditWriteError some may be stored already, and
        submitting them all again is safe (stored event ids are skipped).
        """
        items = [_Pending(prepare(r)) for r in records]
        with self._lock:
            if self._closed:
                raise AuditWriteError("the audit writer is closed")
            # No is_alive() check here: under gevent it yields, and batches shrink to one record.
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="reins-audit-writer", daemon=True
                )
                self._thread.start()
            for item in items:
                self._queue.put(item)
        for item in items:
            item.done.wait()
        for item in items:
            if item.cause is not None:
                raise AuditWriteError(
                    f"the audit record was not written: {item.cause}"
                ) from item.cause
        return [item.seq for item in items]

    def close(self, timeout: float | None = None) -> None:
        """Commit everything already submitted, then stop the writer. Later submits fail."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            pending = [item for item in batch if item is not _STOP]
            if pending:
                self._commit(pending)
            if len(pending) < len(batch):
                return  # close() queues _STOP last, under the lock: nothing follows it

    def _commit(self, batch: list[_Pending]) -> None:
        prepared = [item.prepared for item in batch]
        try:
            result = self._run_blocking(lambda: _append_prepared(self._conn, prepared))
        except Exception as exc:  # isolation boundary: the writer must outlive any failure
            cause = exc.__cause__ if isinstance(exc, AuditWriteError) and exc.__cause__ else exc
            self.failures += len(batch)
            for item in batch:
                item.cause = cause
                item.done.set()
            return
        self.batches += 1
        self.written += len(result.inserted)
        self.duplicates += len(result.duplicates)
        for item, seq in zip(batch, result.seqs, strict=True):
            item.seq = seq
            item.done.set()
