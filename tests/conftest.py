"""Fixtures every package's tests share: tokens in a store, and ``reins serve`` as a real process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policy_server import store, tokens


def make_token(db: Path, user: str, *roles: str) -> str:
    conn = store.connect(db)
    try:
        token, _ = tokens.create(conn, user, list(roles), now_us=time.time_ns() // 1000)
    finally:
        conn.close()
    return token


def stop_group(process: Any, grace: float = 15) -> None:
    """SIGTERM a server started with ``start_new_session=True`` (its whole process group), and
    SIGKILL it if it has not exited after ``grace`` seconds."""
    import os
    import signal
    import subprocess

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """``reins serve`` as a real process on an ephemeral port."""

    def __init__(
        self, db: Path, workers: int = 1, extra: tuple[str, ...] = (), port: int | None = None
    ) -> None:
        import subprocess
        import sys

        self.db = db
        self.port = port or free_port()  # a fixed port restarts a server where clients expect it
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "reins.cli",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(db),
            "--workers",
            str(workers),
            *extra,
        ]
        self.log = open(db.parent / f"server-{self.port}.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise

    def wait_ready(self, timeout: float = 30) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited: {(self.db.parent / f'server-{self.port}.log').read_text()}"
                )
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # busy machine: try again
                time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers, no chance to flush anything."""
        import os
        import signal

        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_group(self.process)
        self.log.close()


class LiveGateway:
    """``reins gateway`` as a real process on an ephemeral port, over the store ``db``.

    Its provider keys come from ``env`` only: none of the runner's ``*_API_KEY`` variables, nor
    its ``REINS_CONFIG``/``REINS_DB``, reach it.
    """

    def __init__(
        self, tmp: Path, db: Path, config: dict, env: dict[str, str], workers: int = 1
    ) -> None:
        import os
        import subprocess
        import sys

        import yaml

        self.db = db
        config_path = tmp / f"gateway-{len(list(tmp.glob('gateway-*.yaml')))}.yaml"
        config_path.write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"gateway-{self.port}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "reins.cli", "gateway", "--port", str(self.port)]
        command += ["--config", str(config_path), "--db", str(db), "--workers", str(workers)]
        own = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith("_API_KEY") and k not in ("REINS_CONFIG", "REINS_DB")
        }
        self.process = subprocess.Popen(
            command,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**own, **env},
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"reins gateway exited:\n{self.output()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"reins gateway did not become ready:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text()

    def usage_rows(
        self, expect: int, timeout: float = 10, session: str | None = None
    ) -> list[dict[str, Any]]:
        """The usage rows (of ``session`` only, in request order, when given), once the store
        holds at least ``expect`` of them or ``timeout`` has passed."""
        import sqlite3

        query, args = "SELECT * FROM usage ORDER BY id", ()
        if session is not None:
            query = "SELECT * FROM usage WHERE session_id = ? ORDER BY time_us, id"
            args = (session,)
        deadline = time.monotonic() + timeout
        while True:
            conn = sqlite3.connect(self.db)
            conn.row_factory = sqlite3.Row
            try:
                rows = [dict(row) for row in conn.execute(query, args)]
            finally:
                conn.close()
            if len(rows) >= expect or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def stop(self) -> None:
        stop_group(self.process)
        self.log.close()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    """Start servers with chosen options; all are stopped at the end of the test."""
    started: list[LiveServer] = []

    def start(
        db: Path | None = None,
        workers: int = 1,
        extra: tuple[str, ...] = (),
        port: int | None = None,
    ) -> LiveServer:
        server = LiveServer(db or tmp_path / "live.db", workers, extra, port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def token_factory():
    return make_token
