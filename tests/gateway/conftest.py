"""Fixtures for gateway tests: a scriptable fake provider and ``reins gateway`` as a real process.

``FakeUpstream`` is a small threaded HTTP/1.1 server on 127.0.0.1 whose answer to each request
is chosen by ``script(seen)``: a full reply, an SSE stream (optionally reset mid-way), a hang,
or a reset before any byte. It records every request it saw and every stream its client
abandoned, so tests can check what the gateway forwarded and whether it cancelled.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import LiveGateway

threading.stack_size(512 * 1024)


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"ok":true}'
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    chunked: bool = False


@dataclass
class Stream:
    events: list[bytes]
    delay_s: float = 0.0
    status: int = 200
    reset_after: int | None = None  # send this many events, then reset the connection


@dataclass
class Hang:
    seconds: float


@dataclass
class Reset:
    pass


class FakeUpstream:
    def __init__(self, script: Callable[[Seen], object] | None = None) -> None:
        self.script = script or (lambda seen: Reply())
        self.seen: list[Seen] = []
        self.abandoned = 0  # streams whose reader went away
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(2048)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers = {}
                while (line := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = reader.read(int(headers.get("content-length", 0)))
                seen = Seen(method, target, headers, body)
                with self.lock:
                    self.seen.append(seen)
                if not self._answer(conn, self.script(seen)):
                    return
        except (OSError, ValueError):
            return
        finally:
            reader.close()
            conn.close()

    def _answer(self, conn: socket.socket, action: object) -> bool:
        if isinstance(action, Reset):
            _reset(conn)
            return False
        if isinstance(action, Hang):
            time.sleep(action.seconds)
            return False
        if isinstance(action, Stream):
            return self._stream(conn, action)
        assert isinstance(action, Reply)
        head = f"HTTP/1.1 {action.status} X\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in action.headers.items()
        )
        if action.chunked:
            half = len(action.body) // 2
            parts = [action.body[:half], action.body[half:]]
            data = "".join([head, "transfer-encoding: chunked\r\n\r\n"]).encode()
            data += b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in parts if p) + b"0\r\n\r\n"
        else:
            data = f"{head}content-length: {len(action.body)}\r\n\r\n".encode() + action.body
        conn.sendall(data)
        return True

    def _stream(self, conn: socket.socket, action: Stream) -> bool:
        head = f"HTTP/1.1 {action.status} OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        try:
            conn.sendall(head.encode())
            for i, event in enumerate(action.events):
                if action.reset_after is not None and i == action.reset_after:
                    _reset(conn)
                    return False
                if action.delay_s:
                    time.sleep(action.delay_s)
                conn.sendall(b"%x\r\n%b\r\n" % (len(event), event))
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            with self.lock:
                self.abandoned += 1
            return False
        return True

    def stop(self) -> None:
        self.stopped = True
        self.sock.close()


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class GatewayProcess(LiveGateway):
    """``reins gateway`` on an ephemeral port over its own store, with a token for user dana."""

    def __init__(
        self, tmp: Path, config: dict, env: dict[str, str], workers: int, make_token: Callable
    ) -> None:
        self.token = make_token(tmp / "reins.db", "dana", "developer")
        super().__init__(tmp, tmp / "reins.db", config, env, workers)

    def auth(self, **extra: str) -> dict[str, str]:
        return {"x-api-key": self.token, "anthropic-version": "2023-06-01", **extra}


@pytest.fixture
def upstream_factory() -> Iterator[Callable[..., FakeUpstream]]:
    started: list[FakeUpstream] = []

    def start(script: Callable[[Seen], object] | None = None) -> FakeUpstream:
        upstream = FakeUpstream(script)
        started.append(upstream)
        return upstream

    yield start
    for upstream in started:
        upstream.stop()


@pytest.fixture
def gateway_factory(tmp_path: Path, token_factory) -> Iterator[Callable[..., GatewayProcess]]:
    started: list[GatewayProcess] = []

    def start(config: dict, env: dict[str, str] | None = None, workers: int = 1) -> GatewayProcess:
        gateway = GatewayProcess(tmp_path, config, env or {}, workers, token_factory)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


def provider(
    upstream: FakeUpstream, kind: str = "anthropic", key_env: str | None = "FAKE_KEY", **extra
) -> dict:
    base = upstream.url if kind == "anthropic" else upstream.url + "/v1"
    spec = {"kind": kind, "base_url": base, **extra}
    if key_env:
        spec["api_key_env"] = key_env
    return spec


def sse(*events: tuple[str, dict]) -> list[bytes]:
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


@pytest.fixture
def fakes() -> SimpleNamespace:
    """The reply kinds and helpers, for test modules (which cannot import this conftest)."""
    return SimpleNamespace(
        Reply=Reply, Stream=Stream, Hang=Hang, Reset=Reset, provider=provider, sse=sse
    )
