"""``reins up``: every part starts, answers, and stops together."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_in_a_terminal() -> None:
    """Ctrl-C reaches ``reins up`` as in a terminal, whatever this test process did with SIGINT
    (a background job inherits it ignored; a blocked signal stays blocked across exec)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(process: subprocess.Popen) -> int:
    """Ctrl-C, as a person would; the exit code. A ``reins up`` that ignores it is killed with
    its parts, and the test fails saying how its signals stood."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        status = Path(f"/proc/{process.pid}/status").read_text()
        masks = [line for line in status.splitlines() if line.startswith(("SigBlk", "SigIgn"))]
        for pid in [*_descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise AssertionError(f"reins up ignored Ctrl-C for 30 s; {masks}") from None


def _descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(c) for c in children.read_text().split()] if children.exists() else []
    return [d for c in found for d in (c, *_descendants(c))]


def start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, int, int, Path]:
    port, gateway_port = free_port(), free_port()
    log = tmp_path / "up.log"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "reins.cli", "up", "--port", str(port)),
            *("--gateway-port", str(gateway_port), "--db", str(tmp_path / "r.db")),
            *("--workers", "1", *extra),
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=tmp_path,
        preexec_fn=_as_in_a_terminal,
    )
    deadline = time.monotonic() + 90
    while "Reins is running" not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    return process, port, gateway_port, log


def test_up_starts_server_gateway_and_scheduler_and_stops_them_together(tmp_path: Path) -> None:
    process, port, gateway_port, log = start(tmp_path)
    try:
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
        assert requests.get(f"http://127.0.0.1:{gateway_port}/healthz", timeout=5).ok
        text = log.read_text()
        assert f"curl -fsSL http://127.0.0.1:{port}/install.sh | sh -s -- --token <TOKEN>" in text
        assert "token create --user $USER --role developer" in text
        assert "[scheduler]" in text or "scheduler" in text
    finally:
        assert stop(process) == 0
    for p in (port, gateway_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", p)) != 0, f"port {p} still served after Ctrl-C"


def test_up_without_gateway_and_scheduler(tmp_path: Path) -> None:
    process, port, gateway_port, log = start(tmp_path, "--no-gateway", "--no-scheduler")
    try:
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", gateway_port)) != 0
        assert "gateway " not in log.read_text().split("Reins is running.")[1]
    finally:
        stop(process)
