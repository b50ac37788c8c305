"""The provider side of HTTP/1.1: keep-alive connection pools and streamed responses.

``Transport.open`` sends one request and returns an ``UpstreamResponse`` as soon as its head
arrived (or raises ``UpstreamUnavailable`` when nothing arrived: connect error, reset, timeout
before the first byte). The body is then read piece by piece, so SSE passes through as it
comes. TLS uses the standard ``ssl`` module (cooperative once the entry point patched it).
This module never decides about fallback and never looks inside bodies.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator

from . import headers
from .bufsock import BufferedSocket, FramingError, PeerClosed, set_nodelay
from .config import Provider
from .watchdog import Watchdog

MAX_IDLE_PER_HOST = 256
MAX_RESPONSE_HEAD = 64 * 1024


class UpstreamUnavailable(Exception):
    """No response head arrived; ``reason`` is connect, timeout or reset. Safe to fall back."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class UpstreamConnection(BufferedSocket):
    __slots__ = ("key",)

    def __init__(self, sock: socket.socket, key: tuple[str, str, int]) -> None:
        super().__init__(sock)
        self.key = key

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class UpstreamResponse:
    """Status and headers of an upstream answer; iterate ``body()`` exactly once."""

    def __init__(
        self,
        transport: Transport,
        conn: UpstreamConnection,
        status: int,
        reason: str,
        block: str,
        lower: dict[str, str],
        read_timeout_s: float,
    ) -> None:
        self.transport = transport
        self.conn = conn
        self.status = status
        self.reason = reason
        self.block = block  # header lines as received, each ending in CRLF
        self.lower = lower  # names and values lower-cased
        self.read_timeout_s = read_timeout_s
        self.done = False
        self.pieces: Iterator[bytes] | None = None  # set once the first piece was read
        self.framed = False  # pieces carry their chunked framing (see ``body``)

    @property
    def is_stream(self) -> bool:
        return self.lower.get("content-type", "").startswith("text/event-stream")

    def body(self, keep_framing: bool = False) -> Iterator[bytes]:
        """Body pieces as they arrive; the connection goes back to the pool after the last.

        With ``keep_framing`` a chunked body comes as framed on the wire (``self.framed``), cut
        at chunk boundaries, so a chunked client gets it without re-framing.
        """
        conn, lower = self.conn, self.lower
        conn.guard = (self.transport.watchdog, self.read_timeout_s)
        if "chunked" in lower.get("transfer-encoding", ""):
            self.framed = keep_framing
            pieces = conn.iter_chunked_raw() if keep_framing else conn.iter_chunked()
            reusable = True
        elif "content-length" in lower:
            pieces = conn.iter_length(int(lower["content-length"]))
            reusable = True
        else:
            pieces = conn.iter_until_close()
            reusable = False
        try:
            yield from pieces
        except (OSError, PeerClosed, FramingError, TimeoutError):
            self.discard()
            raise
        self.done = True
        conn.guard = None
        if reusable and "close" not in lower.get("connection", ""):
            self.transport.release(conn)
        else:
            conn.close()

    def read_all(self, limit: int = 16 * 1024 * 1024) -> bytes:
        pieces, size = [], 0
        for piece in self.body():
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                self.discard()
                break
        return b"".join(pieces)

    def discard(self) -> None:
        """Drop the connection (a half-read body, or the client went away): never reuse it."""
        if not self.done:
            self.done = True
            self.conn.close()


class Transport:
    """Keep-alive pools per (scheme, host, port). State lives here, one per gateway."""

    def __init__(
        self, ssl_context: ssl.SSLContext | None = None, watchdog: Watchdog | None = None
    ) -> None:
        self.idle: dict[tuple[str, str, int], list[UpstreamConnection]] = {}
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.watchdog = watchdog or Watchdog()

    def open(self, provider: Provider, head: bytes, body: bytes) -> UpstreamResponse:
        """Send ``head`` + ``body``; return the response once its head has arrived."""
        key = (provider.scheme, provider.host, provider.port)
        pool = self.idle.get(key)
        while pool:
            # A pooled connection may have been closed by the provider while idle: if it fails
            # before any response byte, retry on a fresh connection (the request was not seen).
            conn = pool.pop()
            try:
                return self._exchange(conn, provider, head, body)
            except UpstreamUnavailable as exc:
                if exc.reason == "timeout":
                    raise
        conn = self._connect(provider, key)
        return self._exchange(conn, provider, head, body)

    def release(self, conn: UpstreamConnection) -> None:
        if conn.buf:  # bytes beyond the response: the framing is off, do not reuse
            conn.close()
            return
        pool = self.idle.setdefault(conn.key, [])
        if len(pool) < MAX_IDLE_PER_HOST:
            pool.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        for pool in self.idle.values():
            for conn in pool:
                conn.close()
        self.idle.clear()

    def _connect(self, provider: Provider, key: tuple[str, str, int]) -> UpstreamConnection:
        try:
            sock = socket.create_connection(
                (provider.host, provider.port), timeout=provider.connect_timeout_s
            )
        except TimeoutError:
            raise UpstreamUnavailable(
                "connect", f"timed out connecting to {provider.host}"
            ) from None
        except OSError as exc:
            raise UpstreamUnavailable(
                "connect", f"{provider.host}:{provider.port}: {exc}"
            ) from None
        set_nodelay(sock)
        if provider.scheme == "https":
            try:
                sock = self.ssl_context.wrap_socket(sock, server_hostname=provider.host)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                raise UpstreamUnavailable("connect", f"TLS with {provider.host}: {exc}") from None
        sock.settimeout(None)  # from here on the watchdog keeps the time (see _exchange)
        return UpstreamConnection(sock, key)

    def _exchange(
        self, conn: UpstreamConnection, provider: Provider, head: bytes, body: bytes
    ) -> UpstreamResponse:
        watchdog = self.watchdog
        watchdog.arm(conn, provider.first_byte_timeout_s)  # the whole request, to its head
        try:
            if len(body) < 65536:
                conn.send_all(head + body)
            else:  # not worth copying a big body just to save one send
                conn.send_all(head)
                conn.send_all(body)
            raw = conn.read_head(MAX_RESPONSE_HEAD)
            if raw is None:
                raise PeerClosed("closed the connection")
            status, reason, block, lower = _parse_status(raw)
            if status == 100:  # an interim answer: the real head follows
                raw = conn.read_head(MAX_RESPONSE_HEAD) or b""
                status, reason, block, lower = _parse_status(raw)
        except (UpstreamUnavailable, OSError, PeerClosed, FramingError) as exc:
            conn.close()
            if conn.expired or isinstance(exc, TimeoutError):
                waited = provider.first_byte_timeout_s
                raise UpstreamUnavailable(
                    "timeout", f"no answer from {provider.name} in {waited:g} s"
                ) from None
            if isinstance(exc, UpstreamUnavailable):
                raise
            raise UpstreamUnavailable("reset", f"{provider.name}: {exc}") from None
        finally:
            watchdog.disarm(conn)
        return UpstreamResponse(self, conn, status, reason, block, lower, provider.read_timeout_s)


def _parse_status(raw: bytes) -> tuple[int, str, str, dict[str, str]]:
    status_line, _, block = raw.decode("latin-1").partition("\r\n")
    parts = status_line.split(" ", 2)
    block = block + "\r\n" if block else ""
    lower = headers.parse(block, fold_values=True)  # only framing and retry-after are read
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        lower = None
    if lower is None:
        raise UpstreamUnavailable("reset", f"malformed response head {status_line[:80]!r}")
    return status, parts[2] if len(parts) > 2 else "", block, lower
