"""Retention: old rows go only behind a signed checkpoint, and the chain still verifies."""

from __future__ import annotations

import json
import sqlite3

import pytest

from policy_server.audit import checkpoints
from policy_server.audit.prune import DAY_US, prune
from policy_server.audit.records import ROW_COLUMNS
from policy_server.audit.verify import verify
from policy_server.audit.writer import append

T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in µs

KEY = b"k" * 32
NOW = T0 + 400 * DAY_US  # the log below spans days 0..9, long past the 180-day floor


@pytest.fixture
def log(conn: sqlite3.Connection, make_record) -> sqlite3.Connection:
    """Ten records received one day apart."""
    append(conn, [make_record(i, received_us=T0 + i * DAY_US) for i in range(10)])
    return conn


def seqs(conn: sqlite3.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT seq FROM audit_events ORDER BY seq")]


def test_prune_refuses_the_retention_floor_without_force(log: sqlite3.Connection) -> None:
    recent = T0 + 5 * DAY_US
    with pytest.raises(ValueError, match=r"at least 180 days.*--force"):
        prune(log, recent, key=KEY, now_us=recent + 10 * DAY_US)
    assert len(seqs(log)) == 10
    result = prune(log, recent, key=KEY, now_us=recent + 10 * DAY_US, force=True)
    assert result.deleted == 5
    reason = json.loads(log.execute("SELECT record FROM audit_events WHERE seq = 11").fetchone()[0])
    assert "forced" in reason["reason"]


def test_prune_writes_a_checkpoint_and_an_audit_record(log: sqlite3.Connection) -> None:
    head4 = log.execute("SELECT record_hash FROM audit_events WHERE seq = 4").fetchone()[0]
    result = prune(log, T0 + 4 * DAY_US, key=KEY, now_us=NOW, user="ops")
    assert (result.deleted, result.seq_from, result.seq_to, result.audit_seq) == (4, 1, 4, 11)
    [cp] = checkpoints.load(log)
    assert (cp.seq_from, cp.seq_to, cp.head_hash, cp.prev_sig) == (1, 4, head4, "")
    public = checkpoints.public_key(KEY)
    assert cp.key_id == checkpoints.key_id(public) and cp.sig.startswith("ed25519:")
    assert verify(log, public_key=public).ok  # the public key alone verifies it
    assert seqs(log) == [5, 6, 7, 8, 9, 10, 11]
    assert log.execute("SELECT COUNT(*) FROM audit_prune_permit").fetchone()[0] == 0
    last = log.execute(
        "SELECT hook_event, harness, decision, user, reason FROM audit_events WHERE seq = 11"
    ).fetchone()
    assert last[:4] == ("retention.prune", "reins", "allow", "ops")
    assert "1..4" in last[4]


def test_the_chain_verifies_after_prunes(log: sqlite3.Connection, make_record) -> None:
    prune(log, T0 + 3 * DAY_US, key=KEY, now_us=NOW)
    assert verify(log, key=KEY).ok
    first = log.execute("SELECT prev_hash FROM audit_events WHERE seq = 4").fetchone()[0]
    assert first == checkpoints.latest(log).head_hash
    prune(log, T0 + 6 * DAY_US, key=KEY, now_us=NOW)
    first, second = checkpoints.load(log)
    assert (second.seq_from, second.seq_to, second.prev_sig) == (4, 6, first.sig)
    append(log, [make_record(50)])
    result = verify(log, key=KEY)
    assert result.ok and result.checked == len(seqs(log))


def test_pruning_everything_keeps_counting(log: sqlite3.Connection, make_record) -> None:
    result = prune(log, NOW, key=KEY, now_us=NOW, force=True)
    assert (result.deleted, result.audit_seq) == (10, 11)
    assert append(log, [make_record(99)]) == [12]
    assert verify(log, key=KEY).ok


def test_nothing_to_prune_writes_nothing(log: sqlite3.Connection) -> None:
    assert prune(log, T0, key=KEY, now_us=NOW).deleted == 0
    assert checkpoints.load(log) == [] and len(seqs(log)) == 10


def test_a_forged_checkpoint_is_caught_with_the_key(log: sqlite3.Connection, tamper) -> None:
    prune(log, T0 + 4 * DAY_US, key=KEY, now_us=NOW)
    tamper(log)
    log.execute("UPDATE audit_checkpoints SET reason = 'routine'")
    assert verify(log).ok  # without the key the edit is invisible
    result = verify(log, key=KEY)
    assert (result.ok, result.first_bad_seq) == (False, 1)
    assert "bad signature" in result.problem


def test_a_checkpoint_made_with_another_key_is_caught(log: sqlite3.Connection) -> None:
    prune(log, T0 + 4 * DAY_US, key=b"x" * 32, now_us=NOW)
    assert "not with the given key" in verify(log, key=KEY).problem


def test_deleting_rows_and_covering_them_needs_the_key(log: sqlite3.Connection, tamper) -> None:
    tamper(log)
    head = log.execute("SELECT record_hash FROM audit_events WHERE seq = 3").fetchone()[0]
    log.execute("DELETE FROM audit_events WHERE seq <= 3")
    log.execute(
        "INSERT INTO audit_checkpoints (seq_from, seq_to, head_hash, prev_sig, sig, key_id,"
        " reason, created_us) VALUES (1, 3, ?, '', ?, ?, 'routine', 0)",
        (head, "ed25519:" + "00" * 64, checkpoints.key_id(checkpoints.public_key(KEY))),
    )
    assert verify(log).ok  # structurally a prune...
    assert "bad signature" in verify(log, key=KEY).problem  # ...but not one we signed


def test_a_row_put_back_into_a_pruned_range_is_caught(log: sqlite3.Connection, tamper) -> None:
    row = log.execute(f"SELECT {', '.join(ROW_COLUMNS)} FROM audit_events WHERE seq = 2").fetchone()
    prune(log, T0 + 4 * DAY_US, key=KEY, now_us=NOW)
    tamper(log)
    marks = ", ".join("?" * (len(ROW_COLUMNS) + 1))
    log.execute(
        f"INSERT INTO audit_events (seq, {', '.join(ROW_COLUMNS)}) VALUES ({marks})", (2, *row)
    )
    result = verify(log, key=KEY)
    assert result.first_bad_seq == 2 and "pruned by checkpoint 1" in result.problem


def test_prune_refuses_a_broken_chain(log: sqlite3.Connection, tamper) -> None:
    tamper(log)
    log.execute("DELETE FROM audit_events WHERE seq = 2")
    with pytest.raises(ValueError, match="broken at seq 2"):
        prune(log, T0 + 4 * DAY_US, key=KEY, now_us=NOW)
    assert checkpoints.load(log) == []


def test_rows_are_pruned_by_arrival_as_a_prefix(conn: sqlite3.Connection, make_record) -> None:
    # Record 3 arrived late: it stops the prune, or the chain would get a hole.
    received = [0, 1, 9, 2, 3]
    append(conn, [make_record(i, received_us=T0 + d * DAY_US) for i, d in enumerate(received)])
    assert prune(conn, T0 + 5 * DAY_US, key=KEY, now_us=NOW).seq_to == 2
    assert verify(conn, key=KEY).ok


def test_a_large_prune_goes_in_chunks(log: sqlite3.Connection) -> None:
    result = prune(log, T0 + 100 * DAY_US, key=KEY, now_us=NOW, chunk_rows=3)
    assert (result.deleted, result.seq_from, result.seq_to, result.checkpoint_id) == (10, 1, 10, 4)
    spans = [(cp.seq_from, cp.seq_to) for cp in checkpoints.load(log)]
    # Each chunk's own retention.prune record (11, 12, …) is newer than `before`: it stays.
    assert spans == [(1, 3), (4, 6), (7, 9), (10, 10)]
    assert seqs(log) == [11, 12, 13, 14]
    assert verify(log, key=KEY).ok


def test_the_public_key_verifies_but_cannot_sign(log: sqlite3.Connection, tamper) -> None:
    # An auditor holds the public key only: it checks every checkpoint, and a checkpoint made
    # with any other key (as anyone without the audit key would have to) fails.
    prune(log, T0 + 4 * DAY_US, key=KEY, now_us=NOW)
    public = checkpoints.public_key(KEY)
    assert verify(log, public_key=public).ok
    tamper(log)  # someone with file access, who can drop the append-only triggers
    log.execute(
        "UPDATE audit_checkpoints SET sig = ? WHERE id = 1",
        (
            checkpoints.sign(
                b"forger" * 6,
                seq_from=1,
                seq_to=4,
                head_hash=checkpoints.load(log)[0].head_hash,
                prev_sig="",
                reason="x",
                created_us=NOW,
            ),
        ),
    )
    assert "bad signature" in verify(log, public_key=public).problem
