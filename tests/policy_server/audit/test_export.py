"""Exports: each format's shape, offline verification of jsonl, filters, streaming, times."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from typing import Any

import pytest

from policy_server.audit.export import CSV_COLUMNS, export, parse_time
from policy_server.audit.records import GENESIS_HASH, canonical_json, chain_hash
from policy_server.audit.writer import append

T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in µs

DAY = 86_400_000_000


def exported(conn: sqlite3.Connection, fmt: str, **filters: Any) -> tuple[int, str]:
    out = io.StringIO()
    count = export(conn, fmt, out, **filters)
    return count, out.getvalue()


@pytest.fixture
def mixed(conn: sqlite3.Connection, make_record) -> sqlite3.Connection:
    """Six records: two agents, three decisions, several tools, one day apart."""
    specs = [
        {"tool": "Read", "target": "/etc/hosts", "decision": "allow", "enforced_decision": "allow"},
        {"tool": "Write", "target": "=cmd|' /C calc'!A0", "agent": "bot"},
        {"tool": "Bash", "target": "rm -rf build", "programs": ["rm"], "decision": "deny"},
        {"tool": "Bash", "target": "ls", "programs": ["ls"], "agent": "bot", "rules": ["a", "b"]},
        {"tool": "mcp__db__drop_table", "target": "mcp__db__drop_table", "decision": "deny"},
        {
            "tool": "",
            "hook_event": "SessionStart",
            "decision": "allow",
            "enforced_decision": "allow",
        },
    ]
    append(conn, [make_record(i, time_us=T0 + i * DAY, **spec) for i, spec in enumerate(specs)])
    return conn


def test_jsonl_lines_verify_offline(mixed: sqlite3.Connection) -> None:
    count, text = exported(mixed, "jsonl")
    lines = [json.loads(line) for line in text.splitlines()]
    assert count == len(lines) == 6
    prev = GENESIS_HASH
    for seq, line in enumerate(lines, start=1):
        assert (line.pop("seq"), line.pop("prev_hash")) == (seq, prev)
        record_hash = line.pop("record_hash")
        assert chain_hash(prev, canonical_json(line)) == record_hash
        prev = record_hash


def test_jsonl_carries_the_stored_record_unchanged(mixed: sqlite3.Connection) -> None:
    _, text = exported(mixed, "jsonl")
    stored = mixed.execute("SELECT record FROM audit_events WHERE seq = 1").fetchone()[0]
    first = json.loads(text.splitlines()[0])
    for key in ("seq", "prev_hash", "record_hash"):
        del first[key]
    assert canonical_json(first) == stored


def test_csv_has_fixed_columns_and_readable_cells(mixed: sqlite3.Connection) -> None:
    count, text = exported(mixed, "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert count == len(rows) == 6
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert rows[0]["time"] == "2026-01-01T00:00:00.000000Z"
    assert rows[3]["rules"] == "a b"
    assert (rows[0]["degraded"], rows[0]["eval_us"]) == ("false", "120")
    assert rows[0]["record_hash"].startswith("sha256:")


def test_csv_defuses_spreadsheet_formulas(mixed: sqlite3.Connection) -> None:
    _, text = exported(mixed, "csv")
    assert list(csv.DictReader(io.StringIO(text)))[1]["target"] == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("index", "activity", "status"),
    [(0, 2, 1), (1, 3, 2), (2, 4, 2), (3, 99, 2), (4, 4, 2), (5, 99, 1)],
    ids=["read", "write", "rm", "ls", "mcp-drop", "session-start"],
)
def test_ocsf_is_api_activity(
    mixed: sqlite3.Connection, index: int, activity: int, status: int
) -> None:
    _, text = exported(mixed, "ocsf")
    event = json.loads(text.splitlines()[index])
    assert (event["class_uid"], event["category_uid"]) == (6003, 6)
    assert (event["activity_id"], event["type_uid"]) == (activity, 600300 + activity)
    assert event["status_id"] == status
    assert event["metadata"]["version"] == "1.6.0"
    assert event["time"] == (T0 + index * DAY) // 1000


def test_ocsf_maps_identity_and_keeps_the_rest_unmapped(mixed: sqlite3.Connection) -> None:
    _, text = exported(mixed, "ocsf")
    event = json.loads(text.splitlines()[2])
    assert event["actor"]["user"]["name"] == "dana"
    assert event["actor"]["process"]["cmd_line"] == "rm -rf build"
    assert event["api"]["operation"] == "Bash"
    assert event["resources"] == [{"name": "rm -rf build"}]
    assert event["metadata"]["uid"].startswith("evt-00000002")
    assert event["unmapped"]["agent"] == "nightly-deps"
    assert event["unmapped"]["seq"] == 3
    assert "input_redacted" in event["unmapped"] and "user" not in event["unmapped"]


def test_ocsf_lines_equal_the_stdlib_serialisation(mixed: sqlite3.Connection) -> None:
    # The export serialises with orjson for speed; what it writes must be what json would.
    from policy_server.audit.ocsf import to_ocsf

    _, text = exported(mixed, "ocsf")
    rows = mixed.execute(
        "SELECT seq, prev_hash, record_hash, record FROM audit_events ORDER BY seq"
    )
    for line, (seq, prev, record_hash, record) in zip(text.splitlines(), rows, strict=True):
        expected = to_ocsf(json.loads(record), seq=seq, prev_hash=prev, record_hash=record_hash)
        assert line == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))


def test_integers_past_64_bits_are_stored_as_text_and_export_unchanged(conn, bash) -> None:
    from policy_server.audit.records import build_record
    from policy_server.engine.evaluator import Decision

    ev = bash("true")
    ev.tool_input = {
        "command": "true",
        "n": 2**70,
        "m": -(2**63) - 1,
        "k": 2**63 - 1,
        "j": -(2**63),
    }
    args = dict(enforced="allow", decision_id="d", time_us=T0, received_us=T0, eval_us=1)
    append(conn, [build_record(ev, Decision("allow", "ok"), event_id="e", **args)])
    _, text = exported(conn, "ocsf")
    stored = json.loads(text)["unmapped"]["input_redacted"]
    assert stored == {
        "command": "true",
        "n": str(2**70),
        "m": str(-(2**63) - 1),
        "k": 2**63 - 1,
        "j": -(2**63),
    }


@pytest.mark.parametrize(
    ("filters", "seqs"),
    [
        ({}, [1, 2, 3, 4, 5, 6]),
        ({"since_us": T0 + 2 * DAY}, [3, 4, 5, 6]),
        ({"until_us": T0 + 2 * DAY}, [1, 2]),
        ({"since_us": T0 + DAY, "until_us": T0 + 3 * DAY, "agent": "bot"}, [2]),
        ({"agent": "bot"}, [2, 4]),
        ({"decision": "deny"}, [3, 5]),
    ],
)
def test_filters(mixed: sqlite3.Connection, filters: dict[str, Any], seqs: list[int]) -> None:
    _, text = exported(mixed, "jsonl", **filters)
    assert [json.loads(line)["seq"] for line in text.splitlines()] == seqs


def test_unknown_format_or_decision_is_refused(mixed: sqlite3.Connection) -> None:
    with pytest.raises(ValueError, match="jsonl, csv, ocsf"):
        export(mixed, "xml", io.StringIO())
    with pytest.raises(ValueError, match="allow, deny, ask"):
        export(mixed, "csv", io.StringIO(), decision="alow")


class CountingSink(io.TextIOBase):
    """Counts lines without keeping them: what a pipe to another process sees."""

    def __init__(self) -> None:
        self.lines = 0
        self.writes = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        self.writes += 1
        return len(text)


def test_twenty_thousand_rows_stream_in_chunks(conn: sqlite3.Connection, make_record) -> None:
    total = 20_000
    for start in range(0, total, 2000):
        append(conn, [make_record(i) for i in range(start, start + 2000)])
    for fmt, header in (("jsonl", 0), ("csv", 1), ("ocsf", 0)):
        sink = CountingSink()
        started = time.perf_counter()
        assert export(conn, fmt, sink) == total
        rate = total / (time.perf_counter() - started)
        print(f"\nexport {fmt}: {rate:,.0f} rows/s")
        assert sink.lines == total + header
        assert sink.writes > 5  # written chunk by chunk, not all at once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31", 1_769_817_600_000_000),
        ("2026-01-31T12:00:00Z", 1_769_860_800_000_000),
        ("2026-01-31T13:00:00+01:00", 1_769_860_800_000_000),
        ("2026-01-31 12:00:00.5", 1_769_860_800_500_000),
        ("today", T0),
        ("Yesterday", T0 - DAY),
        ("7d", T0 + 3_600_000_000 - 7 * DAY),
        ("0d", T0 + 3_600_000_000),
    ],
)
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time(text, now_us=T0 + 3_600_000_000) == expected


@pytest.mark.parametrize("text", ["", "last week", "2026-13-01", "-3d", "3 d"])
def test_parse_time_says_what_works(text: str) -> None:
    with pytest.raises(ValueError, match=r"ISO date .* today, yesterday"):
        parse_time(text)
