"""The stream grammar validators accept good streams and name the rule a bad one breaks."""

from __future__ import annotations

import copy

import pytest

from gateway.translate import DONE, StreamGrammarError, validate_stream

ANTHROPIC = [
    {
        "type": "message_start",
        "message": {"id": "m", "usage": {"input_tokens": 3, "output_tokens": 1}},
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "t", "name": "Bash", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"a":'},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": "1}"},
    },
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}},
    {"type": "message_stop"},
]
RESPONSES = [
    {"type": "response.created", "sequence_number": 0, "response": {"id": "r"}},
    {
        "type": "response.output_item.added",
        "sequence_number": 1,
        "output_index": 0,
        "item": {"type": "message"},
    },
    {"type": "response.output_text.delta", "sequence_number": 2, "output_index": 0, "delta": "hi"},
    {"type": "response.output_text.done", "sequence_number": 3, "output_index": 0, "text": "hi"},
    {
        "type": "response.output_item.done",
        "sequence_number": 4,
        "output_index": 0,
        "item": {"type": "message"},
    },
    {
        "type": "response.output_item.added",
        "sequence_number": 5,
        "output_index": 1,
        "item": {"type": "function_call"},
    },
    {
        "type": "response.function_call_arguments.delta",
        "sequence_number": 6,
        "output_index": 1,
        "delta": "{}",
    },
    {
        "type": "response.function_call_arguments.done",
        "sequence_number": 7,
        "output_index": 1,
        "arguments": "{}",
    },
    {
        "type": "response.output_item.done",
        "sequence_number": 8,
        "output_index": 1,
        "item": {"type": "function_call"},
    },
    {
        "type": "response.completed",
        "sequence_number": 9,
        "response": {"status": "completed", "output": [{}, {}], "usage": {}},
    },
]
CHAT = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}}]},
    {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{"}}
                    ]
                },
            }
        ]
    },
    {
        "choices": [
            {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}}
        ]
    },
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    DONE,
]
GEMINI = [
    {"candidates": [{"content": {"parts": [{"text": "hi"}]}}]},
    {
        "candidates": [
            {
                "content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]},
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 1},
    },
]
GOOD = {"anthropic": ANTHROPIC, "responses": RESPONSES, "chat": CHAT, "gemini": GEMINI}


@pytest.mark.parametrize("fmt", GOOD)
def test_good_streams_pass(fmt: str) -> None:
    validate_stream(fmt, GOOD[fmt])


def mutate(events: list, index: int, change) -> list:
    events = copy.deepcopy(events)
    change(events, index)
    return events


def _set(path: tuple, value):
    def change(events: list, i: int) -> None:
        target = events[i]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(events: list, i: int) -> None:
    del events[i]


BAD = [
    ("anthropic", 0, _drop, "first event must be message_start"),
    ("anthropic", 0, _set(("message", "usage"), None), "usage.input_tokens"),
    ("anthropic", 4, _set(("index",), 2), "expected 1"),
    ("anthropic", 3, _drop, "while another is open"),
    ("anthropic", 2, _set(("delta", "type"), "input_json_delta"), "inside a text block"),
    ("anthropic", 6, _set(("delta", "partial_json"), "}}"), "not JSON"),
    ("anthropic", 9, _drop, "does not end with message_stop"),
    ("anthropic", 8, _drop, "before message_delta"),
    ("anthropic", 8, _set(("usage",), {}), "output_tokens"),
    ("responses", 0, _drop, "first event must be response.created"),
    ("responses", 3, _set(("text",), "ho"), "differs from its deltas"),
    ("responses", 7, _set(("arguments",), "{}x"), "differs from its deltas"),
    ("responses", 5, _set(("output_index",), 3), "expected 1"),
    ("responses", 4, _drop, "while another is open"),
    ("responses", 9, _drop, "ends without response.completed"),
    ("responses", 6, _set(("sequence_number",), 2), "not increasing"),
    ("responses", 9, _set(("response", "output"), [{}]), "every item"),
    ("chat", 4, _drop, "[DONE]"),
    ("chat", 3, _drop, "no finish_reason"),
    ("chat", 1, _set(("choices", 0, "delta", "tool_calls", 0, "index"), 1), "expected 0"),
    ("chat", 1, _set(("choices", 0, "delta", "tool_calls", 0, "id"), None), "lacks id or name"),
    (
        "chat",
        2,
        _set(("choices", 0, "delta", "tool_calls", 0, "function", "arguments"), "]"),
        "not JSON",
    ),
    (
        "gemini",
        1,
        _set(("candidates", 0, "content", "parts", 0, "functionCall", "args"), "{}"),
        "object args",
    ),
    ("gemini", 1, _set(("candidates", 0, "finishReason"), None), "no finishReason"),
    ("gemini", 1, _set(("usageMetadata", "promptTokenCount"), "1"), "integers"),
]


@pytest.mark.parametrize(
    ("fmt", "index", "change", "message"), BAD, ids=[f"{b[0]}-{b[3]}" for b in BAD]
)
def test_broken_streams_are_rejected_with_the_rule(
    fmt: str, index: int, change, message: str
) -> None:
    with pytest.raises(StreamGrammarError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_stream(fmt, mutate(GOOD[fmt], index, change))


def test_terminal_errors_are_valid_endings() -> None:
    validate_stream(
        "anthropic",
        [*ANTHROPIC[:3], {"type": "error", "error": {"type": "api_error", "message": "x"}}],
    )
    validate_stream(
        "responses",
        [
            *RESPONSES[:3],
            {"type": "response.failed", "sequence_number": 3, "response": {"status": "failed"}},
        ],
    )
    validate_stream("chat", [CHAT[0], {"error": {"message": "x"}}, DONE])
    validate_stream("gemini", [GEMINI[0], {"error": {"code": 500}}])
    with pytest.raises(StreamGrammarError, match="last"):
        validate_stream("gemini", [{"error": {"code": 500}}, GEMINI[0]])
