"""SSE framing: encoding per format and the incremental parser's edge cases."""

from __future__ import annotations

import pytest

from gateway.translate import DONE, MalformedEvent, SSEParser, encode_all, encode_sse, parse_data


def test_named_formats_repeat_the_type_as_the_event_name() -> None:
    assert (
        encode_sse("anthropic", {"type": "message_stop"})
        == b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    assert (
        encode_sse("responses", {"type": "response.completed", "x": "é"})
        == 'event: response.completed\ndata: {"type":"response.completed","x":"é"}\n\n'.encode()
    )


def test_data_only_formats_and_the_done_sentinel() -> None:
    assert encode_sse("chat", {"choices": []}) == b'data: {"choices":[]}\n\n'
    assert encode_sse("chat", DONE) == b"data: [DONE]\n\n"
    assert encode_sse("gemini", {"candidates": []}) == b'data: {"candidates":[]}\n\n'


def test_encode_then_parse_round_trips_byte_by_byte() -> None:
    events = [
        {"type": "message_start", "message": {"id": "m"}},
        {"type": "content_block_delta", "delta": {"text": "a\nb ✓"}},
    ]
    wire = encode_all("anthropic", events)
    parser = SSEParser()
    frames = []
    for i in range(len(wire)):  # one byte at a time: splits UTF-8 characters and frames
        frames += parser.feed(wire[i : i + 1])
    assert [(name, parse_data(data)) for name, data in frames] == [(e["type"], e) for e in events]


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b"data: {}\r\n\r\n", [("", "{}")]),
        (b"event: ping\ndata: {}\n\n", [("ping", "{}")]),
        (b": comment\n\ndata: 1\n\n", [("", "1")]),
        (b"data: a\ndata: b\n\n", [("", "a\nb")]),
        (b"data:{}\n\n", [("", "{}")]),
        (b"data: {}\r\rdata: 2\n\n", [("", "{}"), ("", "2")]),
    ],
)
def test_parser_accepts_the_line_endings_and_forms_providers_use(
    wire: bytes, expected: list
) -> None:
    assert SSEParser().feed(wire) == expected


def test_crlf_split_between_chunks_does_not_end_a_frame_early() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: 1\r") == []
    assert parser.feed(b"\ndata: 2\r\n\r\n") == [("", "1\n2")]


def test_incomplete_frame_waits_and_close_returns_it() -> None:
    parser = SSEParser()
    assert parser.feed(b'data: {"a":') == []
    assert parser.feed(b"1}") == []
    assert parser.close() == [("", '{"a":1}')]


def test_malformed_data_and_bytes_raise_a_clear_error() -> None:
    with pytest.raises(MalformedEvent, match="not JSON"):
        parse_data("{oops")
    with pytest.raises(MalformedEvent, match="not UTF-8"):
        SSEParser().feed(b"data: \xff\n\n")
    assert parse_data(" [DONE] ") == DONE
