"""Walk the audit chain and name the first row that is not what the writer wrote.

Per row, in seq order: the seq follows the previous one (or the last checkpoint's range), the
stored ``prev_hash`` is the previous row's ``record_hash`` (or the checkpoint's ``head_hash``),
the stored ``record_hash`` is the hash recomputed from the record text, and every indexed
column equals the field inside the record. That catches an edited record, an edited column
(someone with file access can drop the append-only triggers), a deleted, inserted or moved
row, and rows deleted without a checkpoint. Checkpoints must tile the pruned range and chain
by ``prev_sig``; with the audit public key their Ed25519 signatures are checked too.

What a chain alone cannot show: rows cut from the *end*, or a chain rebuilt from some row on by
someone who recomputes every later hash. ``verify`` reports the head (last seq and hash); keep
it somewhere the store's owner cannot edit (a ticket, a chat message, a WORM bucket), and a
later ``verify(expect_head=(seq, hash))`` proves the log still holds that exact record.

Reads run in one snapshot, row by row: memory stays constant however long the log is.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import checkpoints
from .checkpoints import Checkpoint
from .records import COLUMNS, GENESIS_HASH, ROW_COLUMNS, chain_hash, column_values

_SELECT = f"SELECT seq, {', '.join(ROW_COLUMNS)} FROM audit_events WHERE seq >= ? ORDER BY seq"


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    head_seq: int = 0  # the last record's seq and hash (0 and "" for an empty log)
    head_hash: str = ""


@dataclass
class _Expected:
    """What the next row must look like."""

    seq: int
    prev_hash: str
    after: str  # what prev_hash should link to, for messages


def verify(
    conn: sqlite3.Connection,
    *,
    since_seq: int | None = None,
    key: bytes | None = None,
    public_key: bytes | None = None,
    expect_head: tuple[int, str] | None = None,
) -> VerifyResult:
    """Check the chain (from ``since_seq`` on, trusting the row before it). With ``public_key``
    (or the audit ``key`` it derives from), also check every checkpoint's signature. With ``expect_head`` (a seq and record hash noted
    earlier), also check that the log still holds that record: rows cut from the end or a
    rewritten tail fail here."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")  # one snapshot: a concurrent append or prune cannot tear the walk
    try:
        cps = checkpoints.load(conn)
        if public_key is None and key is not None:
            public_key = checkpoints.public_key(key)
        bad = _check_checkpoints(cps, public_key)
        if bad is not None:
            return bad
        expected, from_seq = _start(conn, cps, since_seq)
        result = _walk(conn, expected, from_seq, cps)
        if result.ok and expect_head is not None:
            return _check_anchor(conn, cps, result, *expect_head)
        return result
    finally:
        if own and conn.in_transaction:
            conn.execute("COMMIT")


def _walk(
    conn: sqlite3.Connection, expected: _Expected, from_seq: int, cps: list[Checkpoint]
) -> VerifyResult:
    checked = 0
    cursor = conn.execute(_SELECT, (from_seq,))
    try:
        for row in cursor:
            problem = _check_row(row, expected, cps)
            if problem is not None:
                return VerifyResult(False, checked, *problem)
            checked += 1
            expected = _Expected(row[0] + 1, row[-1], f"the record_hash of record {row[0]}")
    finally:
        cursor.close()
    return VerifyResult(True, checked, head_seq=expected.seq - 1, head_hash=expected.prev_hash)


def _check_anchor(
    conn: sqlite3.Connection, cps: list[Checkpoint], result: VerifyResult, seq: int, hash_: str
) -> VerifyResult:
    """``result`` if the verified log holds record ``seq`` with hash ``hash_``, else why not."""
    if seq > result.head_seq:
        problem = (
            f"the log ends at record {result.head_seq}, but record {seq} was noted before: "
            "records were cut from the end"
        )
        return replace(result, ok=False, first_bad_seq=result.head_seq + 1, problem=problem)
    row = conn.execute("SELECT record_hash FROM audit_events WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        cp = next((c for c in cps if c.seq_from <= seq <= c.seq_to), None)
        if cp is not None and cp.seq_to == seq:
            row = (cp.head_hash,)
        else:
            problem = f"record {seq} was pruned; note a head newer than the last prune"
            return replace(result, ok=False, first_bad_seq=seq, problem=problem)
    if row[0] != hash_:
        problem = (
            f"record {seq} has hash {row[0]}, not the {hash_} noted before: the chain was "
            "rewritten from there or earlier"
        )
        return replace(result, ok=False, first_bad_seq=seq, problem=problem)
    return result


def _start(
    conn: sqlite3.Connection, cps: list[Checkpoint], since_seq: int | None
) -> tuple[_Expected, int]:
    """What the first row read must be, and the seq to read from.

    A full walk reads from the very first stored row, so a row put back into a pruned range
    (or below seq 1) is caught rather than skipped.
    """
    if cps:
        last = cps[-1]
        start = _Expected(last.seq_to + 1, last.head_hash, f"the head_hash of checkpoint {last.id}")
    else:
        start = _Expected(1, GENESIS_HASH, "the genesis hash")
    if since_seq is not None:
        row = conn.execute(
            "SELECT seq, record_hash FROM audit_events WHERE seq < ? ORDER BY seq DESC LIMIT 1",
            (since_seq,),
        ).fetchone()
        if row and row[0] >= start.seq:
            return _Expected(row[0] + 1, row[1], f"the record_hash of record {row[0]}"), row[0] + 1
    return start, -(2**63)


def _check_row(
    row: Sequence[Any], expected: _Expected, cps: list[Checkpoint]
) -> tuple[int, str] | None:
    """(seq, problem) for the first thing wrong with ``row``, else None."""
    seq = row[0]
    record, prev_hash, record_hash = row[-3:]
    if seq < expected.seq:
        pruned = next((c for c in cps if c.seq_from <= seq <= c.seq_to), None)
        if pruned is None:
            return (
                seq,
                f"record {seq} comes before the first record ({expected.seq}): it was inserted",
            )
        where = f"{pruned.seq_from}..{pruned.seq_to}, pruned by checkpoint {pruned.id}"
        return seq, f"record {seq} lies in {where}: it was put back"
    if seq > expected.seq:
        if seq == expected.seq + 1:
            return expected.seq, f"record {expected.seq} is missing (deleted without a checkpoint)"
        return expected.seq, (
            f"records {expected.seq}..{seq - 1} are missing (deleted without a checkpoint)"
        )
    if prev_hash != expected.prev_hash:
        return seq, (
            f"prev_hash does not match {expected.after}: a record was deleted, inserted or "
            "moved here"
        )
    if chain_hash(prev_hash, record) != record_hash:
        return seq, "record_hash does not match the record text: the record was edited"
    return _check_columns(seq, record, row[1 : 1 + len(COLUMNS)])


def _check_columns(seq: int, record: str, stored: Sequence[Any]) -> tuple[int, str] | None:
    try:
        values = column_values(json.loads(record))
    except (ValueError, TypeError) as exc:
        return seq, f"the record cannot be read ({exc})"
    if tuple(stored) == values:
        return None
    name, have, want = next(
        (n, s, v) for n, s, v in zip(COLUMNS, stored, values, strict=True) if s != v
    )
    return seq, f"column {name} is {have!r} but the record says {want!r}: the column was edited"


def _check_checkpoints(cps: list[Checkpoint], public: bytes | None) -> VerifyResult | None:
    """Checkpoints must cover 1..N without gaps or overlaps and chain by signature."""
    key_name = checkpoints.key_id(public) if public is not None else ""
    seq_to, sig = 0, ""
    for cp in cps:
        problem = ""
        if cp.seq_from != seq_to + 1 or cp.seq_to < cp.seq_from:
            problem = f"covers {cp.seq_from}..{cp.seq_to} but must start at {seq_to + 1}"
        elif cp.prev_sig != sig:
            problem = "does not link to the checkpoint before it (prev_sig)"
        elif public is not None and cp.key_id != key_name:
            problem = f"was signed with key {cp.key_id}, not with the given key {key_name}"
        elif public is not None and not checkpoints.signature_ok(cp, public):
            problem = "has a bad signature: it was forged or edited"
        if problem:
            return VerifyResult(False, 0, cp.seq_from, f"checkpoint {cp.id} {problem}")
        seq_to, sig = cp.seq_to, cp.sig
    return None
