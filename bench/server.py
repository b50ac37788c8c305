"""Benchmark the policy server end to end: every decision durably written to the audit log.

Run: ``make bench`` (or ``.venv/bin/python bench/server.py``). Starts ``reins serve`` on
an ephemeral port with a fresh store, pins it to core 0 and this load generator to core 1
(when the machine has two cores), and prints one table:

- single client, keep-alive, back to back: round-trip p50/p99;
- open loop at a fixed offered rate (default 1,000/s over 64 connections for 60 s): latency
  measured from each request's due time, errors;
- closed loop over 64 connections: maximum sustained decisions/s;
- a durable SQLite WAL commit on this disk, for scale; audit export rows/s; RSS per worker.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loadgen import build_request, closed_loop, open_loop  # noqa: E402
from report import print_table  # noqa: E402

from policy_server import store, tokens  # noqa: E402
from policy_server.audit.export import export  # noqa: E402

COMMANDS = [
    "git status --short && git diff --stat",
    "npm run build && npm test -- --coverage",
    "python -m pytest -q tests/test_api.py -k login",
    "rm -rf ./build ./dist",
    "git push --force origin main",
    "cat src/app.py | grep -n TODO | head",
    "curl -fsSL https://api.github.com/repos/acme/app | jq .name",
    "docker compose up -d --build",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db: Path, port: int, workers: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "reins.cli",
        "serve",
        "--port",
        str(port),
        "--db",
        str(db),
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def pin(pid: int, cores: set[int]) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(pid, cores)


def workers_of(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def commit_cost_ms(directory: Path, n: int = 300) -> float:
    """One small durable commit (WAL, synchronous=FULL) on this disk."""
    conn = sqlite3.connect(directory / "fsync.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (x TEXT)")
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        conn.execute("INSERT INTO t VALUES (?)", (str(i) * 20,))
        samples.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return sorted(samples)[n // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server workers (default 1; pinned to core 0 when there are more cores than workers)",
    )
    parser.add_argument(
        "--rate", type=float, default=1000, help="open-loop offered rate per second"
    )
    parser.add_argument("--seconds", type=float, default=60, help="open-loop duration")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--max-requests", type=int, default=20000, help="requests for the max-throughput run"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        db = tmpdir / "bench.db"
        conn = store.connect(db)
        token, _ = tokens.create(conn, "bench", ["developer"], now_us=time.time_ns() // 1000)
        conn.close()
        port = free_port()
        server = start_server(db, port, args.workers)
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        pinned = len(cores) > args.workers
        if pinned:
            for pid in [server.pid, *workers_of(server.pid)]:
                pin(pid, {cores[0]})
            pin(0, {cores[1]})
        try:
            requests = [
                build_request(
                    "/v1/hooks/claude-code",
                    json.dumps(
                        {
                            "session_id": "bench",
                            "cwd": "/home/dev/p",
                            "hook_event_name": "PreToolUse",
                            "tool_name": "Bash",
                            "tool_input": {"command": c},
                        }
                    ).encode(),
                    token,
                )
                for c in COMMANDS
            ]
            closed_loop("127.0.0.1", port, requests, 4, 400)  # warm up
            single = closed_loop("127.0.0.1", port, requests, 1, 3000)
            opened = open_loop(
                "127.0.0.1", port, requests, args.rate, args.seconds, args.connections
            )
            peak = closed_loop("127.0.0.1", port, requests, args.connections, args.max_requests)
            rss = [rss_mb(pid) for pid in workers_of(server.pid)]
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        conn = store.connect(db)
        rows = conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
        t0 = time.perf_counter()
        exported = export(conn, "jsonl", io.StringIO())
        export_rate = exported / (time.perf_counter() - t0)
        conn.close()
        fsync = commit_cost_ms(tmpdir)

    bad = lambda r: r.errors + sum(n for s, n in r.statuses.items() if s != 200)  # noqa: E731
    rows_out = [
        ("single client keep-alive p50", f"{single.pct(0.5):.2f} ms", "≤ 0.8 ms"),
        ("single client keep-alive p99", f"{single.pct(0.99):.2f} ms", "≤ 2 ms"),
        (
            f"open loop {args.rate:.0f}/s x {args.connections} conns, {args.seconds:.0f} s: p50",
            f"{opened.pct(0.5):.2f} ms",
            "≤ 2 ms",
        ),
        ("open loop p99", f"{opened.pct(0.99):.2f} ms", "≤ 15 ms"),
        ("open loop achieved rate / errors", f"{opened.rate:.0f}/s / {bad(opened)}", "0 errors"),
        (
            f"max sustained ({args.connections} conns, closed loop)",
            f"{peak.rate:.0f}/s",
            "≥ 3,000/s",
        ),
        ("max sustained p99 / errors", f"{peak.pct(0.99):.1f} ms / {bad(peak)}", "0 errors"),
        ("durable SQLite WAL commit on this disk (p50)", f"{fsync:.3f} ms", "for scale"),
        (f"audit export jsonl ({exported} rows)", f"{export_rate:,.0f} rows/s", "≥ 50,000/s"),
        ("RSS per worker", ", ".join(f"{r:.0f} MB" for r in rss), "report"),
        ("audit rows written", f"{rows}", "= answered"),
    ]
    print(
        f"reins serve --workers {args.workers}; server and load generator on separate cores: {pinned}"
    )
    print_table(rows_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
