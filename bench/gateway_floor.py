"""The floor of the gateway benchmark: the least a gevent proxy can do, as its own column.

Run by ``gateway_overhead.py`` as ``floor``: one process, gevent's ``StreamServer``, TCP_NODELAY,
one pooled upstream connection per client connection, ``Content-Length`` bodies only, the
provider key swapped in, nothing else (no auth, routing, usage rows, metrics or timeouts). The
issue's scratch prototype of this shape added about 0.09 ms on the day it was written; measured
in the same run as Reins it tells how fast this machine is today, so the Reins column can be read
against it.

With ``--work DB`` it is the ``floor+work`` column: the same proxy also does, inline and with
Reins' own functions, the work Reins cannot skip for a request — the head parsed, the token
checked against the token table of ``DB``, the model found, a usage record filled, the cost
header priced — and leaves out what Reins adds around it (routing rules, fallback, watchdog,
limits, the usage writer). Reins against ``floor+work`` is the cost of Reins' structure; ``floor+work``
against ``floor`` is the cost of the work itself.
They are yardsticks, not gateways: never use them for anything else.
Usage: ``gateway_floor.py PORT UPSTREAM_PORT KEY [--work DB]``.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import itertools  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import deque  # noqa: E402
from pathlib import Path  # noqa: E402

from gevent.server import StreamServer  # noqa: E402

DROPPED = (b"x-api-key", b"authorization", b"host", b"connection")


def read_message(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """(head, body) of the next message with a ``Content-Length`` body, or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            return None
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    return head, body


class Work:
    """Reins' unavoidable per-request work, with Reins' own functions (``--work``)."""

    def __init__(self, db: Path, key: str) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from gateway import headers, proxy
        from gateway.auth import TokenMemo, TokenTable, presented_token
        from gateway.bodyscan import find_model
        from gateway.costing import Costing
        from gateway.metrics import Metrics
        from gateway.pricing import load_prices
        from gateway.usage import UsageRecord
        from policy_server import store

        self.parse, self.presented, self.find_model = headers.parse, presented_token, find_model
        self.drop_request, self.drop_response = proxy.DROP_REQUEST, proxy.DROP_RESPONSE
        self.memo, self.record = TokenMemo, UsageRecord
        self.tokens = TokenTable()
        conn = store.connect(db)
        try:
            self.tokens.load(conn, time.time_ns() // 1000)
        finally:
            conn.close()
        self.costing = Costing(load_prices(), Metrics())
        self.static = f"Host: upstream\r\nAccept-Encoding: identity\r\nx-api-key: {key}\r\n"
        self.ids = itertools.count(1)
        self.rows: deque = deque(maxlen=1000)  # what the usage writer would take

    def request(self, head: bytes, body: bytes, memo: object) -> tuple[bytes, object] | None:
        """The upstream head and the usage record, or None for an unknown token."""
        line, _, block = head.decode("latin-1").partition("\r\n")  # head: no blank line
        block = block + "\r\n" if block else ""
        lower = self.parse(block)
        caller = self.tokens.authenticate(self.presented(lower or {}), time.time_ns() // 1000, memo)
        if caller is None:
            return None
        model = self.find_model(body)[0]
        record = self.record(
            request_id=f"floor-{next(self.ids):x}",
            time_us=time.time_ns() // 1000,
            inbound="anthropic",
            endpoint="messages",
            user=caller.user,
            token_id=caller.token_id,
            agent=lower.get("x-reins-agent", "interactive"),
            session_id=lower.get("x-claude-code-session-id", ""),
            request_bytes=len(body),
            provider="anthropic",
            model=model or "",
        )
        method, target, _ = line.split(" ")
        forwarded = self.drop_request.sub("", block)
        upstream = f"{method} {target} HTTP/1.1\r\n{self.static}{forwarded}Content-Length: {len(body)}\r\n\r\n"
        return upstream.encode("latin-1"), record

    def response(self, head: bytes, body: bytes, record: object) -> bytes:
        """The client's response head: the upstream's, with the request id and cost header."""
        status_line, _, block = head.decode("latin-1").partition("\r\n")
        block = block + "\r\n" if block else ""
        self.parse(block, fold_values=True)
        record.status = int(status_line.split(" ", 2)[1])  # type: ignore[attr-defined]
        notes = self.costing.header(record, body)
        self.rows.append(record)
        kept = self.drop_response.sub("", block)
        return (
            f"{status_line}\r\n{kept}Content-Length: {len(body)}\r\n"
            f"x-reins-request-id: {record.request_id}\r\n{notes}\r\n"  # type: ignore[attr-defined]
        ).encode("latin-1")


def serve(port: int, upstream: tuple[str, int], key: bytes, work: Work | None) -> None:
    def handle(client: socket.socket, _address: object) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        provider = socket.create_connection(upstream)
        provider.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        memo = work.memo() if work else None
        try:
            while message := read_message(client):
                head, body = message
                if work is None or head.startswith(b"GET /__stats"):
                    lines = [
                        line for line in head.split(b"\r\n") if not line.lower().startswith(DROPPED)
                    ]
                    lines += [b"x-api-key: " + key, b"Host: upstream", b"", b""]
                    provider.sendall(b"\r\n".join(lines) + body)
                    answer = read_message(provider)
                    if answer is None:
                        return
                    client.sendall(answer[0] + b"\r\n\r\n" + answer[1])
                    continue
                asked = work.request(head, body, memo)
                if asked is None:
                    client.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                    return
                provider.sendall(asked[0] + body)
                answer = read_message(provider)
                if answer is None:
                    return
                client.sendall(work.response(answer[0], answer[1], asked[1]) + answer[1])
        finally:
            provider.close()
            client.close()

    StreamServer(("127.0.0.1", port), handle, backlog=2048).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("key")
    parser.add_argument("--work", type=Path, metavar="DB", help="also do Reins' per-request work")
    args = parser.parse_args()
    work = Work(args.work, args.key) if args.work else None
    serve(args.port, ("127.0.0.1", args.upstream_port), args.key.encode(), work)


if __name__ == "__main__":
    main()
