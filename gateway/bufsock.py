"""A socket with a read buffer: the HTTP/1.1 framing shared by the client and upstream sides.

Reads heads (up to the blank line), fixed-length bodies and chunked bodies (decoded, or kept
framed for passthrough, where llhttp from ``httptools`` checks the framing in C so a long stream
costs no Python step per event), and sends whole buffers. It never looks inside a body and never
decides anything about a request; timeouts are the caller's (``sock.settimeout``, or a
``guard`` of ``gateway.watchdog``).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import gevent.socket
import httptools

if TYPE_CHECKING:
    from .watchdog import Watchdog

RECV_SIZE = 65536
# A burst of events in two receives, not four; kept under glibc's 128 KiB mmap threshold: a
# larger buffer is mapped and unmapped on every receive (measured: 15 us more per small read).
STREAM_RECV_SIZE = 126 * 1024
MAX_CHUNK_LINE = 4096
# What llhttp needs to see before a chunked body it is asked to check.
_CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


class FramingError(Exception):
    """The peer sent something that is not valid HTTP/1.1 framing."""


class PeerClosed(Exception):
    """The peer closed the connection before the expected bytes arrived."""


def set_nodelay(sock: socket.socket) -> None:
    """Disable Nagle: without it every small response waits ~40 ms for a delayed ACK."""
    with contextlib.suppress(OSError):  # not TCP (a Unix socket): nothing to tune
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def raw_socket(sock: socket.socket) -> socket.socket | None:
    """The non-blocking OS socket under a plain gevent socket, else None (TLS, an unpatched
    socket). A send the kernel takes at once goes straight to it, past gevent's Python wrapper."""
    return sock._sock if type(sock) is gevent.socket.socket else None  # type: ignore[attr-defined]


class _ChunkParser:
    """llhttp checking a chunked body; ``feed`` says whether the bytes so far end between chunks.

    Its chunk callbacks are the ``__next__`` of two ``itertools.count``: C calling C, no Python
    frame per chunk. Equal counts mean every chunk begun has ended (with its CRLF).
    """

    def __init__(self) -> None:
        self.heads = itertools.count()
        self.ends = itertools.count()
        self.on_chunk_header = self.heads.__next__
        self.on_chunk_complete = self.ends.__next__
        self.messages = 0
        self.done = False
        self.parser = httptools.HttpResponseParser(self)
        self.parser.feed_data(_CHUNKED_HEAD)

    def on_message_begin(self) -> None:
        self.messages += 1

    def on_message_complete(self) -> None:
        self.done = True

    def feed(self, data: memoryview) -> bool | None:
        """True if the bytes so far end between two chunks; None if the framing is broken.

        Equal counts also hold inside a size line (its callback comes at its LF), so the last
        byte must be the LF that ends a chunk's data.
        """
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            return None
        # Both counts advance by one here, which keeps their difference.
        return next(self.heads) == next(self.ends) and len(data) > 0 and data[-1] == 10

    def clean_end(self, rest: bytes, at_end: bool) -> bool:
        """The body ended exactly at the end of ``rest`` (which starts at a chunk boundary).

        After the end llhttp only skips CR and LF, so a ``0`` chunk as the very last bytes
        cannot be followed by anything; trailers or stray bytes take the exact walk instead.
        """
        return (
            self.messages == 1
            and at_end
            and (rest.endswith(b"\r\n0\r\n\r\n") or rest == b"0\r\n\r\n")
        )


class BufferedSocket:
    """``sock`` plus the bytes received but not yet consumed.

    With a ``guard`` (a ``gateway.watchdog.Watchdog`` and seconds) every receive must complete
    within that time, else it raises ``TimeoutError``; without one, timeouts are the socket's.
    """

    __slots__ = ("buf", "expired", "guard", "raw", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.raw = raw_socket(sock)
        self.buf = bytearray()
        self.guard: tuple[Watchdog, float] | None = None
        self.expired = False

    def send_all(self, data: bytes, limit: tuple[Watchdog, float] | None = None) -> None:
        """Send all of ``data``: in one system call when the kernel takes it (nearly always),
        else waiting for room — within ``limit`` (a watchdog and seconds) if given."""
        raw = self.raw
        if raw is not None:
            try:
                sent = raw.send(data)
            except BlockingIOError:
                sent = 0
            if sent == len(data):
                return
            data = memoryview(data)[sent:]  # type: ignore[assignment]
        if limit is None:
            self.sock.sendall(data)
            return
        watchdog, seconds = limit
        watchdog.arm(self, seconds)
        try:
            self.sock.sendall(data)
        except OSError:
            if self.expired:
                raise TimeoutError(f"the peer took nothing for {seconds:g} s") from None
            raise
        finally:
            watchdog.disarm(self)

    def expire(self) -> None:
        """Past its deadline (``gateway.watchdog``): closing the socket wakes the greenlet
        blocked on it with an ``OSError``, reported as a timeout."""
        self.expired = True
        with contextlib.suppress(OSError):
            self.sock.close()

    def recv(self, size: int) -> bytes:
        """One receive of at most ``size`` bytes, within the guard's time if there is one."""
        guard = self.guard
        if guard is None:
            return self.sock.recv(size)
        watchdog, seconds = guard
        watchdog.arm(self, seconds)
        try:
            return self.sock.recv(size)
        except OSError:
            if self.expired:
                raise TimeoutError(f"nothing received for {seconds:g} s") from None
            raise
        finally:
            watchdog.disarm(self)

    def fill(self) -> int:
        """Receive once into the buffer; 0 means the peer closed. Timeouts propagate."""
        data = self.recv(RECV_SIZE)
        self.buf += data
        return len(data)

    def read_head(self, limit: int) -> bytes | None:
        """Bytes up to and excluding the blank line ending a head; None on EOF before any byte."""
        buf = self.buf
        start = 0
        while True:
            end = buf.find(b"\r\n\r\n", start)
            if end >= 0:
                head = bytes(buf[:end])
                del buf[: end + 4]
                return head
            if len(buf) > limit:
                raise FramingError("head too large")
            start = max(0, len(buf) - 3)
            if not self.fill():
                if not buf:
                    return None
                raise PeerClosed("connection closed inside a head")

    def read_exact(self, n: int) -> bytes:
        """Exactly ``n`` bytes."""
        buf = self.buf
        while len(buf) < n:
            if not self.fill():
                raise PeerClosed(f"connection closed after {len(buf)} of {n} body bytes")
        if len(buf) == n:
            data = bytes(buf)
            buf.clear()
            return data
        data = bytes(buf[:n])
        del buf[:n]
        return data

    def iter_length(self, n: int) -> Iterator[bytes]:
        """The next ``n`` bytes, piece by piece as they arrive."""
        buf = self.buf
        while n > 0:
            if not buf and not self.fill():
                raise PeerClosed(f"connection closed with {n} body bytes missing")
            if len(buf) <= n:
                piece = bytes(buf)
                buf.clear()
            else:
                piece = bytes(buf[:n])
                del buf[:n]
            n -= len(piece)
            yield piece

    def iter_until_close(self) -> Iterator[bytes]:
        """Every byte until the peer closes (a body without length or chunking)."""
        if self.buf:
            piece = bytes(self.buf)
            self.buf.clear()
            yield piece
        while True:
            data = self.recv(RECV_SIZE)
            if not data:
                return
            yield data

    def iter_chunked(self, limit: int | None = None) -> Iterator[bytes]:
        """The decoded data of a chunked body, one piece per receive (not per chunk).

        A provider streams one SSE event per chunk; sending each on its own would cost a
        system call per event. Every chunk already received is decoded and joined, so a burst
        of 2,000 events leaves as a few large pieces. Trailers are read and dropped.
        """
        buf = self.buf
        remaining = 0  # data bytes of the current chunk still to come
        need_crlf = False  # the CRLF that ends a chunk's data
        total = 0
        first = True  # the first event leaves alone: time to first byte matters most
        while True:
            pos, end, out, last, starved = 0, len(buf), [], False, True
            view = memoryview(buf)
            while True:
                if remaining:
                    take = min(remaining, end - pos)
                    if not take:
                        break
                    out.append(view[pos : pos + take])
                    pos += take
                    remaining -= take
                    if remaining:
                        break
                    need_crlf = True
                    if first:
                        starved = False
                        break
                if need_crlf:
                    if end - pos < 2:
                        break
                    if buf[pos : pos + 2] != b"\r\n":
                        raise FramingError("chunk not followed by CRLF")
                    pos += 2
                    need_crlf = False
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    if end - pos > MAX_CHUNK_LINE:
                        raise FramingError("chunk line too long")
                    break
                try:
                    remaining = int(buf[pos:line_end], 16)
                except ValueError:  # chunk extensions (rare) or garbage
                    remaining = _chunk_size(buf[pos:line_end])
                if remaining < 0:
                    raise FramingError("negative chunk size")
                pos = line_end + 2
                if not remaining:
                    last = True
                    break
                total += remaining
                if limit is not None and total > limit:
                    raise FramingError("body too large")
            data = b"".join(out) if out else b""
            del out
            view.release()
            del buf[:pos]
            if data:
                first = False
                yield data
            if last:
                self._skip_trailers()
                return
            if starved and not self.fill():
                raise PeerClosed("connection closed inside a chunked body")

    def iter_chunked_raw(self) -> Iterator[bytes]:
        """A chunked body exactly as framed, cut only at chunk boundaries, for passthrough.

        llhttp (``httptools``, in C) checks the framing of every byte and finds the end, and two
        C-level counters of its chunk callbacks tell whether a cut falls between two chunks, so no
        Python code runs per chunk: a 2,000-event stream costs a few receives, feeds and sends
        instead of 2,000 trips through a loop. Every piece ends at a chunk boundary (so an error
        event can follow it); the first piece is the first chunk alone (time to first byte); the
        last ends with the terminating chunk and any trailers. Rare shapes (trailers, bytes after
        the end, broken framing, a break mid-chunk) go through the exact Python walk below, so
        they behave exactly as before.
        """
        chunks = _ChunkParser()
        # Checked but not sent yet (a chunk is still incomplete); starts at a chunk boundary.
        held: list[bytes] = []
        data = bytes(self.buf)
        self.buf.clear()
        first = True  # nothing sent yet: the first chunk leaves alone (time to first byte)
        while True:
            if data:
                cut = _first_chunk_end(data) if first and not held else _last_boundary_guess(data)
                start = 0
                for stop in (cut, len(data)) if 0 < cut < len(data) else (len(data),):
                    between = chunks.feed(memoryview(data)[start:stop])
                    part = data if stop - start == len(data) else data[start:stop]
                    start = stop
                    if between is None or chunks.done:
                        rest = b"".join((*held, data[stop - len(part) :]))
                        if between and chunks.clean_end(rest, stop == len(data)):
                            yield rest
                            return
                        self.buf[:0] = rest  # a rare shape: the exact walk takes over
                        yield from self._walk_raw(first=False)
                        return
                    if not between:
                        held.append(part)
                        continue
                    piece = b"".join((*held, part)) if held else part
                    held.clear()
                    first = False
                    yield piece
            try:
                data = self.recv(STREAM_RECV_SIZE)
            except OSError:  # a reset or a read timeout: chunks that arrived whole go out first
                self.buf[:0] = b"".join(held)
                yield from _complete_chunks(self.buf)
                raise
            if not data:
                self.buf[:0] = b"".join(held)
                yield from self._walk_raw(first=False)
                return

    def _walk_raw(self, first: bool = True) -> Iterator[bytes]:
        """The exact Python walk of a chunked body from ``self.buf`` (the rare shapes above)."""
        buf = self.buf
        while True:
            pos, last = _scan_chunks(buf, first)
            if pos:
                first = False
                data = bytes(buf[:pos])
                del buf[:pos]
                yield data
                if last:
                    return
                continue  # more chunks may be complete already; receive only when none is
            if not self.fill():
                raise PeerClosed("connection closed inside a chunked body")

    def _skip_trailers(self) -> None:
        while self._line():
            pass

    def _line(self) -> bytes:
        buf = self.buf
        while True:
            end = buf.find(b"\r\n")
            if end >= 0:
                line = bytes(buf[:end])
                del buf[: end + 2]
                return line
            if len(buf) > MAX_CHUNK_LINE:
                raise FramingError("chunk line too long")
            if not self.fill():
                raise PeerClosed("connection closed inside chunked framing")


def _chunk_size(line: bytearray) -> int:
    text = line.split(b";", 1)[0].strip() if b";" in line else line.strip()
    try:
        size = int(text, 16)
    except ValueError:
        raise FramingError(f"bad chunk size {bytes(text[:20])!r}") from None
    if size < 0:
        raise FramingError("negative chunk size")
    return size


def _scan_chunks(buf: bytearray, first: bool) -> tuple[int, bool]:
    """(end of the last complete chunk in ``buf``, whether it was the terminating one, with its
    trailers); ``buf`` starts at a chunk boundary. Exact; stops after one chunk when ``first``."""
    pos, end = 0, len(buf)
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            if end - pos > MAX_CHUNK_LINE:
                raise FramingError("chunk line too long")
            return pos, False
        try:
            size = int(buf[pos:line_end], 16)
        except ValueError:  # chunk extensions (rare) or garbage
            size = _chunk_size(buf[pos:line_end])
        if size < 0:
            raise FramingError("negative chunk size")
        if not size:
            stop = buf.find(b"\r\n\r\n", line_end)
            return (stop + 4, True) if stop >= 0 else (pos, False)
        chunk_end = line_end + 2 + size
        if chunk_end + 2 > end:
            return pos, False
        if buf[chunk_end] != 13 or buf[chunk_end + 1] != 10:  # CRLF, without a slice
            raise FramingError("chunk not followed by CRLF")
        pos = chunk_end + 2
        if first:
            return pos, False


def _complete_chunks(buf: bytearray) -> Iterator[bytes]:
    """The complete chunks at the start of ``buf`` (the connection broke), as one piece."""
    try:
        pos, _ = _scan_chunks(buf, False)
    except FramingError:
        return
    if pos:
        data = bytes(buf[:pos])
        del buf[:pos]
        yield data


def _first_chunk_end(data: bytes) -> int:
    """Where the first chunk of ``data`` ends (a guess the parser confirms), or -1."""
    line_end = data.find(b"\r\n")
    if line_end < 0:
        return -1
    try:
        return line_end + 2 + int(data[:line_end], 16) + 2
    except ValueError:
        return -1


def _last_boundary_guess(data: bytes) -> int:
    """The likely end of the last complete chunk in ``data``, found from the end in O(1) Python
    steps; the parser confirms it (chunk data with CRLF inside may fool it: then we wait)."""
    if data.endswith(b"\r\n"):
        last = len(data) - 2
        start = data.rfind(b"\r\n", max(0, last - MAX_CHUNK_LINE), last) + 2
        return start if start > 1 and _is_size_line(data[start:last]) else len(data)
    last = data.rfind(b"\r\n")
    if last < 0:
        return -1
    start = data.rfind(b"\r\n", max(0, last - MAX_CHUNK_LINE), last) + 2
    return start if start > 1 and _is_size_line(data[start:last]) else last + 2


def _is_size_line(line: bytes) -> bool:
    return 0 < len(line) <= 16 and not line.strip(b"0123456789abcdefABCDEF")
