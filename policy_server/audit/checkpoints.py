"""Signed checkpoints: the only record of audit rows that retention deleted.

A checkpoint says "rows ``seq_from``..``seq_to`` existed and the last of them had hash
``head_hash``". Checkpoints chain through ``prev_sig`` and are signed with HMAC-SHA256 under the
audit key, so without the key nobody can delete rows and cover the gap with a checkpoint of
their own. The signature covers every field a verifier relies on (the range, the head hash,
the previous signature, the reason and the time).
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from dataclasses import dataclass

from .records import canonical_json


@dataclass(frozen=True)
class Checkpoint:
    id: int
    seq_from: int
    seq_to: int
    head_hash: str
    prev_sig: str
    sig: str
    key_id: str
    reason: str
    created_us: int


def key_id(key: bytes) -> str:
    """A public name for the key (first 8 hex of its SHA-256), to tell keys apart."""
    return hashlib.sha256(key).hexdigest()[:8]


def sign(
    key: bytes,
    *,
    seq_from: int,
    seq_to: int,
    head_hash: str,
    prev_sig: str,
    reason: str,
    created_us: int,
) -> str:
    """``hmac-sha256:<hex>`` over the canonical JSON of the checkpoint's fields."""
    fields = {
        "seq_from": seq_from,
        "seq_to": seq_to,
        "head_hash": head_hash,
        "prev_sig": prev_sig,
        "reason": reason,
        "created_us": created_us,
    }
    digest = hmac.new(key, canonical_json(fields).encode(), hashlib.sha256).hexdigest()
    return "hmac-sha256:" + digest


def signature_ok(checkpoint: Checkpoint, key: bytes) -> bool:
    expected = sign(
        key,
        seq_from=checkpoint.seq_from,
        seq_to=checkpoint.seq_to,
        head_hash=checkpoint.head_hash,
        prev_sig=checkpoint.prev_sig,
        reason=checkpoint.reason,
        created_us=checkpoint.created_us,
    )
    return hmac.compare_digest(expected, checkpoint.sig)


def load(conn: sqlite3.Connection) -> list[Checkpoint]:
    """Every checkpoint, oldest first (one per prune: few, so a list is fine)."""
    rows = conn.execute(
        "SELECT id, seq_from, seq_to, head_hash, prev_sig, sig, key_id, reason, created_us"
        " FROM audit_checkpoints ORDER BY id"
    )
    return [Checkpoint(*row) for row in rows]


def latest(conn: sqlite3.Connection) -> Checkpoint | None:
    row = conn.execute(
        "SELECT id, seq_from, seq_to, head_hash, prev_sig, sig, key_id, reason, created_us"
        " FROM audit_checkpoints ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return Checkpoint(*row) if row else None
