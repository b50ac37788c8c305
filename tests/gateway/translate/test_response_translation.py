"""Non-streaming responses, stop reasons, usage and error bodies across the four formats."""

from __future__ import annotations

import pytest

from gateway.translate import (
    Usage,
    error_message,
    translate_error,
    translate_response,
    usage_from_body,
)

# One answer (text + a tool call) as each provider sends it, with the same usage:
# 100 prompt tokens of which 40 cached, 20 output tokens.
RESPONSES = {
    "anthropic": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "hm", "signature": "sig"},
            {"type": "text", "text": "Listing."},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 60,
            "output_tokens": 20,
            "cache_read_input_tokens": 40,
            "cache_creation_input_tokens": 0,
        },
    },
    "responses": {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-5",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc"},
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Listing.", "annotations": []}],
            },
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "toolu_1",
                "name": "Bash",
                "arguments": '{"command":"ls"}',
                "status": "completed",
            },
        ],
        "usage": {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 40},
            "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 120,
        },
    },
    "chat": {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4.1",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Listing.",
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "Bash", "arguments": '{"command":"ls"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "total_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 40},
        },
    },
    "gemini": {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Listing."},
                        {
                            "functionCall": {
                                "id": "toolu_1",
                                "name": "Bash",
                                "args": {"command": "ls"},
                            },
                            "thoughtSignature": "g",
                        },
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "candidatesTokenCount": 20,
            "totalTokenCount": 120,
            "cachedContentTokenCount": 40,
        },
        "modelVersion": "gemini-2.5-pro",
        "responseId": "r1",
    },
}
FORMATS = list(RESPONSES)
PAIRS = [(s, t) for s in FORMATS for t in FORMATS if s != t]


def answer_of(fmt: str, body: dict) -> tuple[str, list[tuple[str, str, dict]], str]:
    """(text, [(id, name, args)], stop) read back from a body of ``fmt``."""
    import json

    if fmt == "anthropic":
        text = "".join(b["text"] for b in body["content"] if b["type"] == "text")
        calls = [
            (b["id"], b["name"], b["input"]) for b in body["content"] if b["type"] == "tool_use"
        ]
        return text, calls, body["stop_reason"]
    if fmt == "responses":
        text = "".join(
            p["text"] for i in body["output"] if i["type"] == "message" for p in i["content"]
        )
        calls = [
            (i["call_id"], i["name"], json.loads(i["arguments"]))
            for i in body["output"]
            if i["type"] == "function_call"
        ]
        return text, calls, body["status"]
    if fmt == "chat":
        msg = body["choices"][0]["message"]
        calls = [
            (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in msg.get("tool_calls", [])
        ]
        return msg["content"] or "", calls, body["choices"][0]["finish_reason"]
    cand = body["candidates"][0]
    text = "".join(p.get("text", "") for p in cand["content"]["parts"])
    calls = [
        (p["functionCall"].get("id"), p["functionCall"]["name"], p["functionCall"]["args"])
        for p in cand["content"]["parts"]
        if "functionCall" in p
    ]
    return text, calls, cand["finishReason"]


TOOL_STOP = {
    "anthropic": "tool_use",
    "responses": "completed",
    "chat": "tool_calls",
    "gemini": "STOP",
}


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_text_tool_call_stop_and_usage_survive_every_pair(source: str, target: str) -> None:
    out = translate_response(RESPONSES[source], source, target, model="shown-model")
    text, calls, stop = answer_of(target, out)
    assert text == "Listing."
    assert calls == [("toolu_1", "Bash", {"command": "ls"})]
    assert stop == TOOL_STOP[target]
    assert usage_from_body(target, out) == Usage(
        input_tokens=60, output_tokens=20, cache_read_tokens=40
    )


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_reasoning_state_never_crosses_providers(source: str, target: str) -> None:
    out = str(translate_response(RESPONSES[source], source, target))
    for secret in ("'sig'", "'enc'", "thoughtSignature"):
        if target != "gemini" or secret != "thoughtSignature":
            assert secret not in out


STOPS = [
    # (anthropic, responses status/reason, chat, gemini)
    ("end_turn", ("completed", None), "stop", "STOP"),
    ("max_tokens", ("incomplete", "max_output_tokens"), "length", "MAX_TOKENS"),
    ("refusal", ("incomplete", "content_filter"), "content_filter", "SAFETY"),
]


def _text_only(fmt: str, stop) -> dict:
    if fmt == "anthropic":
        return {
            "id": "m",
            "content": [{"type": "text", "text": "x"}],
            "stop_reason": stop,
            "usage": {},
        }
    if fmt == "responses":
        status, reason = stop
        return {
            "id": "r",
            "status": status,
            "incomplete_details": {"reason": reason} if reason else None,
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "x"}],
                }
            ],
        }
    if fmt == "chat":
        return {
            "id": "c",
            "choices": [{"message": {"role": "assistant", "content": "x"}, "finish_reason": stop}],
        }
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": stop}
        ]
    }


def _stop_of(fmt: str, body: dict):
    if fmt == "anthropic":
        return body["stop_reason"]
    if fmt == "responses":
        return body["status"], (body["incomplete_details"] or {}).get("reason")
    if fmt == "chat":
        return body["choices"][0]["finish_reason"]
    return body["candidates"][0]["finishReason"]


@pytest.mark.parametrize("row", STOPS, ids=[r[0] for r in STOPS])
@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_stop_reasons_map(row, source: str, target: str) -> None:
    index = FORMATS.index
    out = translate_response(_text_only(source, row[index(source)]), source, target)
    assert _stop_of(target, out) == row[index(target)]


def test_freeform_tool_calls_go_back_to_codex_as_custom_tool_calls() -> None:
    request = {
        "model": "gpt-5-codex",
        "tools": [{"type": "custom", "name": "apply_patch"}],
        "input": "x",
    }
    body = {
        "id": "m",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_9",
                "name": "apply_patch",
                "input": {"input": "*** Begin Patch"},
            }
        ],
        "stop_reason": "tool_use",
        "usage": {},
    }
    out = translate_response(body, "anthropic", "responses", request=request)
    item = out["output"][0]
    assert (
        item["type"] == "custom_tool_call"
        and item["input"] == "*** Begin Patch"
        and item["call_id"] == "toolu_9"
    )


def test_gemini_response_without_ids_gets_stable_ids() -> None:
    body = {
        "responseId": "abc",
        "candidates": [
            {
                "content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]},
                "finishReason": "STOP",
            }
        ],
    }
    one = translate_response(body, "gemini", "anthropic")
    two = translate_response(body, "gemini", "anthropic")
    assert one["content"][0]["id"] == two["content"][0]["id"] and one["content"][0][
        "id"
    ].startswith("call_rg")
    assert one["stop_reason"] == "tool_use"


# --- usage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "body", "expected"),
    [
        (
            "anthropic",
            {
                "usage": {
                    "input_tokens": 5,
                    "output_tokens": 7,
                    "cache_creation_input_tokens": 11,
                    "cache_read_input_tokens": 13,
                }
            },
            Usage(5, 7, 13, 11),
        ),
        (
            "responses",
            {
                "usage": {
                    "input_tokens": 30,
                    "input_tokens_details": {"cached_tokens": 10},
                    "output_tokens": 9,
                    "output_tokens_details": {"reasoning_tokens": 4},
                }
            },
            Usage(20, 9, 10, 0, 4),
        ),
        (
            "chat",
            {
                "usage": {
                    "prompt_tokens": 30,
                    "completion_tokens": 9,
                    "prompt_tokens_details": {"cached_tokens": 30},
                }
            },
            Usage(0, 9, 30, 0),
        ),
        (
            "gemini",
            {
                "usageMetadata": {
                    "promptTokenCount": 30,
                    "candidatesTokenCount": 9,
                    "thoughtsTokenCount": 6,
                    "cachedContentTokenCount": 5,
                }
            },
            Usage(25, 15, 5, 0, 6),
        ),
        (
            "responses",
            {
                "type": "response.completed",
                "response": {"usage": {"input_tokens": 3, "output_tokens": 1}},
            },
            Usage(3, 1),
        ),
        (
            "anthropic",
            {"type": "message_start", "message": {"usage": {"input_tokens": 3}}},
            Usage(3, 0),
        ),
        ("chat", {"choices": []}, None),
        ("gemini", "not a body", None),
    ],
)
def test_usage_is_read_with_each_providers_cache_semantics(fmt: str, body, expected) -> None:
    assert usage_from_body(fmt, body) == expected


def test_usage_ignores_nonsense_counts() -> None:
    assert (
        usage_from_body(
            "chat",
            {
                "usage": {
                    "prompt_tokens": -5,
                    "completion_tokens": "9",
                    "prompt_tokens_details": None,
                }
            },
        )
        == Usage()
    )


# --- errors ----------------------------------------------------------------------------------

UPSTREAM_ERRORS = {
    "anthropic": {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "Number of requests has exceeded your rate limit",
        },
    },
    "responses": {
        "error": {
            "message": "Number of requests has exceeded your rate limit",
            "type": "rate_limit_exceeded",
            "code": None,
        }
    },
    "chat": {
        "error": {
            "message": "Number of requests has exceeded your rate limit",
            "type": "rate_limit_exceeded",
        }
    },
    "gemini": {
        "error": {
            "code": 429,
            "message": "Number of requests has exceeded your rate limit",
            "status": "RESOURCE_EXHAUSTED",
        }
    },
}


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_errors_take_the_client_shape_and_keep_the_upstream_message(
    source: str, target: str
) -> None:
    status, body = translate_error(429, UPSTREAM_ERRORS[source], source, target)
    assert status == 429
    assert error_message(body, target) == "Number of requests has exceeded your rate limit"
    if target == "anthropic":
        assert body == {
            "type": "error",
            "error": {
                "type": "rate_limit_error",
                "message": "Number of requests has exceeded your rate limit",
            },
        }
    elif target == "gemini":
        assert body["error"]["status"] == "RESOURCE_EXHAUSTED" and body["error"]["code"] == 429
    else:
        assert body["error"]["type"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("status", "target", "expected_status", "kind"),
    [
        (529, "anthropic", 529, "overloaded_error"),
        (529, "responses", 503, "server_error"),
        (400, "anthropic", 400, "invalid_request_error"),
        (401, "chat", 401, "authentication_error"),
        (500, "gemini", 500, "INTERNAL"),
    ],
)
def test_error_status_and_type_table(
    status: int, target: str, expected_status: int, kind: str
) -> None:
    got_status, body = translate_error(
        status, {"error": {"message": "boom"}}, "chat" if target != "chat" else "anthropic", target
    )
    assert got_status == expected_status
    err = body["error"]
    assert kind in (err.get("type"), err.get("status"))


def test_error_body_that_is_not_json_is_kept_as_text() -> None:
    status, body = translate_error(502, "<html>Bad gateway</html>", "anthropic", "responses")
    assert status == 502 and body["error"]["message"] == "<html>Bad gateway</html>"


@pytest.mark.parametrize(
    ("fmt", "counts", "expected"),
    [
        (
            "anthropic",
            {"input": 60, "output": 20, "cache_read": 40, "cache_write": 5},
            Usage(60, 20, 40, 5),
        ),
        (
            "responses",
            {"input": 100, "output": 20, "cache_read": 40, "reasoning": 7},
            Usage(60, 20, 40, 0, 7),
        ),
        ("chat", {"input": 100, "output": 20, "cache_read": 40}, Usage(60, 20, 40)),
        (
            "gemini",
            {"input": 100, "output": 20, "cache_read": 40, "reasoning": 6},
            Usage(60, 26, 40, 0, 6),
        ),
        ("chat", {"input": 10, "cache_read": 40}, Usage(0, 0, 40)),
    ],
)
def test_counts_stored_as_reported_become_neutral_usage(
    fmt: str, counts: dict, expected: Usage
) -> None:
    from gateway.translate import from_reported

    assert from_reported(fmt, counts) == expected
