"""Signed checkpoints: the only record of audit rows that retention deleted.

A checkpoint says "rows ``seq_from``..``seq_to`` existed and the last of them had hash
``head_hash``". Checkpoints chain through ``prev_sig`` and are signed with Ed25519: the private
key (derived from the audit key, which stays with the server's operator) signs, and anyone holding
only the public key can verify, so an auditor can check checkpoints without being able to forge
one. The signature covers every field a verifier relies on (the range, the head hash, the
previous signature, the reason and the time).
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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


def _private(key: bytes) -> Ed25519PrivateKey:
    # The audit key may be any length (>= 16 bytes); its SHA-256 is the Ed25519 seed.
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(key).digest())


def public_key(key: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of the audit key: what auditors verify with."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _private(key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: bytes) -> str:
    """A public name for a public key (first 8 hex of its SHA-256), to tell keys apart."""
    return hashlib.sha256(public).hexdigest()[:8]


def _message(
    seq_from: int, seq_to: int, head_hash: str, prev_sig: str, reason: str, created_us: int
) -> bytes:
    fields = {
        "seq_from": seq_from,
        "seq_to": seq_to,
        "head_hash": head_hash,
        "prev_sig": prev_sig,
        "reason": reason,
        "created_us": created_us,
    }
    return canonical_json(fields).encode()


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
    """``ed25519:<hex>`` over the canonical JSON of the checkpoint's fields."""
    message = _message(seq_from, seq_to, head_hash, prev_sig, reason, created_us)
    return "ed25519:" + _private(key).sign(message).hex()


def signature_ok(checkpoint: Checkpoint, public: bytes) -> bool:
    """True when ``public`` (raw Ed25519 public key) verifies the checkpoint's signature."""
    scheme, _, signature = checkpoint.sig.partition(":")
    if scheme != "ed25519":
        return False
    message = _message(
        checkpoint.seq_from,
        checkpoint.seq_to,
        checkpoint.head_hash,
        checkpoint.prev_sig,
        checkpoint.reason,
        checkpoint.created_us,
    )
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


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
