"""Chunked framing over a real socket pair: any chunking, any split of the bytes in transit."""

from __future__ import annotations

import random
import socket

import pytest

from gateway.bufsock import BufferedSocket, FramingError, PeerClosed


def send_split(wire: bytes, rng: random.Random) -> socket.socket:
    """A socket to read ``wire`` from, written in random-sized pieces (then closed)."""
    writer, reader = socket.socketpair()
    pos = 0
    while pos < len(wire):
        n = rng.randint(1, 300)
        writer.sendall(wire[pos : pos + n])
        pos += n
    writer.close()
    return reader


@pytest.mark.parametrize("seed", range(40))
def test_any_chunking_decodes_to_the_same_bytes(seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(rng.randint(0, 5000))
    chunks, i = [], 0
    while i < len(data):
        n = rng.randint(1, 700)
        chunks.append(data[i : i + n])
        i += n
    wire = b"".join(
        b"%x%s\r\n%b\r\n" % (len(c), b";name=v" if rng.random() < 0.1 else b"", c) for c in chunks
    )
    wire += b"0\r\nX-Trailer: 1\r\n\r\nNEXT REQUEST"
    reader = BufferedSocket(send_split(wire, rng))
    assert b"".join(reader.iter_chunked()) == data
    assert bytes(reader.buf) == b"NEXT REQUEST"[: len(reader.buf)]
    reader.sock.close()


def test_many_small_chunks_arriving_together_leave_as_one_piece() -> None:
    events = [b"event: e\ndata: {}\n\n"] * 2000
    wire = b"".join(b"%x\r\n%b\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    writer, raw = socket.socketpair()
    writer.sendall(wire)
    pieces = list(BufferedSocket(raw).iter_chunked())
    assert b"".join(pieces) == b"".join(events)
    assert len(pieces) < 50  # one per receive, not 2,000
    writer.close()
    raw.close()


@pytest.mark.parametrize(
    "wire, error",
    [
        (b"zz\r\nab\r\n0\r\n\r\n", FramingError),
        (b"2\r\nabXX0\r\n\r\n", FramingError),
        (b"5\r\nab", PeerClosed),
        (b"F" * 5000, FramingError),
    ],
)
def test_broken_framing_is_an_error(wire: bytes, error: type[Exception]) -> None:
    reader = BufferedSocket(send_split(wire, random.Random(1)))
    with pytest.raises(error):
        list(reader.iter_chunked())
    reader.sock.close()


def test_a_body_over_the_limit_is_refused() -> None:
    wire = b"".join(b"400\r\n" + b"x" * 1024 + b"\r\n" for _ in range(10)) + b"0\r\n\r\n"
    reader = BufferedSocket(send_split(wire, random.Random(2)))
    with pytest.raises(FramingError, match="too large"):
        list(reader.iter_chunked(limit=4096))
    reader.sock.close()


@pytest.mark.parametrize("seed", range(40))
def test_raw_passthrough_keeps_the_framing_and_cuts_at_chunk_boundaries(seed: int) -> None:
    rng = random.Random(seed)
    chunks = [rng.randbytes(rng.randint(1, 500)) for _ in range(rng.randint(0, 30))]
    trailer = b"X-T: 1\r\n" if rng.random() < 0.3 else b""
    wire = b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + b"0\r\n" + trailer + b"\r\n"
    reader = BufferedSocket(send_split(wire + b"NEXT", rng))
    pieces = list(reader.iter_chunked_raw())
    assert b"".join(pieces) == wire
    boundaries = {0}
    offset = 0
    for c in chunks:
        offset += len(b"%x\r\n" % len(c)) + len(c) + 2
        boundaries.add(offset)
    cut = 0
    for piece in pieces[:-1]:
        cut += len(piece)
        assert cut in boundaries  # an error event can always be appended between pieces
    assert bytes(reader.buf) == b"NEXT"[: len(reader.buf)]
    reader.sock.close()


def test_raw_passthrough_of_a_broken_stream_raises() -> None:
    reader = BufferedSocket(send_split(b"5\r\nhello\r\n5\r\nwor", random.Random(3)))
    pieces = []
    with pytest.raises(PeerClosed):
        for piece in reader.iter_chunked_raw():
            pieces.append(piece)
    assert pieces == [b"5\r\nhello\r\n"]
    reader.sock.close()


def _exact_boundaries(chunks: list[bytes]) -> set[int]:
    boundaries, offset = {0}, 0
    for c in chunks:
        offset += len(b"%x\r\n" % len(c)) + len(c) + 2
        boundaries.add(offset)
    return boundaries


@pytest.mark.parametrize("seed", range(60))
def test_raw_passthrough_is_exact_when_chunk_data_looks_like_framing(seed: int) -> None:
    """Chunk data full of CRLFs and hex-looking lines (CRLF-terminated SSE, say) must never
    fool the cut: every cut is a real boundary and the bytes are the same."""
    rng = random.Random(1000 + seed)
    tricky = [b"\r\n", b"\r\n0\r\n\r\n", b"a\r\n", b"1f\r\n", b"data: x\r\n\r\n", b"\n\n"]
    chunks = [
        b"".join(rng.choice(tricky) if rng.random() < 0.5 else rng.randbytes(3) for _ in range(n))
        for n in (rng.randint(1, 12) for _ in range(rng.randint(1, 40)))
    ]
    wire = b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    reader = BufferedSocket(Trickle(wire, rng))  # type: ignore[arg-type]
    pieces = list(reader.iter_chunked_raw())
    assert b"".join(pieces) == wire
    boundaries, cut = _exact_boundaries(chunks), 0
    for piece in pieces[:-1]:
        cut += len(piece)
        assert cut in boundaries
    assert not reader.buf
    assert reader.sock.reads > len(pieces) // 2  # the bytes really came in many receives


class Trickle:
    """A socket stand-in whose every ``recv`` returns the next random-sized slice of ``wire``:
    each receive boundary is one the relay must handle (real sockets coalesce small writes)."""

    def __init__(self, wire: bytes, rng: random.Random) -> None:
        self.wire, self.rng, self.pos, self.reads = wire, rng, 0, 0

    def recv(self, size: int) -> bytes:
        self.reads += 1
        n = min(size, self.rng.randint(1, 40))
        data = self.wire[self.pos : self.pos + n]
        self.pos += len(data)
        return data


def test_a_burst_of_2000_events_is_relayed_in_a_few_pieces_and_the_first_chunk_alone() -> None:
    events = [b'event: content_block_delta\ndata: {"i":%d}\n\n' % i for i in range(2000)]
    framed = [b"%x\r\n%b\r\n" % (len(e), e) for e in events]
    writer, raw = socket.socketpair()
    writer.sendall(framed[0] + b"".join(framed[1:]) + b"0\r\n\r\n")
    pieces = list(BufferedSocket(raw).iter_chunked_raw())
    assert pieces[0] == framed[0]  # time to first byte: the first event leaves at once
    assert b"".join(pieces) == b"".join(framed) + b"0\r\n\r\n"
    assert len(pieces) < 20
    writer.close()
    raw.close()


def test_a_stream_cut_mid_chunk_sends_its_whole_chunks_then_raises() -> None:
    """All bytes arrive in one receive, the last chunk incomplete, then the peer closes."""
    writer, raw = socket.socketpair()
    writer.sendall(b"5\r\nhello\r\n6\r\nworld!\r\n9\r\nincompl")
    writer.close()
    pieces = []
    with pytest.raises(PeerClosed):
        for piece in BufferedSocket(raw).iter_chunked_raw():
            pieces.append(piece)
    assert b"".join(pieces) == b"5\r\nhello\r\n6\r\nworld!\r\n"
    raw.close()


def test_a_reset_mid_chunk_sends_the_whole_chunks_then_raises() -> None:
    writer, raw = socket.socketpair()
    raw.settimeout(0.3)  # the peer stays silent: a read timeout, as with a hung provider
    writer.sendall(b"5\r\nhello\r\n6\r\nworld!\r\n9\r\nincompl")
    reader = BufferedSocket(raw)
    pieces = []
    with pytest.raises(TimeoutError):
        for piece in reader.iter_chunked_raw():
            pieces.append(piece)
    assert b"".join(pieces) == b"5\r\nhello\r\n6\r\nworld!\r\n"
    writer.close()
    raw.close()


@pytest.mark.parametrize(
    "wire",
    [b"zz\r\nab\r\n0\r\n\r\n", b"2\r\nabXX0\r\n\r\n", b"3\r\nabc\r\n-1\r\n"],
)
def test_raw_passthrough_refuses_broken_framing_after_the_good_chunks(wire: bytes) -> None:
    writer, raw = socket.socketpair()
    writer.sendall(b"3\r\nabc\r\n" + wire)
    writer.close()
    pieces = []
    with pytest.raises(FramingError):
        for piece in BufferedSocket(raw).iter_chunked_raw():
            pieces.append(piece)
    assert b"".join(pieces) in (b"", b"3\r\nabc\r\n", b"3\r\nabc\r\n3\r\nabc\r\n")
    raw.close()


def test_a_slow_stream_leaves_event_by_event_and_a_split_chunk_once_whole() -> None:
    """No whole chunk waits for later bytes: each piece is yielded before the next is sent."""
    writer, raw = socket.socketpair()
    raw.settimeout(5)
    pieces = BufferedSocket(raw).iter_chunked_raw()
    for i in range(5):
        data = b'event: e\ndata: {"i":%d}\n\n' % i
        event = b"%x\r\n%b\r\n" % (len(data), data)
        writer.sendall(event)
        assert next(pieces) == event
    writer.sendall(b"8\r\nhalf")  # a chunk split across two writes is held, then sent whole
    writer.sendall(b"-way\r\n")
    assert next(pieces) == b"8\r\nhalf-way\r\n"
    writer.sendall(b"0\r\n\r\n")
    assert next(pieces) == b"0\r\n\r\n"
    assert next(pieces, None) is None
    writer.close()
    raw.close()


@pytest.mark.parametrize("seed", range(20))
def test_the_boundary_detector_agrees_with_the_framing_after_every_byte(seed: int) -> None:
    """Fed one byte at a time, the llhttp check says "between chunks" exactly at the real
    boundaries: never inside a size line, an extension, chunk data or its CRLF."""
    from gateway.bufsock import _ChunkParser

    rng = random.Random(seed)
    tricky = [b"\r\n", b"\r\n0\r\n\r\n", b"a\r\n", b"1f\r\n", b"\n", b"\r"]
    chunks = [
        b"".join(rng.choice(tricky) if rng.random() < 0.5 else rng.randbytes(2) for _ in range(n))
        for n in (rng.randint(1, 6) for _ in range(rng.randint(1, 12)))
    ]
    ext = b";name=v" if seed % 3 == 0 else b""
    wire = b"".join(b"%x%b\r\n%b\r\n" % (len(c), ext, c) for c in chunks) + b"0\r\n\r\n"
    boundaries, offset = set(), 0
    for c in chunks:
        offset += len(b"%x%b\r\n" % (len(c), ext)) + len(c) + 2
        boundaries.add(offset)
    parser = _ChunkParser()
    for i in range(1, len(wire) + 1):
        between = parser.feed(memoryview(wire)[i - 1 : i])
        assert bool(between) == (i in boundaries or i == len(wire)), i
    assert parser.done


@pytest.mark.parametrize("seed", range(40))
def test_raw_passthrough_in_many_receives_with_trailers_extensions_and_bytes_after(
    seed: int,
) -> None:
    rng = random.Random(2000 + seed)
    chunks = [rng.randbytes(rng.randint(1, 200)) for _ in range(rng.randint(0, 20))]
    ext = b";a=b" if rng.random() < 0.3 else b""
    trailer = b"X-T: 1\r\n" if rng.random() < 0.3 else b""
    wire = b"".join(b"%x%b\r\n%b\r\n" % (len(c), ext, c) for c in chunks)
    wire += b"0\r\n" + trailer + b"\r\n"
    after = b"NEXT" if rng.random() < 0.5 else b""
    reader = BufferedSocket(Trickle(wire + after, rng))  # type: ignore[arg-type]
    pieces = list(reader.iter_chunked_raw())
    assert b"".join(pieces) == wire
    boundaries, offset = {0}, 0
    for c in chunks:
        offset += len(b"%x%b\r\n" % (len(c), ext)) + len(c) + 2
        boundaries.add(offset)
    cut = 0
    for piece in pieces[:-1]:
        cut += len(piece)
        assert cut in boundaries
    assert after.startswith(bytes(reader.buf))
