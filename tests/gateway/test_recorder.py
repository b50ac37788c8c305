"""Usage rows are never dropped: a failing store keeps the batch, counts it, and retries."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gateway.metrics import Metrics
from gateway.recorder import Recorder
from gateway.usage import UsageRecord
from policy_server import store


def record(n: int, **extra) -> UsageRecord:
    return UsageRecord(
        request_id=f"r-{n}",
        time_us=n,
        inbound="anthropic",
        endpoint="messages",
        status=200,
        **extra,
    )


def test_a_failed_commit_keeps_the_rows_and_a_later_flush_writes_them(tmp_path: Path) -> None:
    db = tmp_path / "reins.db"
    raw = sqlite3.connect(db)  # a store without the usage table: every commit fails
    raw.execute("CREATE TABLE unrelated (x)")
    raw.close()
    metrics = Metrics()
    recorder = Recorder(lambda: sqlite3.connect(db, isolation_level=None), None, metrics, 0.01)
    for n in range(5):
        recorder.add(record(n, tail=b'{"usage":{"input_tokens":2,"output_tokens":3}}'))
    assert recorder.flush() is False
    assert recorder.flush() is False
    assert metrics.counters["reins_gateway_usage_write_failures_total"] == 2
    assert recorder.backlog() == 5
    store.connect(db).close()  # the store comes back (migrated)
    recorder.add(record(5))
    assert recorder.flush() is True
    rows = (
        sqlite3.connect(db)
        .execute("SELECT request_id, input_tokens, output_tokens FROM usage ORDER BY id")
        .fetchall()
    )
    assert [r[0] for r in rows] == [f"r-{n}" for n in range(6)]
    assert rows[0][1:] == (2, 3)
    assert metrics.counters["reins_gateway_usage_rows_written_total"] == 6
    assert recorder.backlog() == 0


def test_a_retried_batch_is_not_written_twice(tmp_path: Path) -> None:
    db = tmp_path / "reins.db"
    store.connect(db).close()
    recorder = Recorder(lambda: store.connect(db), None, Metrics(), 0.01)
    recorder.add(record(1))
    recorder.flush()
    recorder.rows = [record(1).row()]  # as if the commit had succeeded but looked failed
    recorder.flush()
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM usage").fetchone()[0] == 1


def test_logged_bodies_are_redacted(tmp_path: Path) -> None:
    bodies = tmp_path / "bodies.jsonl"
    recorder = Recorder(None, bodies, Metrics(), 0.01)
    secret = "sk-ant-api03-" + "A1b2C3d4" * 12
    recorder.add(
        record(1, request_body=f'{{"messages":"my key is {secret}"}}'.encode(), response_body=b"ok")
    )
    recorder.add(record(2))  # no bodies for this route: no line
    assert recorder.flush() is True
    [line] = bodies.read_text().splitlines()
    entry = json.loads(line)
    assert entry["request_id"] == "r-1"
    assert secret not in line
    assert "REDACTED" in entry["request_body"]


def test_concurrent_flushes_never_write_a_body_twice(tmp_path: Path) -> None:
    # The background loop and a stop-time flush overlap: the commit runs in the thread pool and
    # yields, so without one-flush-at-a-time both would take the same rows and bodies.
    import gevent

    db = tmp_path / "reins.db"
    store.connect(db).close()
    bodies = tmp_path / "bodies.jsonl"
    recorder = Recorder(lambda: store.connect(db), bodies, Metrics(), 0.01)
    for n in range(20):
        recorder.add(record(n, request_body=b'{"m": 1}', response_body=b"ok"))
    results = [
        job.value for job in gevent.joinall([gevent.spawn(recorder.flush) for _ in range(3)])
    ]
    assert all(isinstance(r, bool) for r in results)
    ids = [json.loads(line)["request_id"] for line in bodies.read_text().splitlines()]
    assert sorted(ids) == sorted(f"r-{n}" for n in range(20))
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM usage").fetchone()[0] == 20
