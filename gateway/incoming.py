"""The client side of HTTP/1.1: read one request at a time from an accepted connection.

Handles keep-alive, ``Content-Length`` and chunked bodies, ``Expect: 100-continue``, and the
limits (an oversized request is refused with 413 before its body is read; a request that
trickles in slower than ``request_timeout_s`` gets 408). It never looks inside a body.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass
from http import HTTPStatus

from . import headers
from .auth import TokenMemo
from .bufsock import BufferedSocket, FramingError, PeerClosed, set_nodelay
from .config import Limits
from .watchdog import Watchdog

REASONS = {s.value: s.phrase for s in HTTPStatus}
REASONS[529] = "Overloaded"


class RequestError(Exception):
    """A request we refuse before routing: answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str, path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.path = path


@dataclass(slots=True)
class Request:
    method: str
    target: str  # path and query as sent
    path: str
    query: str  # with its leading "?", or ""
    version: str
    block: str  # the header lines as received, each ending in CRLF
    lower: dict[str, str]  # lower-cased name -> value (the last one wins)
    body: bytes
    keep_alive: bool
    received: float  # time.perf_counter() when the head was complete


class ClientConnection:
    """One accepted connection; ``read_request`` until it returns None."""

    def __init__(self, sock: socket.socket, limits: Limits, watchdog: Watchdog) -> None:
        set_nodelay(sock)
        sock.settimeout(None)  # the watchdog keeps the time, except inside a slow request
        self.sock = sock
        self.reader = BufferedSocket(sock)
        self.limits = limits
        self.watchdog = watchdog
        self.timed = False  # the socket has a timeout (a request that came in pieces)
        self.token_memo = TokenMemo()  # the connection's last token: one SHA-256 per connection

    def read_request(self) -> Request | None:
        """The next request, or None when the client closed or idled out between requests."""
        reader, limits = self.reader, self.limits
        if self.timed:
            self.sock.settimeout(None)
            self.timed = False
        if not reader.buf:
            self.watchdog.arm(reader, limits.idle_timeout_s)
            try:
                if not reader.fill():
                    return None
            except OSError:  # a reset, or idle too long (the watchdog closed it)
                return None
            finally:
                self.watchdog.disarm(reader)
        deadline = time.monotonic() + limits.request_timeout_s
        path = ""  # known once the head is parsed: the refusal then takes the API's shape
        try:
            if reader.buf.find(b"\r\n\r\n") < 0:
                self._tick(deadline)  # the head came in pieces: each wait is timed from here
            head = reader.read_head(limits.max_header_bytes)
            if head is None:
                return None
            request = _parse_head(head)
            path = request.path
            request.body = self._read_body(request, deadline)
        except TimeoutError:
            raise RequestError(408, "the request did not arrive in time", path) from None
        except FramingError as exc:
            status = 431 if "head too large" in str(exc) else 400
            raise RequestError(status, f"malformed HTTP request: {exc}", path) from None
        except RequestError as exc:
            exc.path = exc.path or path
            raise
        except PeerClosed:
            return None
        return request

    def _read_body(self, request: Request, deadline: float) -> bytes:
        lower = request.lower
        length = lower.get("content-length")
        chunked = "chunked" in lower.get("transfer-encoding", "").lower()
        if length is None and not chunked:
            return b""
        limit = self.limits.max_body_bytes
        if length is not None and not chunked:
            if not length.isdigit():
                raise RequestError(400, f"bad Content-Length {length[:20]!r}")
            size = int(length)
            if size > limit:
                raise RequestError(
                    413, f"request body of {size} bytes exceeds the limit of {limit}"
                )
        else:
            size = -1
        reader = self.reader
        if lower.get("expect", "").lower() == "100-continue" and len(reader.buf) < max(size, 1):
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if size >= 0:
            while len(reader.buf) < size:
                self._tick(deadline)
                if not reader.fill():
                    raise PeerClosed("closed inside the body")
            return reader.read_exact(size)
        pieces = []
        self._tick(deadline)
        try:
            for piece in reader.iter_chunked(limit):
                pieces.append(piece)
                self._tick(deadline)
        except FramingError as exc:
            if "too large" in str(exc):
                raise RequestError(
                    413, f"request body exceeds the limit of {limit} bytes"
                ) from None
            raise
        return b"".join(pieces)

    def _tick(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        self.timed = True

    def send(self, data: bytes) -> None:
        """Send all of ``data``; a client that has not taken all of it after
        ``request_timeout_s`` is dropped (``OSError``)."""
        self.reader.send_all(data, (self.watchdog, self.limits.request_timeout_s))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _parse_head(head: bytes) -> Request:
    text = head.decode("latin-1")
    request_line, _, block = text.partition("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise RequestError(400, f"malformed request line {request_line[:80]!r}")
    method, target, version = parts
    block = block + "\r\n" if block else ""
    lower = headers.parse(block)
    if lower is None:
        raise RequestError(400, "malformed header line")
    path, qmark, query = target.partition("?")
    connection = lower.get("connection", "").lower()
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    return Request(
        method=method,
        target=target,
        path=path,
        query=qmark + query,
        version=version,
        block=block,
        lower=lower,
        body=b"",
        keep_alive=keep_alive,
        received=time.perf_counter(),
    )


def response_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """The status line and headers of a response, ready to send."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")
