"""Benchmark the hook client as a harness runs it: one process per event.

Run: ``.venv/bin/python bench/hook_client.py`` (also part of ``make bench``). Starts ``reins serve``
on an ephemeral port with a fresh store, installs the client into a temporary ``REINS_HOME`` with
``installers.client_files.install_client`` (resolved interpreter, never a shim), and prints one
table, all measured in the same run so the numbers compare:

- for scale: ``python3 -I -S -c pass`` and ``curl`` posting the same payload to the server;
- command mode, server up: ``python3 -I -S reins_hook.py claude-code`` per event as installed (a
  launcher importing ``lib/reins_hook.py``, so its bytecode is cached; target p50 20 ms);
- the client run directly as a script, compiled on every event, for comparison;
- offline, server down, bundle cached: the installed command deciding from the bundle;
- Claude Code ``http`` mode: the server's own time for a direct POST (new connection each, as
  the harness's axios does without keep-alive), measured from this process.

Events alternate between a denied and an allowed Bash command; every online one is audited.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import print_table  # noqa: E402
from server import free_port, start_server  # noqa: E402

from installers.client_files import install_client  # noqa: E402
from policy_server import store, tokens  # noqa: E402

PAYLOADS = [
    {
        "session_id": "bench",
        "cwd": "/home/dev/project",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command},
        "tool_use_id": "toolu_bench",
    }
    for command in ("git push --force origin main", "git status --short && git diff --stat")
]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def interleaved(runs: dict[str, Callable[[int], None]], n: int) -> dict[str, list[float]]:
    """Milliseconds per call of each ``run(i)``, round-robin so all see the same machine load,
    after two warm-up rounds."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(n + 2):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run(i)
            if i >= 2:
                samples[name].append((time.perf_counter() - t0) * 1000)
    return samples


def process(command: list[str], env: dict[str, str], check: Callable[[bytes], None]):
    bodies = [json.dumps(p).encode() for p in PAYLOADS]

    def run(i: int) -> None:
        done = subprocess.run(command, input=bodies[i % 2], capture_output=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.decode()[:300]}")
        check(done.stdout)

    return run


def expect_hook_answer(offline: bool) -> Callable[[bytes], None]:
    def check(stdout: bytes) -> None:
        answer = json.loads(stdout)
        if answer and ("decided offline" in stdout.decode()) != offline:
            raise RuntimeError(f"unexpected answer: {stdout[:300]!r}")

    return check


def direct_post(port: int, token: str) -> Callable[[int], None]:
    """Claude Code http mode: one POST per event on a fresh connection, server time only."""
    bodies = [json.dumps(p).encode() for p in PAYLOADS]

    def run(i: int) -> None:
        body = bodies[i % 2]
        head = (
            f"POST /v1/hooks/claude-code HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(head.encode() + body)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        if not data.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"server answered {data[:100]!r}")

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="events per measure (default 200)")
    parser.add_argument(
        "--python", default=None, help="interpreter for the hook (default: this one)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        db = tmpdir / "bench.db"
        conn = store.connect(db)
        token, _ = tokens.create(conn, "bench", ["developer"], now_us=time.time_ns() // 1000)
        conn.close()
        port = free_port()
        server = start_server(db, port, workers=1)
        try:
            rows = measure(tmpdir, port, token, args)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
    print_table(rows)
    return 0


def measure(
    tmpdir: Path, port: int, token: str, args: argparse.Namespace
) -> list[tuple[str, str, str]]:
    home = tmpdir / "reins-home"
    url = f"http://127.0.0.1:{port}"
    install_client(home, server=url, token=token, python=args.python)
    python = json.loads((home / "config.json").read_text())["python"]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmpdir), "REINS_HOME": str(home)}
    hook = [python, "-I", "-S", str(home / "reins_hook.py"), "claude-code"]
    start = {**PAYLOADS[0], "hook_event_name": "SessionStart"}
    subprocess.run(hook, input=json.dumps(start).encode(), capture_output=True, env=env, check=True)
    if not (home / "bundle.json").is_file():
        raise RuntimeError("the hook did not cache the policy bundle at SessionStart")
    runs = {"python3 -I -S -c pass": process([python, "-I", "-S", "-c", "pass"], env, bool)}
    curl = shutil.which("curl")
    if curl:
        auth = ["-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json"]
        command = [curl, "-sS", "-X", "POST", "--data-binary", "@-", *auth]
        runs["curl POST (same payload)"] = process(
            [*command, f"{url}/v1/hooks/claude-code"], env, bool
        )
    runs["hook, server up (command mode)"] = process(hook, env, expect_hook_answer(False))
    script = [python, "-I", "-S", str(home / "lib" / "reins_hook.py"), "claude-code"]
    runs["client run as a script (compiled each time)"] = process(
        script, env, expect_hook_answer(False)
    )
    runs["Claude Code http mode (server time)"] = direct_post(port, token)
    offline_env = {**env, "REINS_SERVER": f"http://127.0.0.1:{free_port()}"}
    online = interleaved(runs, args.n)
    offline = interleaved(
        {"hook, server down (cached bundle)": process(hook, offline_env, expect_hook_answer(True))},
        args.n // 4,
    )
    rows = []
    targets = {"hook, server up (command mode)": "p50 <= 20 ms"}
    for name, samples in {**online, **offline}.items():
        p50, p99 = percentiles(samples)
        rows.append((f"{name} p50 / p99", f"{p50:.1f} / {p99:.1f} ms", targets.get(name, "")))
    base = percentiles(online["python3 -I -S -c pass"])[0]
    for name in ("hook, server up (command mode)", "client run as a script (compiled each time)"):
        extra = percentiles(online[name])[0] - base
        rows.append((f"{name}: p50 over python start", f"{extra:.1f} ms", ""))
    spooled = len(list((home / "spool").glob("*.json")))
    rows.append(("events spooled while down (expected)", f"{spooled} ({args.n // 4 + 2})", ""))
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
