"""Appending to the chain: batches, idempotency, many processes, and the group committer."""

from __future__ import annotations

import itertools
import multiprocessing
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from policy_server import store
from policy_server.audit.records import GENESIS_HASH, build_record
from policy_server.audit.verify import verify
from policy_server.audit.writer import AuditWriteError, GroupCommitter, append, append_batch
from policy_server.engine.evaluator import Decision

ROOT = Path(__file__).resolve().parents[3]


def rows(conn: sqlite3.Connection) -> list[tuple[int, str, str, str]]:
    return conn.execute(
        "SELECT seq, event_id, prev_hash, record_hash FROM audit_events ORDER BY seq"
    ).fetchall()


def test_append_numbers_records_from_one_and_chains_them(conn, make_record) -> None:
    assert append(conn, [make_record(i) for i in range(3)]) == [1, 2, 3]
    stored = rows(conn)
    assert stored[0][2] == GENESIS_HASH
    assert [r[2] for r in stored[1:]] == [r[3] for r in stored[:-1]]
    assert verify(conn).ok


def test_chain_continues_across_batches(conn, make_record) -> None:
    append(conn, [make_record(1), make_record(2)])
    assert append(conn, [make_record(3)]) == [3]
    _, second, third = rows(conn)
    assert third[2] == second[3]
    assert verify(conn).checked == 3


def test_a_stored_event_id_is_skipped_not_duplicated(conn, make_record) -> None:
    a, b = make_record(1), make_record(2)
    append(conn, [a, b])
    assert append(conn, [b, make_record(3)]) == [3]
    result = append_batch(conn, [a])
    assert (result.inserted, result.duplicates, result.seqs) == ([], [a["event_id"]], [1])
    assert [r[0] for r in rows(conn)] == [1, 2, 3]
    assert verify(conn).ok


def test_duplicates_inside_one_batch_are_written_once(conn, make_record) -> None:
    a = make_record(1)
    result = append_batch(conn, [a, make_record(2), dict(a)])
    assert (result.seqs, result.inserted, result.duplicates) == ([1, 2, 1], [1, 2], [a["event_id"]])
    assert len(rows(conn)) == 2


def test_a_malformed_record_fails_before_anything_is_written(conn, make_record) -> None:
    bad = make_record(2)
    del bad["decision"]
    with pytest.raises(ValueError, match="decision"):
        append(conn, [make_record(1), bad])
    with pytest.raises(ValueError):
        append(conn, [make_record(3, eval_us=float("nan"))])
    assert rows(conn) == []


def test_lone_surrogates_are_stored_as_replacement_characters(conn, bash) -> None:
    # JSON allows "\\ud800"; UTF-8 does not. The event must still be recorded, not lost.
    ev = bash("echo \ud800 done", cwd="/home/dev/\udc00")
    record = build_record(
        ev,
        Decision("allow", "ok"),
        enforced="allow",
        event_id="e-sur",
        decision_id="d-sur",
        time_us=1,
        received_us=1,
        eval_us=1,
    )
    assert append(conn, [record]) == [1]
    stored = conn.execute("SELECT target, cwd, record FROM audit_events").fetchone()
    assert stored[0] == "echo \ufffd done"
    assert "\ufffd" in stored[1] and "\ufffd" in stored[2]
    assert verify(conn).ok


def test_secrets_in_an_event_never_reach_the_file(db: Path, conn, bash) -> None:
    aws_key, github_token = "AKIA" + "ABCDEFGHIJ234567", "ghp_" + "a1B2" * 9
    command = f"git push https://x:{github_token}@github.com/o/r && echo {aws_key}"
    record = build_record(
        bash(command),
        Decision("deny", "no"),
        enforced="deny",
        event_id="e1",
        decision_id="d1",
        time_us=1,
        received_us=1,
        eval_us=1,
    )
    append(conn, [record])
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # db, -wal, -shm
    assert b"[REDACTED:aws_access_key_id]" in stored
    assert aws_key.encode() not in stored and github_token.encode() not in stored


# --- many processes on one file -----------------------------------------------------------------

PER_PROCESS = 200
SHARED = [f"shared-{i}" for i in range(20)]  # uploaded by every process: must be stored once


def _append_from_process(db: str, worker: int, template: dict[str, Any], start: Any) -> None:
    conn = store.connect(db)
    start.wait()
    batch: list[dict[str, Any]] = []
    for i in range(PER_PROCESS):
        batch.append(dict(template, event_id=f"w{worker}-{i}", decision_id=f"d{worker}-{i}"))
        if i % 10 == 0:
            batch.append(dict(template, event_id=SHARED[i // 10]))
        if len(batch) >= 1 + (i + worker) % 4:  # batches of 1 to 4 interleave the writers
            append(conn, batch)
            batch = []
            # Leave the lock free now and then: SQLite's busy handler sleeps, so a writer that
            # re-locks at once can run alone to the end, and the test would prove nothing.
            time.sleep(0.0005)
    if batch:
        append(conn, batch)
    conn.close()


@pytest.mark.parametrize("processes", [2, 4])
def test_concurrent_processes_never_fork_the_chain(db: Path, make_record, processes: int) -> None:
    store.connect(db).close()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(processes)
    workers = [
        context.Process(target=_append_from_process, args=(str(db), w, make_record(0), start))
        for w in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0] * processes
    conn = store.connect(db)
    stored = rows(conn)
    total = processes * PER_PROCESS + len(SHARED)
    assert [r[0] for r in stored] == list(range(1, total + 1))  # no gap
    assert len({r[1] for r in stored}) == total  # no duplicate
    writers = [r[1].split("-")[0] for r in stored if not r[1].startswith("shared")]
    switches = sum(a != b for a, b in itertools.pairwise(writers))
    assert switches >= processes  # the writers really did interleave
    result = verify(conn)
    conn.close()
    assert result.ok and result.checked == total, result


# --- group committer ----------------------------------------------------------------------------


def test_group_committer_serves_fifty_threads_with_few_commits(conn, make_record) -> None:
    committer = GroupCommitter(conn)
    per_thread, threads = 20, 50
    seqs: list[int] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(per_thread):
            seq = committer.submit(make_record(t * per_thread + i))
            with lock:
                seqs.append(seq)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    committer.close()
    total = per_thread * threads
    print(f"\nGroupCommitter: {total / elapsed:,.0f} records/s, {committer.batches} commits")
    assert sorted(seqs) == list(range(1, total + 1))
    assert committer.written == total and committer.failures == 0
    assert committer.batches < total
    assert verify(conn).checked == total


def test_submitting_a_stored_event_returns_its_seq(conn, make_record) -> None:
    committer = GroupCommitter(conn)
    record = make_record(1)
    assert committer.submit(record) == 1
    assert committer.submit_many([make_record(2), record]) == [2, 1]
    committer.close()
    assert (committer.written, committer.duplicates) == (2, 1)


def test_a_failed_commit_fails_its_waiters_and_the_writer_carries_on(conn, make_record) -> None:
    committer = GroupCommitter(conn)
    committer.submit(make_record(0))
    before = rows(conn)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
    big = "z" * 200_000
    with pytest.raises(AuditWriteError, match="full") as caught:
        committer.submit(make_record(1, reason=big))
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert committer.failures == 1
    assert rows(conn) == before
    conn.execute("PRAGMA max_page_count = 1073741823")  # space again
    assert committer.submit(make_record(2)) == 2
    committer.close()
    assert verify(conn).ok and verify(conn).checked == 2


def test_close_drains_then_refuses(conn, make_record) -> None:
    committer = GroupCommitter(conn)
    results: list[int] = []
    workers = [
        threading.Thread(target=lambda i=i: results.append(committer.submit(make_record(i))))
        for i in range(10)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    committer.close()
    committer.close()  # idempotent
    assert sorted(results) == list(range(1, 11))
    with pytest.raises(AuditWriteError, match="closed"):
        committer.submit(make_record(99))


# --- under gevent: a native writer thread that wakes the event loop ------------------------------

GEVENT_PRELUDE = """
from gevent import monkey
monkey.patch_all()
import sys
import gevent
from gevent.pool import Pool
from policy_server import store
from policy_server.audit import writer
from policy_server.audit.handoff import GeventHandoff
from policy_server.audit.verify import verify
from policy_server.audit.writer import AuditWriteError, GroupCommitter

record = {k: "" for k in ("event_id decision_id harness harness_version hook_event session_id "
    "turn_id tool_use_id agent run_id user host cwd tool target decision enforced_decision "
    "reason policy_revision").split()}
record.update(time_us=1, received_us=1, eval_us=0, degraded=False, rules=[], shadow_rules=[],
              decision="allow", enforced_decision="allow")
conn = store.connect(sys.argv[1])
committer = GroupCommitter(conn)
assert isinstance(committer._handoff, GeventHandoff), committer._handoff
"""


def run_under_gevent(tmp_path: Path, body: str) -> str:
    script = GEVENT_PRELUDE + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "g.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_gevent_committer_batches_greenlets_and_keeps_submission_order(tmp_path: Path) -> None:
    out = run_under_gevent(
        tmp_path,
        """
        seqs = Pool(50).map(lambda i: committer.submit(dict(record, event_id=str(i))), range(500))
        assert seqs == list(range(1, 501)), seqs  # seq order is the order of submission
        stored = [r[0] for r in conn.execute("SELECT event_id FROM audit_events ORDER BY seq")]
        assert stored == [str(i) for i in range(500)], stored[:20]
        committer.close()
        assert verify(conn).checked == 500
        print(committer.batches)
        """,
    )
    assert int(out) < 100  # batched: 50 greenlets share each commit


def test_gevent_committer_commits_off_the_event_loop(tmp_path: Path) -> None:
    out = run_under_gevent(
        tmp_path,
        """
        native_sleep = monkey.get_original("time", "sleep")
        commit = writer._append_prepared

        def slow_commit(conn, prepared):
            native_sleep(0.3)  # blocks its OS thread, as an fsync does
            return commit(conn, prepared)

        writer._append_prepared = slow_commit
        ticks = []
        ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(1000)])
        assert committer.submit(dict(record, event_id="slow")) == 1
        ticker.kill()
        print(len(ticks))
        """,
    )
    assert int(out) >= 10  # the loop kept running other greenlets during the commit


def test_gevent_committer_failure_reaches_each_waiter_and_the_writer_carries_on(
    tmp_path: Path,
) -> None:
    out = run_under_gevent(
        tmp_path,
        """
        assert committer.submit(dict(record, event_id="first")) == 1
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full

        def submit(i):
            try:
                return committer.submit(dict(record, event_id=f"big{i}", reason="z" * 200_000))
            except AuditWriteError as exc:
                return type(exc.__cause__).__name__

        print(sorted(set(Pool(10).map(submit, range(10)))))
        conn.execute("PRAGMA max_page_count = 1073741823")  # space again
        assert committer.submit(dict(record, event_id="after")) == 2
        committer.close()
        assert verify(conn).ok and verify(conn).checked == 2
        gevent.wait(timeout=5)  # the loop goes idle: no watcher of ours keeps it running
        print(committer.failures)
        """,
    )
    assert out.split("\n")[:2] == ["['OperationalError']", "10"]


def test_gevent_committer_close_commits_what_was_submitted_then_refuses(tmp_path: Path) -> None:
    run_under_gevent(
        tmp_path,
        """
        greenlets = [gevent.spawn(committer.submit, dict(record, event_id=str(i))) for i in range(20)]
        gevent.sleep(0)  # every greenlet has submitted and waits for its commit
        committer.close()
        assert sorted(g.get() for g in greenlets) == list(range(1, 21))
        try:
            committer.submit(dict(record, event_id="late"))
        except AuditWriteError as exc:
            assert "closed" in str(exc)
        else:
            raise AssertionError("a submit after close was accepted")
        """,
    )
