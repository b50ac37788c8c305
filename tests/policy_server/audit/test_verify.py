"""``verify`` finds every kind of tampering someone with write access to the file can do."""

from __future__ import annotations

import json
import sqlite3

import pytest

from policy_server.audit.records import (
    GENESIS_HASH,
    ROW_COLUMNS,
    canonical_json,
    chain_hash,
    row_values,
)
from policy_server.audit.verify import VerifyResult, verify
from policy_server.audit.writer import append


@pytest.fixture
def log(conn: sqlite3.Connection, make_record, tamper) -> sqlite3.Connection:
    """Ten records, triggers dropped: the attacker's starting point."""
    append(conn, [make_record(i) for i in range(10)])
    tamper(conn)
    return conn


def row(conn: sqlite3.Connection, seq: int) -> tuple:
    return conn.execute(
        f"SELECT {', '.join(ROW_COLUMNS)} FROM audit_events WHERE seq = ?", (seq,)
    ).fetchone()


def put(conn: sqlite3.Connection, seq: int, values: tuple) -> None:
    marks = ", ".join("?" * (len(ROW_COLUMNS) + 1))
    conn.execute(
        f"INSERT OR REPLACE INTO audit_events (seq, {', '.join(ROW_COLUMNS)}) VALUES ({marks})",
        (seq, *values),
    )


def test_an_untouched_log_verifies(log: sqlite3.Connection) -> None:
    head = row(log, 10)[-1]
    assert verify(log) == VerifyResult(True, 10, head_seq=10, head_hash=head)


def test_an_empty_log_verifies(conn: sqlite3.Connection) -> None:
    assert verify(conn) == VerifyResult(True, 0, head_seq=0, head_hash=GENESIS_HASH)


def test_a_log_with_a_fresh_trigger_still_refuses_edits(conn, make_record) -> None:
    append(conn, [make_record(1)])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_events SET decision = 'allow'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_events")


def test_an_edited_column_is_named(log: sqlite3.Connection) -> None:
    log.execute("UPDATE audit_events SET decision = 'allow' WHERE seq = 4")
    result = verify(log)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 4, 3)
    assert "column decision is 'allow' but the record says 'ask'" in result.problem


def test_an_edited_list_column_is_caught(log: sqlite3.Connection) -> None:
    log.execute("""UPDATE audit_events SET rules = '["x"]' WHERE seq = 9""")
    assert (verify(log).first_bad_seq, "column rules" in verify(log).problem) == (9, True)


def test_edited_record_text_breaks_its_hash(log: sqlite3.Connection) -> None:
    record = json.loads(row(log, 6)[ROW_COLUMNS.index("record")])
    record["decision"] = record["enforced_decision"] = "allow"
    log.execute("UPDATE audit_events SET record = ? WHERE seq = 6", (canonical_json(record),))
    result = verify(log)
    assert result.first_bad_seq == 6 and "record_hash does not match" in result.problem


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(log: sqlite3.Connection) -> None:
    values = list(row(log, 6))
    record = json.loads(values[ROW_COLUMNS.index("record")])
    record["reason"] = "nothing to see"
    values[ROW_COLUMNS.index("reason")] = record["reason"]
    values[ROW_COLUMNS.index("record")] = canonical_json(record)
    values[-1] = chain_hash(values[-2], canonical_json(record))
    put(log, 6, tuple(values))
    result = verify(log)
    assert result.first_bad_seq == 7 and "record_hash of record 6" in result.problem


def test_a_deleted_record_is_named(log: sqlite3.Connection) -> None:
    log.execute("DELETE FROM audit_events WHERE seq = 5")
    result = verify(log)
    assert result.first_bad_seq == 5 and "record 5 is missing" in result.problem


def test_deleted_records_at_the_start_are_caught(log: sqlite3.Connection) -> None:
    log.execute("DELETE FROM audit_events WHERE seq <= 3")
    result = verify(log)
    assert result.first_bad_seq == 1 and "records 1..3 are missing" in result.problem


def test_an_inserted_record_is_caught(log: sqlite3.Connection, make_record) -> None:
    # Make room at seq 6 and forge a record that links correctly to record 5.
    for seq in range(10, 5, -1):
        put(log, seq + 1, row(log, seq))
        log.execute("DELETE FROM audit_events WHERE seq = ?", (seq,))
    forged = make_record(99, decision="allow")
    canonical = canonical_json(forged)
    prev = row(log, 5)[-1]
    put(log, 6, row_values(forged, canonical, prev, chain_hash(prev, canonical)))
    result = verify(log)
    assert result.first_bad_seq == 7 and "record_hash of record 6" in result.problem


def test_a_record_appended_by_hand_is_caught(log: sqlite3.Connection, make_record) -> None:
    forged = make_record(99)
    canonical = canonical_json(forged)
    put(log, 11, row_values(forged, canonical, "sha256:" + "1" * 64, "sha256:" + "2" * 64))
    assert verify(log).first_bad_seq == 11


def test_swapped_records_are_caught_at_the_first(log: sqlite3.Connection) -> None:
    four, five = row(log, 4), row(log, 5)
    put(log, 4, five)
    put(log, 5, four)
    result = verify(log)
    assert result.first_bad_seq == 4 and "prev_hash does not match" in result.problem


def test_a_record_below_the_first_seq_is_caught(log: sqlite3.Connection) -> None:
    put(log, 0, row(log, 1))
    assert verify(log).first_bad_seq == 0


def test_since_seq_checks_only_the_tail(log: sqlite3.Connection) -> None:
    assert verify(log, since_seq=8) == VerifyResult(
        True, 3, head_seq=10, head_hash=row(log, 10)[-1]
    )
    log.execute("UPDATE audit_events SET user = 'mallory' WHERE seq = 3")
    assert verify(log, since_seq=8).ok  # the edit is before the tail
    assert verify(log).first_bad_seq == 3
    log.execute("UPDATE audit_events SET user = 'mallory' WHERE seq = 9")
    assert verify(log, since_seq=8).first_bad_seq == 9


def test_a_noted_head_catches_records_cut_from_the_end(log: sqlite3.Connection) -> None:
    head = verify(log)
    log.execute("DELETE FROM audit_events WHERE seq >= 9")
    assert verify(log).ok  # the chain alone cannot tell
    result = verify(log, expect_head=(head.head_seq, head.head_hash))
    assert not result.ok and result.first_bad_seq == 9
    assert "cut from the end" in result.problem


def test_a_noted_head_catches_a_rewritten_tail(log: sqlite3.Connection, make_record) -> None:
    noted = (7, row(log, 7)[-1])
    log.execute("DELETE FROM audit_events WHERE seq >= 5")
    append(log, [make_record(100 + i) for i in range(6)])  # a fresh, valid chain from seq 5 on
    assert verify(log).ok
    result = verify(log, expect_head=noted)
    assert not result.ok and result.first_bad_seq == 7 and "rewritten" in result.problem


def test_a_noted_head_inside_the_log_passes(log: sqlite3.Connection) -> None:
    assert verify(log, expect_head=(4, row(log, 4)[-1])).ok
