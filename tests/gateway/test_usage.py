"""Token counts come from the head and tail windows of a response, in each provider's semantics."""

from __future__ import annotations

import json

from gateway.usage import extract_tokens


def sse(*events: dict) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def test_anthropic_stream_merges_message_start_and_message_delta() -> None:
    start = {
        "type": "message_start",
        "message": {
            "content": [],
            "usage": {
                "input_tokens": 120,
                "cache_read_input_tokens": 900,
                "cache_creation_input_tokens": 40,
                "output_tokens": 1,
            },
        },
    }
    deltas = [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": 'say "usage": {"input_tokens": 999}'},
        }
    ] * 50
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 77},
    }
    stream = sse(start, *deltas, end, {"type": "message_stop"})
    assert extract_tokens("anthropic", stream[:16384], stream[-2000:]) == {
        "input": 120,
        "output": 77,
        "cache_read": 900,
        "cache_write": 40,
    }


def test_anthropic_json_body() -> None:
    body = json.dumps(
        {
            "content": [{"type": "tool_use", "input": {"usage": {"input_tokens": 5}}}],
            "usage": {"input_tokens": 3, "output_tokens": 4},
        }
    ).encode()
    assert extract_tokens("anthropic", b"", body) == {"input": 3, "output": 4}


def test_responses_completed_event() -> None:
    usage = {
        "input_tokens": 50,
        "input_tokens_details": {"cached_tokens": 20},
        "output_tokens": 9,
        "output_tokens_details": {"reasoning_tokens": 4},
        "total_tokens": 59,
    }
    stream = sse(
        {"type": "response.created", "response": {"usage": None}},
        {"type": "response.completed", "response": {"output": [], "usage": usage}},
    )
    assert extract_tokens("responses", stream, stream) == {
        "input": 50,
        "output": 9,
        "cache_read": 20,
        "reasoning": 4,
    }


def test_chat_usage_chunk_after_null_usages() -> None:
    chunks = [{"choices": [{"delta": {"content": "hi"}}], "usage": None}] * 3 + [
        {
            "choices": [],
            "usage": {
                "prompt_tokens": 8,
                "completion_tokens": 2,
                "prompt_tokens_details": {"cached_tokens": 1},
            },
        }
    ]
    stream = (
        b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    )
    assert extract_tokens("chat", stream, stream) == {"input": 8, "output": 2, "cache_read": 1}


def test_no_usage_gives_no_counts() -> None:
    assert extract_tokens("anthropic", b"event: ping\n\n", b"garbage") == {}
    assert extract_tokens("chat", b"", b'{"usage": null}') == {}


def test_counts_survive_chunk_framing_that_splits_the_usage_object() -> None:
    from gateway.usage import unframe

    stream = sse(
        {"type": "message_start", "message": {"usage": {"input_tokens": 12, "output_tokens": 1}}},
        {"type": "message_delta", "usage": {"output_tokens": 30}},
    )
    cut = stream.index(b'output_tokens": 30') + 5  # a chunk boundary inside the final usage
    framed = (
        b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in (stream[:40], stream[40:cut], stream[cut:]))
        + b"0\r\n\r\n"
    )
    assert unframe(framed) == stream + b"\r\n"
    assert extract_tokens("anthropic", unframe(framed), unframe(framed[-60:])) == {
        "input": 12,
        "output": 30,
    }
