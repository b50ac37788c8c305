"""The floor of the gateway benchmark: the least a gevent proxy can do, as its own column.

Run by ``gateway_overhead.py`` as ``floor``: one process, gevent's ``StreamServer``, TCP_NODELAY,
one pooled upstream connection per client connection, ``Content-Length`` bodies only, the
provider key swapped in, nothing else (no auth, routing, usage rows, metrics or timeouts). The
issue's scratch prototype of this shape added about 0.09 ms on the day it was written; measured
in the same run as Reins it tells how fast this machine is today, so the Reins column can be read
against it. It is a yardstick, not a gateway: never use it for anything else.
Usage: ``gateway_floor.py PORT UPSTREAM_PORT KEY``.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import socket  # noqa: E402
import sys  # noqa: E402

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


def serve(port: int, upstream: tuple[str, int], key: bytes) -> None:
    def handle(client: socket.socket, _address: object) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        provider = socket.create_connection(upstream)
        provider.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while message := read_message(client):
                head, body = message
                lines = [
                    line for line in head.split(b"\r\n") if not line.lower().startswith(DROPPED)
                ]
                lines += [b"x-api-key: " + key, b"Host: upstream", b"", b""]
                provider.sendall(b"\r\n".join(lines) + body)
                answer = read_message(provider)
                if answer is None:
                    return
                client.sendall(answer[0] + b"\r\n\r\n" + answer[1])
        finally:
            provider.close()
            client.close()

    StreamServer(("127.0.0.1", port), handle, backlog=2048).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), ("127.0.0.1", int(sys.argv[2])), sys.argv[3].encode())
