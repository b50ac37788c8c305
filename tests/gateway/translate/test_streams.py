"""Stream translation: every upstream format into every client format, and the stream traps."""

from __future__ import annotations

import json

import pytest

from gateway.translate import DONE, StreamTranslator, Usage, validate_stream

ARGS = '{"command": "ls -la"}'

# The same answer (text, then a tool call whose arguments stream in two fragments) as each
# provider streams it, usage 100 prompt tokens (40 cached) and 20 output tokens.
UPSTREAM = {
    "anthropic": [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [],
                "usage": {
                    "input_tokens": 60,
                    "cache_read_input_tokens": 40,
                    "cache_creation_input_tokens": 0,
                    "output_tokens": 1,
                },
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Let me list."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "sig=="},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "ping"},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "Listing "},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "files."},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": ARGS[:9]},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": ARGS[9:]},
        },
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 20},
        },
        {"type": "message_stop"},
    ],
    "responses": [
        {
            "type": "response.created",
            "sequence_number": 0,
            "response": {"id": "resp_1", "model": "gpt-5", "status": "in_progress", "output": []},
        },
        {
            "type": "response.in_progress",
            "sequence_number": 1,
            "response": {"id": "resp_1", "status": "in_progress"},
        },
        {
            "type": "response.output_item.added",
            "sequence_number": 2,
            "output_index": 0,
            "item": {"type": "reasoning", "id": "rs_1", "summary": []},
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 3,
            "output_index": 0,
            "item": {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc"},
        },
        {
            "type": "response.output_item.added",
            "sequence_number": 4,
            "output_index": 1,
            "item": {"type": "message", "id": "m1", "role": "assistant", "content": []},
        },
        {
            "type": "response.content_part.added",
            "sequence_number": 5,
            "output_index": 1,
            "content_index": 0,
            "item_id": "m1",
            "part": {"type": "output_text", "text": ""},
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 6,
            "output_index": 1,
            "content_index": 0,
            "item_id": "m1",
            "delta": "Listing ",
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 7,
            "output_index": 1,
            "content_index": 0,
            "item_id": "m1",
            "delta": "files.",
        },
        {
            "type": "response.output_text.done",
            "sequence_number": 8,
            "output_index": 1,
            "content_index": 0,
            "item_id": "m1",
            "text": "Listing files.",
        },
        {
            "type": "response.content_part.done",
            "sequence_number": 9,
            "output_index": 1,
            "content_index": 0,
            "item_id": "m1",
            "part": {"type": "output_text", "text": "Listing files."},
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 10,
            "output_index": 1,
            "item": {
                "type": "message",
                "id": "m1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Listing files."}],
            },
        },
        {
            "type": "response.output_item.added",
            "sequence_number": 11,
            "output_index": 2,
            "item": {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "toolu_1",
                "name": "Bash",
                "arguments": "",
            },
        },
        {
            "type": "response.function_call_arguments.delta",
            "sequence_number": 12,
            "output_index": 2,
            "item_id": "fc_1",
            "delta": ARGS[:9],
        },
        {
            "type": "response.function_call_arguments.delta",
            "sequence_number": 13,
            "output_index": 2,
            "item_id": "fc_1",
            "delta": ARGS[9:],
        },
        {
            "type": "response.function_call_arguments.done",
            "sequence_number": 14,
            "output_index": 2,
            "item_id": "fc_1",
            "arguments": ARGS,
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 15,
            "output_index": 2,
            "item": {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "toolu_1",
                "name": "Bash",
                "arguments": ARGS,
                "status": "completed",
            },
        },
        {
            "type": "response.completed",
            "sequence_number": 16,
            "response": {
                "id": "resp_1",
                "status": "completed",
                "model": "gpt-5",
                "output": [{}, {}, {}],
                "usage": {
                    "input_tokens": 100,
                    "input_tokens_details": {"cached_tokens": 40},
                    "output_tokens": 20,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 120,
                },
            },
        },
    ],
    "chat": [
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": "gpt-4.1",
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
        },
        {
            "id": "c1",
            "choices": [{"index": 0, "delta": {"content": "Listing "}, "finish_reason": None}],
        },
        {
            "id": "c1",
            "choices": [{"index": 0, "delta": {"content": "files."}, "finish_reason": None}],
        },
        {
            "id": "c1",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "toolu_1",
                                "type": "function",
                                "function": {"name": "Bash", "arguments": ""},
                            }
                        ]
                    },
                    "finish_reason": None,
                }
            ],
        },
        {
            "id": "c1",
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ARGS[:9]}}]},
                    "finish_reason": None,
                }
            ],
        },
        {
            "id": "c1",
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ARGS[9:]}}]},
                    "finish_reason": None,
                }
            ],
        },
        {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {
            "id": "c1",
            "choices": [],
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "total_tokens": 120,
                "prompt_tokens_details": {"cached_tokens": 40},
            },
        },
        DONE,
    ],
    "gemini": [
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"text": "Let me think", "thought": True}],
                    },
                    "index": 0,
                }
            ],
            "responseId": "r1",
            "modelVersion": "gemini-2.5-pro",
        },
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "Listing "}]}, "index": 0}
            ],
            "responseId": "r1",
        },
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "files."}]}, "index": 0}
            ],
            "responseId": "r1",
        },
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {
                                "functionCall": {
                                    "id": "toolu_1",
                                    "name": "Bash",
                                    "args": json.loads(ARGS),
                                },
                                "thoughtSignature": "gs",
                            }
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
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 100}],
            },
            "responseId": "r1",
        },
    ],
}
FORMATS = list(UPSTREAM)
PAIRS = [(u, c) for u in FORMATS for c in FORMATS if u != c]


def run(
    upstream: str, client: str, events: list, request: dict | None = None
) -> tuple[list, StreamTranslator]:
    tr = StreamTranslator(upstream, client, "shown-model", request)
    out: list = []
    for ev in events:
        out += tr.feed(ev)
    out += tr.finish()
    return out, tr


def content_of(fmt: str, events: list) -> tuple[str, list[tuple[str, str, dict]]]:
    """The text and the tool calls (id, name, parsed args) a client rebuilds from the stream."""
    text = ""
    calls: list[list] = []
    for ev in events:
        if fmt == "anthropic":
            if ev["type"] == "content_block_start" and ev["content_block"]["type"] == "tool_use":
                calls.append([ev["content_block"]["id"], ev["content_block"]["name"], ""])
            elif ev["type"] == "content_block_delta":
                d = ev["delta"]
                if d["type"] == "text_delta":
                    text += d["text"]
                else:
                    calls[-1][2] += d["partial_json"]
        elif fmt == "responses":
            if ev["type"] == "response.output_text.delta":
                text += ev["delta"]
            elif (
                ev["type"] == "response.output_item.done" and ev["item"]["type"] == "function_call"
            ):
                calls.append([ev["item"]["call_id"], ev["item"]["name"], ev["item"]["arguments"]])
        elif fmt == "chat":
            if ev == DONE or not ev.get("choices"):
                continue
            delta = ev["choices"][0]["delta"]
            text += delta.get("content") or ""
            for tc in delta.get("tool_calls") or []:
                if tc.get("id"):
                    calls.append([tc["id"], tc["function"]["name"], ""])
                calls[tc["index"]][2] += tc["function"].get("arguments") or ""
        else:
            for part in ev["candidates"][0]["content"]["parts"]:
                text += part.get("text", "")
                if "functionCall" in part:
                    fc = part["functionCall"]
                    calls.append([fc.get("id"), fc["name"], json.dumps(fc["args"])])
    return text, [(i, n, json.loads(a or "{}")) for i, n, a in calls]


def test_fixtures_are_valid_upstream_streams() -> None:
    for fmt, events in UPSTREAM.items():
        validate_stream(fmt, events)


@pytest.mark.parametrize(("upstream", "client"), PAIRS)
def test_every_pair_keeps_text_tool_arguments_and_usage(upstream: str, client: str) -> None:
    out, tr = run(upstream, client, UPSTREAM[upstream])
    validate_stream(client, out)
    text, calls = content_of(client, out)
    assert text == "Listing files."
    assert calls == [("toolu_1", "Bash", {"command": "ls -la"})]
    assert tr.usage == Usage(input_tokens=60, output_tokens=20, cache_read_tokens=40)
    assert not tr.failed


@pytest.mark.parametrize("upstream", [f for f in FORMATS if f != "anthropic"])
def test_anthropic_client_gets_tool_arguments_as_input_json_deltas_and_tool_use_stop(
    upstream: str,
) -> None:
    out, _ = run(upstream, "anthropic", UPSTREAM[upstream])
    deltas = [
        e["delta"]
        for e in out
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    ]
    assert deltas and all(d["partial_json"] for d in deltas)  # never an empty input_json_delta
    assert json.loads("".join(d["partial_json"] for d in deltas)) == {"command": "ls -la"}
    message_delta = next(e for e in out if e["type"] == "message_delta")
    assert message_delta["delta"]["stop_reason"] == "tool_use"
    assert message_delta["usage"] == {
        "input_tokens": 60,
        "output_tokens": 20,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 40,
    }
    assert [e["type"] for e in out][-2:] == ["message_delta", "message_stop"]


def test_anthropic_block_indices_stay_contiguous_when_thinking_is_dropped() -> None:
    out, _ = run("anthropic", "responses", UPSTREAM["anthropic"])
    assert [e["output_index"] for e in out if e["type"] == "response.output_item.added"] == [0, 1]
    gemini_out, _ = run("gemini", "anthropic", UPSTREAM["gemini"])
    assert [e["index"] for e in gemini_out if e["type"] == "content_block_start"] == [0, 1]


@pytest.mark.parametrize("upstream", [f for f in FORMATS if f != "responses"])
def test_responses_client_always_gets_response_completed_with_every_item(upstream: str) -> None:
    out, _ = run(upstream, "responses", UPSTREAM[upstream])
    last = out[-1]
    assert last["type"] == "response.completed"
    assert [i["type"] for i in last["response"]["output"]] == ["message", "function_call"]
    assert last["response"]["usage"]["input_tokens"] == 100
    assert last["response"]["usage"]["input_tokens_details"] == {"cached_tokens": 40}


@pytest.mark.parametrize("client", [f for f in FORMATS if f != "chat"])
def test_chat_tool_arguments_sent_whole_in_one_fragment_are_kept(client: str) -> None:
    events = [
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_a",
                                "function": {"name": "Read", "arguments": '{"path":"a"}'},
                            }
                        ]
                    },
                }
            ],
        },
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 1,
                                "id": "call_b",
                                "function": {"name": "Read", "arguments": '{"path":"b"}'},
                            }
                        ]
                    },
                }
            ],
        },
        {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        DONE,
    ]
    out, _ = run("chat", client, events)
    validate_stream(client, out)
    assert content_of(client, out)[1] == [
        ("call_a", "Read", {"path": "a"}),
        ("call_b", "Read", {"path": "b"}),
    ]


@pytest.mark.parametrize("client", [f for f in FORMATS if f != "gemini"])
def test_gemini_calls_without_ids_get_the_same_ids_as_non_streaming(client: str) -> None:
    from gateway.translate import translate_response

    chunk = {
        "responseId": "rX",
        "candidates": [
            {
                "content": {"parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}]},
                "finishReason": "STOP",
            }
        ],
    }
    out, _ = run("gemini", client, [chunk])
    streamed_id = content_of(client, out)[1][0][0]
    whole = translate_response(chunk, "gemini", "anthropic")
    assert streamed_id == whole["content"][0]["id"]


def test_custom_tools_reach_codex_as_custom_tool_call_items() -> None:
    request = {"tools": [{"type": "custom", "name": "apply_patch"}]}
    patch = '*** Begin Patch\n*** Add File: a.txt\n+hi "there"\n*** End Patch'
    events = [
        {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 5}}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_p",
                "name": "apply_patch",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {
                "type": "input_json_delta",
                "partial_json": json.dumps({"input": patch})[:20],
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {
                "type": "input_json_delta",
                "partial_json": json.dumps({"input": patch})[20:],
            },
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    out, _ = run("anthropic", "responses", events, request)
    validate_stream("responses", out)
    done = next(e for e in out if e["type"] == "response.output_item.done")
    assert done["item"]["type"] == "custom_tool_call" and done["item"]["input"] == patch
    assert (
        next(e for e in out if e["type"] == "response.custom_tool_call_input.done")["input"]
        == patch
    )


def test_custom_tool_calls_from_codex_upstream_become_json_arguments() -> None:
    events = [
        {"type": "response.created", "sequence_number": 0, "response": {"id": "r"}},
        {
            "type": "response.output_item.added",
            "sequence_number": 1,
            "output_index": 0,
            "item": {
                "type": "custom_tool_call",
                "call_id": "c1",
                "name": "apply_patch",
                "input": "",
            },
        },
        {
            "type": "response.custom_tool_call_input.delta",
            "sequence_number": 2,
            "output_index": 0,
            "delta": 'line "1"\n',
        },
        {
            "type": "response.custom_tool_call_input.done",
            "sequence_number": 3,
            "output_index": 0,
            "input": 'line "1"\n',
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 4,
            "output_index": 0,
            "item": {
                "type": "custom_tool_call",
                "call_id": "c1",
                "name": "apply_patch",
                "input": 'line "1"\n',
            },
        },
        {
            "type": "response.completed",
            "sequence_number": 5,
            "response": {"status": "completed", "output": [{}], "usage": {}},
        },
    ]
    out, _ = run("responses", "anthropic", events)
    validate_stream("anthropic", out)
    assert content_of("anthropic", out)[1] == [("c1", "apply_patch", {"input": 'line "1"\n'})]


@pytest.mark.parametrize(("upstream", "client"), PAIRS)
@pytest.mark.parametrize("cut", ["after-first", "half-way", "before-last"])
def test_a_truncated_upstream_stream_ends_in_a_well_formed_failure(
    upstream: str, client: str, cut: str
) -> None:
    full = UPSTREAM[upstream]
    # Gemini has no terminator: "complete" means a finishReason arrived (on its last chunk).
    # Chat is complete once finish_reason arrived (the usage chunk and [DONE] only follow it).
    last = len(full) - 3 if upstream == "chat" else len(full) - 1
    events = full[: {"after-first": 1, "half-way": len(full) // 2, "before-last": last}[cut]]
    out, tr = run(upstream, client, events)
    validate_stream(client, out)
    assert tr.failed
    terminal = {"anthropic": "error", "responses": "response.failed"}.get(client)
    if terminal:
        assert out[-1]["type"] == terminal
    elif client == "chat":
        assert (
            out[-2]["error"]["message"] == "upstream stream ended before completion"
            and out[-1] == DONE
        )
    else:
        assert out[-1]["error"]["status"] == "INTERNAL"


MID_STREAM_ERRORS = {
    "anthropic": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    "responses": {
        "type": "response.failed",
        "sequence_number": 99,
        "response": {
            "status": "failed",
            "error": {"code": "server_error", "message": "Overloaded"},
        },
    },
    "chat": {"error": {"message": "Overloaded", "type": "server_error"}},
    "gemini": {"error": {"code": 503, "message": "Overloaded", "status": "UNAVAILABLE"}},
}


@pytest.mark.parametrize(("upstream", "client"), PAIRS)
def test_an_upstream_error_mid_stream_keeps_its_message(upstream: str, client: str) -> None:
    events = [*UPSTREAM[upstream][:3], MID_STREAM_ERRORS[upstream]]
    out, tr = run(upstream, client, events)
    validate_stream(client, out)
    assert tr.failed and "Overloaded" in json.dumps(out)


def test_finish_and_fail_are_idempotent_and_nothing_follows_the_end() -> None:
    tr = StreamTranslator("chat", "anthropic", "m")
    out = []
    for ev in UPSTREAM["chat"]:
        out += tr.feed(ev)
    assert out[-1] == {"type": "message_stop"}
    assert tr.finish() == [] and tr.fail("late") == [] and tr.feed(UPSTREAM["chat"][1]) == []
    assert not tr.failed


def test_fail_before_any_event_still_gives_a_valid_stream() -> None:
    for client in FORMATS:
        tr = StreamTranslator("anthropic", client, "m")
        out = tr.fail("upstream read timed out")
        validate_stream(client, out)
        assert "upstream read timed out" in json.dumps(out)


def test_pings_are_forwarded_to_anthropic_clients_only_after_message_start() -> None:
    tr = StreamTranslator("anthropic", "anthropic", "m")
    assert tr.feed({"type": "ping"}) == []
    tr.feed(UPSTREAM["anthropic"][0])
    assert tr.feed({"type": "ping"}) == [{"type": "ping"}]


def test_max_tokens_stop_maps_to_each_clients_length_signal() -> None:
    events = [
        *UPSTREAM["anthropic"][:10],
        {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens"},
            "usage": {"output_tokens": 20},
        },
        {"type": "message_stop"},
    ]
    responses_out, _ = run("anthropic", "responses", events)
    assert responses_out[-1]["type"] == "response.incomplete"
    assert responses_out[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    chat_out, _ = run("anthropic", "chat", events)
    finishes = [c["choices"][0]["finish_reason"] for c in chat_out if c != DONE and c["choices"]]
    assert [f for f in finishes if f] == ["length"]
    gemini_out, _ = run("anthropic", "gemini", events)
    assert gemini_out[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_translator_for_bundles_one_format_pair() -> None:
    from gateway.translate import translator_for

    assert translator_for("anthropic", "anthropic") is None
    tr = translator_for("anthropic", "responses")
    body = tr.request(
        {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}, "gpt-5"
    )
    assert body["input"][0]["content"] == [{"type": "input_text", "text": "hi"}]
    reply = tr.response({"id": "r", "status": "completed", "output": [], "usage": {}}, "claude-x")
    assert reply["type"] == "message" and reply["model"] == "claude-x"
    assert (
        tr.error(429, {"error": {"message": "slow down"}})[1]["error"]["type"] == "rate_limit_error"
    )
    out: list = []
    stream = tr.stream("claude-x")
    for ev in UPSTREAM["responses"]:
        out += stream.feed(ev)
    validate_stream("anthropic", out + stream.finish())
