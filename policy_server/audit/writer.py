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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

from . import checkpoints
from .handoff import Handoff, default_handoff
from .records import (
    GENESIS_HASH,
    ROW_COLUMNS,
    canonical_json,
    chain_hash,
    column_values,
    has_lone_surrogates,
    without_lone_surrogates,
)

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


class GroupCommitter:
    """Commits records submitted by many concurrent callers in shared transactions.

    ``submit`` blocks until its record is durably committed and returns its seq (for an event id
    already stored, the seq it is stored under), or raises ``AuditWriteError``. One writer
    thread, started on first use, takes everything pending (up to ``max_batch``) and commits it
    at once; it survives failed commits. ``handoff`` says what that thread is and how it wakes
    the waiters (``audit.handoff``: by default a native OS thread waking gevent's loop when the
    process is monkey-patched, else a plain thread), so the commit and its fsync never block
    the serving of other requests.

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
        handoff: Handoff | None = None,
    ) -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._handoff = handoff or default_handoff()
        self._queue: Any = self._handoff.new_queue()
        self._lock = threading.Lock()
        self._started = False
        self._stopped = threading.Event()
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
            if not self._started:
                self._started = True
                self._handoff.start_thread(self._run)
            self._handoff.expect(len(items))
            self._queue.put(items)
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
            if not self._started:
                return
            self._handoff.expect(1)  # close() waits for the writer like a submitter
            self._queue.put([_STOP])
        self._stopped.wait(timeout)

    def _run(self) -> None:
        while True:
            batch = list(self._queue.get())  # the queue carries lists of items
            while len(batch) < self._max_batch:
                try:
                    batch += self._queue.get_nowait()
                except queue.Empty:
                    break
            pending = [item for item in batch if item is not _STOP]
            if pending:
                self._commit(pending)
                self._handoff.deliver(partial(_release, pending), len(pending))
            if len(pending) < len(batch):
                # close() queues _STOP last, under the lock: nothing follows it
                self._handoff.deliver(self._stopped.set, 1)
                return

    def _commit(self, batch: list[_Pending]) -> None:
        prepared = [item.prepared for item in batch]
        try:
            result = _append_prepared(self._conn, prepared)
        except Exception as exc:  # isolation boundary: the writer must outlive any failure
            cause = exc.__cause__ if isinstance(exc, AuditWriteError) and exc.__cause__ else exc
            self.failures += len(batch)
            for item in batch:
                item.cause = cause
            return
        self.batches += 1
        self.written += len(result.inserted)
        self.duplicates += len(result.duplicates)
        for item, seq in zip(batch, result.seqs, strict=True):
            item.seq = seq


def _release(batch: list[_Pending]) -> None:
    """Wake the waiters of a finished batch (``handoff.deliver`` runs this where they wait)."""
    for item in batch:
        item.done.set()
