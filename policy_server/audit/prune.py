"""Retention: delete the oldest audit rows, leaving a signed checkpoint in their place.

The only path that may delete audit rows. In one transaction it signs a checkpoint for the
range, inserts the permit the delete trigger looks for, deletes the range, withdraws the
permit, and appends a ``retention.prune`` record to the chain, so the prune itself is audited.
``verify`` then starts from the checkpoint's ``head_hash`` instead of the genesis hash.

It refuses to prune rows younger than the retention floor (180 days: EU AI Act Arts 19 and
26(6) ask for at least six months) unless forced, and refuses to prune a chain that does not
verify: signing over a broken range would launder the evidence of tampering.

Rows go by ``received_us`` (the server's clock), not the event time a client reported, and only
as a prefix of the chain: a prune never leaves a hole in the middle. A large prune runs as
several such transactions, each with its own checkpoint.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass

from policy_server.engine.evaluator import Decision
from policy_server.engine.events import Event

from . import checkpoints
from .records import build_record
from .times import iso_time
from .verify import verify
from .writer import insert, prepare, transaction

DAY_US = 86_400_000_000
FLOOR_DAYS = 180
CHUNK_ROWS = 50_000
PRUNE_EVENT = "retention.prune"


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed: seqs ``seq_from``..``seq_to``, behind checkpoints up to
    ``checkpoint_id``. All None when there was nothing to prune."""

    deleted: int
    seq_from: int | None = None
    seq_to: int | None = None
    checkpoint_id: int | None = None
    audit_seq: int | None = None  # the retention.prune record


def prune(
    conn: sqlite3.Connection,
    before_us: int,
    *,
    key: bytes,
    floor_days: int = FLOOR_DAYS,
    force: bool = False,
    now_us: int,
    user: str = "",
    chunk_rows: int = CHUNK_ROWS,
) -> PruneResult:
    """Delete the rows received before ``before_us``; ValueError (saying how to proceed) when
    that would cut into the retention floor without ``force`` or the chain is broken.

    At most ``chunk_rows`` rows go per transaction, each with its own checkpoint and audit
    record: the write lock is held for a second, not for minutes, so a first prune of a year
    of records does not make every hook's audit write wait past its busy timeout.
    """
    if not key:
        raise ValueError("an audit key is needed to sign the prune checkpoint")
    floor_us = now_us - floor_days * DAY_US
    if before_us > floor_us and not force:
        raise ValueError(
            f"refusing to prune records received after {iso_time(floor_us)}: audit records are "
            f"kept at least {floor_days} days. Choose an earlier --before, or pass --force "
            "(the prune is itself recorded in the audit log)"
        )
    checked = verify(conn, key=key)
    if not checked.ok:
        raise ValueError(
            f"the audit chain is broken at seq {checked.first_bad_seq} ({checked.problem}); "
            "pruning would destroy the evidence. Investigate with `reins audit verify` first"
        )
    # Never past now: the prune's own records (received now) must not become prunable.
    before_us = min(before_us, now_us)
    note = f", inside the {floor_days}-day floor (forced)" if before_us > floor_us else ""
    total = PruneResult(0)
    while step := _prune_chunk(conn, before_us, key, now_us, user, chunk_rows, note):
        total = PruneResult(
            total.deleted + step.deleted,
            total.seq_from or step.seq_from,
            step.seq_to,
            step.checkpoint_id,
            step.audit_seq,
        )
    return total


def _prune_chunk(
    conn: sqlite3.Connection,
    before_us: int,
    key: bytes,
    now_us: int,
    user: str,
    chunk_rows: int,
    note: str,
) -> PruneResult | None:
    """One transaction: checkpoint, permit, delete, withdraw the permit, audit. None when done."""
    with transaction(conn):
        span = _prunable(conn, before_us, chunk_rows)
        if span is None:
            return None
        seq_from, seq_to = span
        reason = (
            f"retention: pruned records {seq_from}..{seq_to} received before "
            f"{iso_time(before_us)}{note}"
        )
        checkpoint_id = _write_checkpoint(conn, key, seq_from, seq_to, reason, now_us)
        conn.execute("INSERT INTO audit_prune_permit (checkpoint_id) VALUES (?)", (checkpoint_id,))
        deleted = conn.execute(
            "DELETE FROM audit_events WHERE seq BETWEEN ? AND ?", (seq_from, seq_to)
        ).rowcount
        conn.execute("DELETE FROM audit_prune_permit")
        audit_seq = insert(conn, [prepare(_prune_record(reason, now_us, user))]).seqs[0]
    return PruneResult(deleted, seq_from, seq_to, checkpoint_id, audit_seq)


def _prunable(conn: sqlite3.Connection, before_us: int, chunk_rows: int) -> tuple[int, int] | None:
    """(first, last) seq of the chain prefix received before ``before_us`` (at most
    ``chunk_rows`` of it), or None."""
    first, last = conn.execute("SELECT MIN(seq), MAX(seq) FROM audit_events").fetchone()
    if first is None:
        return None
    keep = conn.execute(
        "SELECT seq FROM audit_events WHERE received_us >= ? ORDER BY seq LIMIT 1", (before_us,)
    ).fetchone()
    seq_to = min(keep[0] - 1 if keep else last, first + chunk_rows - 1)
    return (first, seq_to) if seq_to >= first else None


def _write_checkpoint(
    conn: sqlite3.Connection, key: bytes, seq_from: int, seq_to: int, reason: str, now_us: int
) -> int:
    (head_hash,) = conn.execute(
        "SELECT record_hash FROM audit_events WHERE seq = ?", (seq_to,)
    ).fetchone()
    last = checkpoints.latest(conn)
    prev_sig = last.sig if last else ""
    sig = checkpoints.sign(
        key,
        seq_from=seq_from,
        seq_to=seq_to,
        head_hash=head_hash,
        prev_sig=prev_sig,
        reason=reason,
        created_us=now_us,
    )
    key_name = checkpoints.key_id(checkpoints.public_key(key))
    cursor = conn.execute(
        "INSERT INTO audit_checkpoints"
        " (seq_from, seq_to, head_hash, prev_sig, sig, key_id, reason, created_us)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq_from, seq_to, head_hash, prev_sig, sig, key_name, reason, now_us),
    )
    return int(cursor.lastrowid or 0)


def _prune_record(reason: str, now_us: int, user: str) -> dict[str, object]:
    event = Event(harness="reins", event=PRUNE_EVENT, user=user)
    return build_record(
        event,
        Decision("allow", reason),
        enforced="allow",
        event_id=str(uuid.uuid4()),
        decision_id=str(uuid.uuid4()),
        time_us=now_us,
        received_us=now_us,
        eval_us=0,
    )
