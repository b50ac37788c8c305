"""A small HTTP/1.1 keep-alive load generator on gevent and raw sockets, for the benchmarks.

Requests are pre-serialised; responses are read by Content-Length; latency is measured from
the moment a request was *due* (open loop) or sent (closed loop), so queueing delay counts.
This file is a benchmark entry point: it monkey-patches nothing, it uses gevent's sockets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gevent
from gevent import socket
from gevent.pool import Pool


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


class Connection:
    """One keep-alive connection that sends a request and reads one response."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = b""

    def roundtrip(self, request: bytes) -> int:
        if self.sock is None:
            self.sock = socket.create_connection(self.address)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        return self._read_response()

    def _read_response(self) -> int:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            self.buffer = rest
            self._fill()
            rest = self.buffer
        self.buffer = rest[length:]
        return status

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def build_request(path: str, body: bytes, token: str, host: str = "127.0.0.1") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def closed_loop(
    host: str, port: int, requests: list[bytes], connections: int, count: int
) -> Result:
    """``connections`` clients each sending back to back: the maximum sustained rate."""
    result = Result()
    per = count // connections

    def client(offset: int) -> None:
        conn = Connection(host, port)
        for i in range(per):
            req = requests[(offset + i) % len(requests)]
            t0 = time.perf_counter()
            try:
                status = conn.roundtrip(req)
            except OSError:
                result.errors += 1
                conn.close()
                continue
            result.latencies_ms.append((time.perf_counter() - t0) * 1000)
            result.statuses[status] = result.statuses.get(status, 0) + 1
        conn.close()

    started = time.perf_counter()
    gevent.joinall([gevent.spawn(client, i * 7919) for i in range(connections)])
    result.seconds = time.perf_counter() - started
    return result


def open_loop(
    host: str, port: int, requests: list[bytes], rate: float, seconds: float, connections: int
) -> Result:
    """Requests fall due at a fixed rate whatever the server does; latency counts from due time."""
    result = Result()
    idle: list[Connection] = [Connection(host, port) for _ in range(connections)]
    pool = Pool(connections)
    total = int(rate * seconds)
    started = time.perf_counter()

    def one(i: int, due: float) -> None:
        conn = idle.pop() if idle else Connection(host, port)
        try:
            status = conn.roundtrip(requests[i % len(requests)])
            result.latencies_ms.append((time.perf_counter() - due) * 1000)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            idle.append(conn)
        except OSError:
            result.errors += 1
            conn.close()

    for i in range(total):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        pool.spawn(one, i, due)
    pool.join()
    result.seconds = time.perf_counter() - started
    for conn in idle:
        conn.close()
    return result
