"""A gunicorn gevent worker that speaks a small, strict HTTP/1.1 itself.

Why: gunicorn's own request parser and response writer cost more CPU than the whole policy
decision (py-spy, one worker under load: ~25% of samples, and two ``send`` calls per answer).
This worker keeps everything else of gunicorn's gevent worker (master, graceful restarts,
heartbeat, SIGHUP reloads, one greenlet per connection) and replaces only the per-connection
loop: read a request head, hand the app a WSGI environ, write the answer in one ``sendall``.
Measured on a trivial Flask app under the same load: ~3x the requests per second.

What it accepts, and nothing more: HTTP/1.0 and 1.1, keep-alive, ``Content-Length`` or
``Transfer-Encoding: chunked`` request bodies (never both: that is how requests are smuggled),
``Expect: 100-continue``. A head over 64 KiB, a malformed line, a bad length or chunk is a
``400``/``431`` in the server's JSON error shape and the connection is closed. Bodies stream into
the app through ``wsgi.input`` (the app enforces its own size limit); whatever the app did not read
is drained (up to a bound) or the connection is closed. Responses without a length are sent
chunked (HTTP/1.1) or delimited by closing the connection (HTTP/1.0), so streamed exports stay
in constant memory. No TLS here: put a proxy in front for HTTPS, as the README says.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any
from urllib.parse import unquote_to_bytes

from gevent import Timeout
from gunicorn.workers.ggevent import GeventWorker

MAX_HEAD = 64 * 1024
MAX_DRAIN = 256 * 1024  # unread request body we still read past to keep the connection
READ_TIMEOUT_S = 30.0  # a started request must arrive within this (slow clients, slowloris)
IDLE_POLL_S = 1.0  # how often an idle keep-alive connection checks that the worker still runs
_CHUNK = 65536
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class BadRequest(ValueError):
    """The request cannot be read; answered with ``status`` and the connection closed.

    Raised from ``wsgi.input`` too (a bad chunk): the app sees a ValueError while reading, and
    the worker closes the connection after its answer, since the framing is lost."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Connection:
    """One client socket with a read buffer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def fill(self) -> bool:
        data = self.sock.recv(_CHUNK)
        self.buffer += data
        return bool(data)

    def read_head(self) -> bytes | None:
        """The next request head (without the blank line); None when the client closed."""
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end > MAX_HEAD or (end < 0 and len(self.buffer) > MAX_HEAD):
                raise BadRequest("request head larger than 64 KiB", 431)
            if end >= 0:
                head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
                return head
            if not self.fill():
                if self.buffer.strip():
                    raise BadRequest("connection closed in the middle of a request head")
                return None

    def read_line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise BadRequest("chunk header line too long")
            if not self.fill():
                raise BadRequest("connection closed in the middle of a chunked body")
        line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
        return line

    def read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self.fill():
                raise BadRequest("connection closed before the whole body arrived")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


class Body:
    """``wsgi.input``: the request body, read from the connection on demand."""

    def __init__(self, conn: Connection, length: int | None, send_continue: Callable[[], None]):
        self.conn = conn
        self.remaining = length  # None: chunked
        self.chunk_left = 0
        self.done = length == 0
        self.broken = False  # the framing was lost: the connection cannot carry another request
        self.send_continue = send_continue

    def read(self, size: int = -1) -> bytes:
        parts, want = [], size if size is not None and size >= 0 else sys.maxsize
        try:
            while want > 0 and not self.done:
                piece = self._next(min(want, _CHUNK))
                parts.append(piece)
                want -= len(piece)
        except BadRequest:
            self.broken = True
            raise
        return b"".join(parts)

    def readline(self, size: int = -1) -> bytes:  # WSGI requires it; nobody here uses it
        return self.read(size)

    def __iter__(self):  # pragma: no cover - WSGI requires iteration support
        while chunk := self.read(_CHUNK):
            yield chunk

    def _next(self, size: int) -> bytes:
        self.send_continue()
        if self.remaining is not None:
            if not self.conn.buffer and not self.conn.fill():
                raise BadRequest("connection closed before the whole body arrived")
            piece = self.conn.buffer[: min(size, self.remaining)]
            self.conn.buffer = self.conn.buffer[len(piece) :]
            self.remaining -= len(piece)
            self.done = self.remaining == 0
            return piece
        if self.chunk_left == 0:
            self.chunk_left = _chunk_size(self.conn.read_line())
            if self.chunk_left == 0:
                while self.conn.read_line():  # trailers, up to the blank line
                    pass
                self.done = True
                return b""
        piece = self.conn.read_exact(min(size, self.chunk_left))
        self.chunk_left -= len(piece)
        if self.chunk_left == 0 and self.conn.read_exact(2) != b"\r\n":
            raise BadRequest("a chunk does not end with CRLF")
        return piece

    def drain(self) -> bool:
        """Read past what the app left unread; False when too much remains (close instead)."""
        drained = 0
        while not self.done:
            drained += len(self._next(_CHUNK))
            if drained > MAX_DRAIN:
                return False
        return True


def _chunk_size(line: bytes) -> int:
    size = line.split(b";", 1)[0].strip()
    if not size or len(size) > 8 or any(c not in b"0123456789abcdefABCDEF" for c in size):
        raise BadRequest(f"bad chunk size {size[:20]!r}")
    return int(size, 16)


def parse_head(head: bytes, base: dict[str, Any]) -> tuple[dict[str, Any], int | None, bool]:
    """(environ, body length or None for chunked, keep-alive wanted) for one request head."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not parts[0].isalpha():
        raise BadRequest(f"malformed request line {lines[0][:100]!r}")
    method, target, version = parts
    path, _, query = target.partition("?")
    if path.startswith(("http://", "https://")):  # absolute-form: keep the path only
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    environ = dict(base)
    environ.update(
        REQUEST_METHOD=method,
        PATH_INFO=unquote_to_bytes(path).decode("latin-1"),
        QUERY_STRING=query,
        RAW_URI=target,
        SERVER_PROTOCOL=version,
    )
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or not _TOKEN.issuperset(name):
            raise BadRequest(f"malformed header line {line[:100]!r}")
        key = name.upper().replace("-", "_")
        value = value.strip(" \t")
        if key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            if key in environ:
                raise BadRequest(f"{name} given twice")
            environ[key] = value
        else:
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ, _body_length(environ), _keep_alive(environ, version)


def _body_length(environ: dict[str, Any]) -> int | None:
    encoding = environ.get("HTTP_TRANSFER_ENCODING")
    length = environ.get("CONTENT_LENGTH")
    if encoding is not None:
        if length is not None:
            raise BadRequest("both Content-Length and Transfer-Encoding: send one")
        if encoding.strip().lower() != "chunked":
            raise BadRequest(f"unsupported Transfer-Encoding {encoding!r}", 501)
        return None
    if length is None:
        return 0
    if not length.isdigit() or len(length) > 15:
        raise BadRequest(f"bad Content-Length {length!r}")
    return int(length)


def _keep_alive(environ: dict[str, Any], version: str) -> bool:
    tokens = {t.strip().lower() for t in environ.get("HTTP_CONNECTION", "").split(",")}
    if version == "HTTP/1.1":
        return "close" not in tokens
    return "keep-alive" in tokens


class Responder:
    """``start_response`` plus the writing of one response on the connection."""

    def __init__(self, sock: socket.socket, version: str, method: str, keep_alive: bool) -> None:
        self.sock, self.version, self.head_only = sock, version, method == "HEAD"
        self.keep_alive = keep_alive
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self.chunked = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info=None) -> Any:
        if exc_info is not None and self.head_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        self._send(data, final=False)

    def _head(self, body: bytes, final: bool) -> bytes:
        names = {name.lower() for name, _ in self.headers}
        extra = [("Date", _http_date())]
        code = int(self.status[:3])
        if "content-length" not in names and code not in (204, 304) and code >= 200:
            if final:
                extra.append(("Content-Length", str(len(body))))
            elif self.version == "HTTP/1.1":
                self.chunked = True
                extra.append(("Transfer-Encoding", "chunked"))
            else:
                self.keep_alive = False
        if not self.keep_alive:
            extra.append(("Connection", "close"))
        elif self.version == "HTTP/1.0":
            extra.append(("Connection", "keep-alive"))
        lines = [f"{self.version} {self.status}"]
        lines += [f"{name}: {value}" for name, value in (*self.headers, *extra)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, data: bytes, final: bool) -> None:
        out = b""
        if not self.head_sent:
            out, self.head_sent = self._head(data, final), True
        if not self.head_only:
            if self.chunked and data:
                out += b"%x\r\n%s\r\n" % (len(data), data)
            elif not self.chunked:
                out += data
        if out:
            self.sock.sendall(out)

    def finish(self, body: Iterable[bytes]) -> None:
        """Send ``body`` (the app's iterable): in one write when it is one piece."""
        pending: bytes | None = None
        for piece in body:
            if not piece:
                continue
            if pending is not None:
                self._send(pending, final=False)
            pending = piece
        self._send(pending or b"", final=not self.head_sent)
        if self.chunked and not self.head_only:
            self.sock.sendall(b"0\r\n\r\n")


def _http_date(_cache: list[Any] = [0, ""]) -> str:  # noqa: B006 - a one-second cache
    now = int(time.time())
    if _cache[0] != now:
        _cache[:] = [now, time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))]
    return _cache[1]


def error_bytes(status: int, message: str) -> bytes:
    """A complete ``Connection: close`` error answer in the server's one JSON error shape."""
    codes = {
        400: "bad_request",
        408: "request_timeout",
        431: "headers_too_large",
        501: "not_implemented",
    }
    body = json.dumps(
        {"error": {"status": status, "code": codes.get(status, "error"), "message": message}}
    ).encode()
    reason = {
        400: "Bad Request",
        408: "Request Timeout",
        431: "Request Header Fields Too Large",
    }.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class HookWorker(GeventWorker):
    """gunicorn's gevent worker with the connection loop above (``worker_class`` in serve.py)."""

    def handle(self, listener: socket.socket, client: socket.socket, addr: Any) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(client)
        host, port = listener.getsockname()[:2]
        remote = addr if isinstance(addr, tuple) else ("", 0)
        base = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": self.cfg.workers > 1,
            "wsgi.run_once": False,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_SOFTWARE": "reins",
            "SCRIPT_NAME": "",
            "REMOTE_ADDR": str(remote[0]),
            "REMOTE_PORT": str(remote[1]),
        }
        try:
            while self.alive and self.serve_one(conn, base):
                pass
        except BadRequest as exc:
            self._answer_error(client, exc)
        except (OSError, Timeout):
            pass  # the client went away or stalled: nothing to answer
        finally:
            client.close()

    def serve_one(self, conn: Connection, base: dict[str, Any]) -> bool:
        """Serve one request; True when the connection may carry another."""
        head = self.next_head(conn)
        if head is None:
            return False
        with Timeout(READ_TIMEOUT_S):
            environ, length, keep_alive = parse_head(head, base)
            wants_continue = environ.get("HTTP_EXPECT", "").lower() == "100-continue"
            sent: list[bool] = []

            def send_continue() -> None:
                if wants_continue and not sent:
                    sent.append(True)
                    conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

            body = Body(conn, length, send_continue)
            environ["wsgi.input"] = body
            environ["wsgi.input_terminated"] = True  # Body ends at the body's end, chunked too
            responder = Responder(
                conn.sock,
                environ["SERVER_PROTOCOL"],
                environ["REQUEST_METHOD"],
                keep_alive and self.alive,
            )
            result = self.wsgi(environ, responder.start_response)
            try:
                responder.finish(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            self.nr += 1
            if not responder.keep_alive or body.broken:
                return False
            # What the app left unread must be read past before the next request; a client
            # that asked for 100-continue and got an answer without it has sent nothing.
            if wants_continue and not sent:
                return True
            try:
                return body.drain()
            except BadRequest:  # it was answered already: just drop the connection
                return False

    def next_head(self, conn: Connection) -> bytes | None:
        """The next request head; None when the client closed, stayed idle past the keep-alive
        time, or the worker is stopping while the connection sits idle (a graceful restart must
        not wait for every kept-alive client to time out)."""
        idle = conn.buffer == b""
        deadline = time.monotonic() + (self.cfg.keepalive if idle else READ_TIMEOUT_S)
        while (remaining := deadline - time.monotonic()) > 0:
            with Timeout(min(IDLE_POLL_S, remaining), False):
                return conn.read_head()  # partial reads stay in conn.buffer across polls
            if not self.alive and conn.buffer == b"":
                return None
        if conn.buffer:
            raise BadRequest("request head not received in time", 408)
        return None

    def _answer_error(self, client: socket.socket, exc: BadRequest) -> None:
        """Answer, then read (briefly) what the client is still sending before closing: closing
        with unread data makes the kernel send a reset, which can destroy the answer in flight."""
        with suppress(OSError, Timeout), Timeout(1.0):
            client.sendall(error_bytes(exc.status, str(exc)))
            client.shutdown(socket.SHUT_WR)
            while client.recv(_CHUNK):
                pass
