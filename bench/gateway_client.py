"""The gateway benchmark's client side: timed round trips that also read streams, interleaved runs.

Extends ``loadgen.Connection`` (keep-alive, raw sockets, ``TCP_NODELAY``) with responses framed by
``Transfer-Encoding: chunked`` or by the connection closing, and with the time to the first body
byte. The end of a chunked body is found by looking for the terminating ``0`` chunk at the end of
what has arrived, not by walking every chunk: a gateway that re-chunks a 2,000-event stream must
neither gain nor lose client time for it. It never monkey-patches; it uses gevent's sockets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gevent
from gevent import socket
from loadgen import Connection, Result

CHUNKED_END = b"\r\n0\r\n\r\n"


class IdleClosed(ConnectionError):
    """A kept-alive connection the server had closed before this request: safe to resend."""


@dataclass
class Reply:
    status: int
    ttfb_ms: float
    total_ms: float
    body: bytes


@dataclass
class Samples:
    """Latencies of one target in one scenario (sequential requests)."""

    total_ms: list[float] = field(default_factory=list)
    ttfb_ms: list[float] = field(default_factory=list)
    bad: int = 0
    first_bad: str = ""

    def pct(self, q: float, ttfb: bool = False) -> float:
        ordered = sorted(self.ttfb_ms if ttfb else self.total_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class TimedConnection(Connection):
    """A keep-alive connection that times one request and reads any HTTP/1.1 framing."""

    def exchange(self, request: bytes, keep_body: bool = False) -> Reply:
        reused = self.sock is not None
        if self.sock is None:
            self.sock = socket.create_connection(self.address)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        try:
            self.sock.sendall(request)
            while b"\r\n\r\n" not in self.buffer:
                self._fill()
        except OSError as exc:
            self.close()
            if reused and not self.buffer:
                raise IdleClosed(f"the server had closed the idle connection: {exc}") from exc
            raise
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status, length, chunked, close = parse_head(head)
        if not rest and length != 0:
            self.buffer = b""
            self._fill()
            rest = self.buffer
        ttfb = time.perf_counter()
        body = self._read_body(rest, length, chunked)
        total = time.perf_counter()
        if close:
            self.close()
        return Reply(status, (ttfb - t0) * 1000, (total - t0) * 1000, body if keep_body else b"")

    def _read_body(self, rest: bytes, length: int | None, chunked: bool) -> bytes:
        if chunked:
            parts, tail = [rest], b"\r\n" + rest[-16:]
            while not tail.endswith(CHUNKED_END):
                self.buffer = b""
                self._fill()
                parts.append(self.buffer)
                tail = (tail + self.buffer)[-16:]
            self.buffer = b""
            return b"".join(parts)
        if length is not None:
            self.buffer = rest
            while len(self.buffer) < length:
                self._fill()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
            return body
        parts = [rest]  # no framing: the body ends when the server closes the connection
        while chunk := self.sock.recv(65536):  # type: ignore[union-attr]
            parts.append(chunk)
        self.close()
        self.buffer = b""
        return b"".join(parts)

    def close(self) -> None:
        super().close()
        self.buffer = b""


def framing(header_lines: list[bytes]) -> tuple[int | None, bool, bool]:
    """(content-length or None, chunked, connection close) of a message's header lines.

    ``gateway_upstream`` frames the requests it reads with it too.
    """
    length, chunked, close = None, False, False
    for line in header_lines:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            close = value == b"close"
    return length, chunked, close


def parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, content-length or None, chunked, connection close) of a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked, close = framing(lines[1:])
    if length is None and not chunked and (status in (204, 304) or 100 <= status < 200):
        length = 0
    return status, length, chunked, close


def dechunk(body: bytes) -> bytes:
    """The payload of a chunked body (for checking answers, not on the timed path)."""
    out, pos = [], 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2 : end + 2 + size])
        pos = end + 2 + size + 2


def resend_once(conn: TimedConnection, request: bytes) -> Reply:
    """Like an HTTP client, resend on a fresh connection when the server closed an idle one
    (uvicorn, under LiteLLM, does so after 5 s); the new connection is opened before timing."""
    try:
        return conn.exchange(request)
    except IdleClosed:
        return conn.exchange(request)


def interleaved(
    targets: dict[str, tuple[TimedConnection, bytes]], count: int, block: int, warmup: int
) -> dict[str, Samples]:
    """``count`` sequential requests per target, in blocks of ``block`` taking turns."""
    samples = {name: Samples() for name in targets}
    for conn, request in targets.values():
        for _ in range(warmup):
            resend_once(conn, request)
    for _ in range(max(1, count // block)):
        for name, (conn, request) in targets.items():
            got = samples[name]
            for _ in range(block):
                try:
                    reply = resend_once(conn, request)
                except OSError as exc:
                    conn.close()
                    got.bad += 1
                    got.first_bad = got.first_bad or f"{type(exc).__name__}: {exc}"
                    continue
                if reply.status != 200:
                    got.bad += 1
                    got.first_bad = got.first_bad or f"HTTP {reply.status}"
                got.total_ms.append(reply.total_ms)
                got.ttfb_ms.append(reply.ttfb_ms)
    return samples


def timed_closed_loop(
    host: str, port: int, request: bytes, connections: int, seconds: float
) -> Result:
    """``connections`` clients sending back to back for ``seconds``: the sustained rate."""
    result = Result()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        conn = TimedConnection(host, port)
        while time.perf_counter() < deadline:
            try:
                reply = conn.exchange(request)
            except OSError:
                result.errors += 1
                conn.close()
                gevent.sleep(0.01)
                continue
            result.latencies_ms.append(reply.total_ms)
            result.statuses[reply.status] = result.statuses.get(reply.status, 0) + 1
        conn.close()

    started = time.perf_counter()
    gevent.joinall([gevent.spawn(client) for _ in range(connections)])
    result.seconds = time.perf_counter() - started
    return result
