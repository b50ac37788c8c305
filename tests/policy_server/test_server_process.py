"""The real server: gunicorn + gevent workers on a real port, SQLite on disk, SIGKILL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from policy_server import store
from policy_server.audit.verify import verify

ROOT = Path(__file__).resolve().parents[2]

PAYLOAD = {
    "session_id": "s",
    "cwd": "/home/dev/p",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
}


def post(
    url: str, token: str, command: str, http: requests.Session | None = None
) -> requests.Response:
    body = dict(PAYLOAD, tool_input={"command": command})
    return (http or requests).post(
        url + "/v1/hooks/claude-code",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def targets(db: Path) -> list[str]:
    conn = store.connect(db)
    rows = [
        json.loads(r[0])["target"]
        for r in conn.execute("SELECT record FROM audit_events ORDER BY seq")
    ]
    conn.close()
    return rows


def test_serve_decides_audits_and_exposes_metrics(
    tmp_path: Path, server_factory, token_factory
) -> None:
    db = tmp_path / "reins.db"
    dev = token_factory(db, "dana", "developer")
    admin = token_factory(db, "root", "admin")
    server = server_factory(db)
    denied = post(server.url, dev, "rm -rf /").json()
    assert denied["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert post(server.url, dev, "ls").json() == {}
    assert targets(db) == ["rm -rf /", "ls"]
    bad = requests.post(
        server.url + "/v1/hooks/claude-code",
        data=b"{oops",
        headers={"Authorization": f"Bearer {dev}"},
        timeout=5,
    )
    assert bad.status_code == 400
    metrics = requests.get(
        server.url + "/metrics", headers={"Authorization": f"Bearer {admin}"}, timeout=5
    ).text
    assert 'reins_decisions_total{decision="deny",harness="claude-code"} 1' in metrics
    assert "reins_audit_dropped_total 0" in metrics
    assert "reins_audit_rows_written_total 3" in metrics  # the rejected request has its row
    assert 'reins_http_errors_total{status="400"} 1' in metrics
    assert 'reins_hook_requests_rejected_total{harness="claude-code"} 1' in metrics
    assert requests.get(server.url + "/metrics", timeout=5).status_code == 401


@pytest.mark.parametrize("workers", [2, 4])
def test_concurrent_workers_keep_one_unbroken_chain(
    tmp_path: Path, server_factory, token_factory, workers: int
) -> None:
    db = tmp_path / "reins.db"
    dev = token_factory(db, "dana", "developer")
    server = server_factory(db, workers=workers)
    commands = [f"echo {i}" for i in range(240)]

    def send(chunk: list[str]) -> list[int]:
        with requests.Session() as http:
            return [post(server.url, dev, c, http).status_code for c in chunk]

    with ThreadPoolExecutor(8) as pool:
        statuses = [
            s for chunk in pool.map(send, [commands[i::8] for i in range(8)]) for s in chunk
        ]
    assert statuses == [200] * len(commands)
    assert sorted(targets(db)) == sorted(commands)  # no gaps, no duplicates
    conn = store.connect(db)
    result = verify(conn)
    assert result.ok, result.problem
    seqs = [r[0] for r in conn.execute("SELECT seq FROM audit_events ORDER BY seq")]
    assert seqs == list(range(seqs[0], seqs[0] + len(commands)))


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path, server_factory, token_factory) -> None:
    db = tmp_path / "reins.db"
    dev = token_factory(db, "dana", "developer")
    server = server_factory(db, workers=2)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        with requests.Session() as http:
            for i in range(10_000):
                if stop.is_set():
                    return
                command = f"echo {worker}-{i}"
                try:
                    if post(server.url, dev, command, http).status_code == 200:
                        with lock:
                            acknowledged.append(command)
                except requests.RequestException:
                    return

    threads = [threading.Thread(target=load, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    while len(acknowledged) < 300:
        threading.Event().wait(0.01)
    server.kill()  # SIGKILL master and workers mid-load
    stop.set()
    for t in threads:
        t.join()
    restarted = server_factory(db, workers=2)
    recorded = set(targets(db))
    assert set(acknowledged) <= recorded, (
        f"lost {len(set(acknowledged) - recorded)} acknowledged events"
    )
    conn = store.connect(db)
    assert verify(conn).ok
    assert post(restarted.url, dev, "ls").status_code == 200


def test_a_worker_freezes_its_loaded_app_out_of_the_collector(tmp_path: Path) -> None:
    """Full garbage collections must not walk the compiled pack on every request they land on."""
    script = f"""
import gc, sys
from types import SimpleNamespace
from policy_server.app import create_app
from policy_server.serve import _after_worker_init
app = create_app({{"db": {str(tmp_path / "r.db")!r}, "policies": None, "fail_mode": "auto"}})
assert gc.get_freeze_count() == 0
_after_worker_init(SimpleNamespace(wsgi=app))
sys.exit(0 if gc.get_freeze_count() > 10_000 else 1)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
