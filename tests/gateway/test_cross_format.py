"""Cross-format fallback through a real ``reins gateway``: mixed target lists, translated answers.

The fake providers are real sockets; what the client receives is checked against the format's
event grammar (``gateway.translate.validate_stream``), and the usage row against the tokens the
translated upstream reported.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import GatewayConfigError, parse
from gateway.translate import SSEParser, parse_data, translator_for, validate_stream
from gateway.translated import client_events

TOOLS = [
    {
        "name": "Bash",
        "description": "Run a shell command",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
    }
]
CLAUDE_BODY = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "stream": True,
    "system": [{"type": "text", "text": "You are terse."}],
    "tools": TOOLS,
    "messages": [{"role": "user", "content": "list the files"}],
}
RATE_LIMITED = {"status": 429, "body": b'{"type":"error","error":{"type":"rate_limit_error"}}'}


def gemini_sse(*chunks: dict) -> list[bytes]:
    return [b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks]


GEMINI_TOOL_CALL = gemini_sse(
    {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Running it."}]}}],
        "responseId": "r1",
        "modelVersion": "gemini-2.5-pro",
    },
    {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"functionCall": {"name": "Bash", "args": {"command": "ls -la"}}}],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 120,
            "candidatesTokenCount": 30,
            "totalTokenCount": 150,
            "cachedContentTokenCount": 20,
        },
    },
)


def events_of(raw: bytes) -> list:
    parser = SSEParser()
    frames = parser.feed(raw) + parser.close()
    return [parse_data(data) for _, data in frames]


def mixed(fakes, primary, backup, kind: str, model: str, **extra) -> dict:
    base = backup.url if kind in ("anthropic", "gemini") else backup.url + "/v1"
    return {
        "providers": {
            "claude": fakes.provider(primary),
            "backup": {"kind": kind, "base_url": base, "api_key_env": "BACKUP_KEY"},
        },
        "models": {
            "claude-sonnet-4-5": [
                {"provider": "claude", "model": "claude-sonnet-4-5"},
                {"provider": "backup", "model": model},
            ],
            "gpt-5": [
                {"provider": "backup", "model": model},
            ],
        },
        "usage": {"flush_s": 0.05},
        **extra,
    }


def start(upstream_factory, gateway_factory, fakes, backup_script, kind, model, primary=None):
    primary = upstream_factory(primary or (lambda seen: fakes.Reply(**RATE_LIMITED)))
    backup = upstream_factory(backup_script)
    config = mixed(fakes, primary, backup, kind, model)
    gw = gateway_factory(config, env={"FAKE_KEY": "claude-key", "BACKUP_KEY": "backup-key"})
    return primary, backup, gw


def test_claude_429_falls_back_to_gemini_and_gets_a_valid_anthropic_stream(
    upstream_factory, gateway_factory, fakes
):
    _, gemini, gw = start(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Stream(GEMINI_TOOL_CALL),
        "gemini",
        "gemini-2.5-pro",
    )
    answer = requests.post(gw.url + "/v1/messages?beta=true", json=CLAUDE_BODY, headers=gw.auth())
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/event-stream"
    events = events_of(answer.content)
    validate_stream("anthropic", events)
    [tool] = [e["content_block"] for e in events if e["type"] == "content_block_start"][1:]
    assert tool["type"] == "tool_use" and tool["name"] == "Bash"
    args = "".join(
        e["delta"]["partial_json"]
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    )
    assert json.loads(args) == {"command": "ls -la"}
    stop = next(e for e in events if e["type"] == "message_delta")
    assert stop["delta"]["stop_reason"] == "tool_use"

    [seen] = gemini.seen
    assert seen.target == "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    assert seen.headers["x-goog-api-key"] == "backup-key"
    assert gw.token not in json.dumps(seen.headers)
    sent = json.loads(seen.body)
    assert "model" not in sent
    assert sent["systemInstruction"]["parts"] == [{"text": "You are terse."}]
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "Bash"

    [row] = gw.usage_rows(1)
    assert (row["provider"], row["model"], row["outcome"], row["stream"]) == (
        "backup",
        "gemini-2.5-pro",
        "ok",
        1,
    )
    log = json.loads(row["attempt_log"])
    assert [(a["provider"], a["format"], a.get("error")) for a in log] == [
        ("claude", "anthropic", "429"),
        ("backup", "gemini", None),
    ]
    assert row["attempts"] == 2
    # Anthropic semantics (the row's inbound): input excludes the 20 cached tokens.
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (100, 20, 30)
    assert (
        row["cost_usd"] and row["cost_usd"] > 0
    )  # priced as gemini-2.5-pro, the model that served


def test_claude_non_stream_served_by_chat_completions_with_a_tool_call(
    upstream_factory, gateway_factory, fakes
):
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "qwen-coder",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_abc",
                            "type": "function",
                            "function": {"name": "Bash", "arguments": '{"command":"pwd"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
    }
    _, chat, gw = start(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Reply(body=json.dumps(completion).encode()),
        "openai-compatible",
        "qwen-coder",
    )
    body = {**CLAUDE_BODY, "stream": False}
    answer = requests.post(gw.url + "/v1/messages", json=body, headers=gw.auth())
    assert answer.status_code == 200, answer.text
    message = answer.json()
    assert message["type"] == "message" and message["stop_reason"] == "tool_use"
    [call] = [b for b in message["content"] if b["type"] == "tool_use"]
    assert (call["id"], call["name"], call["input"]) == ("call_abc", "Bash", {"command": "pwd"})
    assert message["usage"]["input_tokens"] == 50
    [seen] = chat.seen
    assert seen.target == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer backup-key"
    sent = json.loads(seen.body)
    assert sent["model"] == "qwen-coder"
    assert sent["messages"][0] == {"role": "system", "content": "You are terse."}
    [row] = gw.usage_rows(1)
    assert (row["input_tokens"], row["output_tokens"], row["status"]) == (50, 9, 200)
    assert row["cost_usd"] is None  # qwen-coder has no price: null, never a guess


def test_sse_split_at_any_byte_is_reassembled(upstream_factory, gateway_factory, fakes):
    raw = b"".join(GEMINI_TOOL_CALL)
    pieces = [raw[i : i + 7] for i in range(0, len(raw), 7)]  # frames and UTF-8 cut anywhere
    _, _, gw = start(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Stream(pieces),
        "gemini",
        "gemini-2.5-pro",
    )
    answer = requests.post(gw.url + "/v1/messages", json=CLAUDE_BODY, headers=gw.auth())
    events = events_of(answer.content)
    validate_stream("anthropic", events)
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert text == "Running it."


def test_a_client_that_leaves_a_translated_stream_cancels_the_upstream(
    upstream_factory, gateway_factory, fakes
):
    many = gemini_sse(
        *[{"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}}]}] * 40
    )
    _, gemini, gw = start(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Stream(many, delay_s=0.05),
        "gemini",
        "gemini-2.5-pro",
    )
    with requests.post(
        gw.url + "/v1/messages", json=CLAUDE_BODY, headers=gw.auth(), stream=True
    ) as answer:
        assert next(answer.iter_content(64))
    [row] = gw.usage_rows(1)
    assert row["outcome"] == "client_gone"
    deadline = time.monotonic() + 5
    while not gemini.abandoned and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gemini.abandoned == 1


def test_codex_responses_stream_served_by_anthropic_ends_with_response_completed(
    upstream_factory, gateway_factory, fakes
):
    anthropic_events = fakes.sse(
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-5",
                    "content": [],
                    "usage": {"input_tokens": 40, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "exec_command",
                    "input": {},
                },
            },
        ),
        *[
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": part},
                },
            )
            for part in ('{"cmd":', ' "ls"}')
        ],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 12},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    )
    primary = upstream_factory(lambda seen: fakes.Reply(**RATE_LIMITED))
    claude = upstream_factory(lambda seen: fakes.Stream(anthropic_events))
    config = {
        "providers": {
            "openai": fakes.provider(primary, kind="openai"),
            "claude": fakes.provider(claude, key_env="CLAUDE_KEY"),
        },
        "models": {
            "gpt-5": [
                {"provider": "openai", "model": "gpt-5"},
                {"provider": "claude", "model": "claude-sonnet-4-5"},
            ]
        },
        "usage": {"flush_s": 0.05},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "oa", "CLAUDE_KEY": "ck"})
    body = {
        "model": "gpt-5",
        "stream": True,
        "instructions": "",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "ls"}]}],
        "tools": [
            {
                "type": "function",
                "name": "exec_command",
                "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
            }
        ],
    }
    answer = requests.post(
        gw.url + "/v1/responses", json=body, headers={"Authorization": f"Bearer {gw.token}"}
    )
    assert answer.status_code == 200, answer.text
    events = events_of(answer.content)
    validate_stream("responses", events)
    assert events[-1]["type"] == "response.completed"
    [call] = [i for i in events[-1]["response"]["output"] if i["type"] == "function_call"]
    assert (call["call_id"], call["name"], json.loads(call["arguments"])) == (
        "toolu_1",
        "exec_command",
        {"cmd": "ls"},
    )
    [seen] = claude.seen
    assert seen.target == "/v1/messages"
    assert seen.headers["x-api-key"] == "ck" and seen.headers["anthropic-version"]
    assert json.loads(seen.body)["max_tokens"] > 0
    [row] = gw.usage_rows(1)
    assert (row["provider"], row["inbound"], row["input_tokens"], row["output_tokens"]) == (
        "claude",
        "responses",
        40,
        12,
    )


def test_upstream_error_of_the_last_target_reaches_the_client_in_its_own_shape(
    upstream_factory, gateway_factory, fakes
):
    error = {"error": {"code": 400, "message": "Invalid JSON payload: bad", "status": "INVALID"}}
    _, _, gw = start(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Reply(status=400, body=json.dumps(error).encode()),
        "gemini",
        "gemini-2.5-pro",
    )
    answer = requests.post(gw.url + "/v1/messages", json=CLAUDE_BODY, headers=gw.auth())
    assert answer.status_code == 400
    assert answer.json()["type"] == "error"
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert "Invalid JSON payload: bad" in answer.json()["error"]["message"]
    [row] = gw.usage_rows(1)
    assert (row["status"], row["outcome"]) == (400, "upstream_error")


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"reset_after": 1}, id="reset"),
        pytest.param({"events": GEMINI_TOOL_CALL[:1]}, id="truncated"),
        pytest.param({"events": [*GEMINI_TOOL_CALL[:1], b"data: {not json\r\n\r\n"]}, id="garbage"),
    ],
)
def test_a_broken_translated_stream_ends_well_formed_and_is_marked(
    upstream_factory, gateway_factory, fakes, broken
):
    events = broken.pop("events", GEMINI_TOOL_CALL)
    _, _, gw = start(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Stream(events, **broken),
        "gemini",
        "gemini-2.5-pro",
    )
    answer = requests.post(gw.url + "/v1/messages", json=CLAUDE_BODY, headers=gw.auth())
    assert answer.status_code == 200
    received = events_of(answer.content)
    validate_stream("anthropic", received)
    assert received[-1]["type"] == "error"
    assert received[0]["type"] == "message_start"
    [row] = gw.usage_rows(1)
    assert row["outcome"] == "stream_broken"
    if "reset_after" in broken or len(events) == 1:  # the first chunk had no usage
        assert row["input_tokens"] is None and row["cost_usd"] is None
    # The connection still serves the next request.
    session = requests.Session()
    again = session.post(gw.url + "/v1/messages", json=CLAUDE_BODY, headers=gw.auth())
    assert again.status_code == 200


def test_a_json_answer_to_a_streamed_request_is_a_502_in_the_client_shape(
    upstream_factory, gateway_factory, fakes
):
    _, _, gw = start(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Reply(body=b'{"candidates":[]}'),
        "gemini",
        "gemini-2.5-pro",
    )
    answer = requests.post(gw.url + "/v1/messages", json=CLAUDE_BODY, headers=gw.auth())
    assert answer.status_code == 502
    assert answer.json()["error"]["message"] == "upstream backup did not answer with a stream"
    [row] = gw.usage_rows(1)
    assert (row["status"], row["outcome"], row["input_tokens"]) == (502, "upstream_error", None)


def test_count_tokens_for_another_api_is_estimated_locally(
    upstream_factory, gateway_factory, fakes
):
    _, gemini, gw = start(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Reply(status=500),
        "gemini",
        "gemini-2.5-pro",
        primary=lambda seen: fakes.Reply(status=503, body=b"{}"),
    )
    body = {k: v for k, v in CLAUDE_BODY.items() if k not in ("stream", "max_tokens")}
    answer = requests.post(gw.url + "/v1/messages/count_tokens", json=body, headers=gw.auth())
    assert answer.status_code == 200
    tokens = answer.json()["input_tokens"]
    assert 10 < tokens < 200
    assert not gemini.seen


def test_same_format_target_first_stays_byte_for_byte(upstream_factory, gateway_factory, fakes):
    odd = b'{"type":"message",  "content":[], "x-unknown": 1,"usage":{"input_tokens":3}}'
    primary, gemini, gw = start(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Reply(status=500),
        "gemini",
        "gemini-2.5-pro",
        primary=lambda seen: fakes.Reply(body=odd),
    )
    raw = json.dumps({**CLAUDE_BODY, "stream": False}, indent=1).encode()
    answer = requests.post(gw.url + "/v1/messages", data=raw, headers=gw.auth())
    assert answer.content == odd
    assert primary.seen[0].body == raw and not gemini.seen


def test_gemini_provider_config():
    config = parse(
        {
            "providers": {
                "gemini": {
                    "kind": "gemini",
                    "base_url": "https://generativelanguage.googleapis.com",
                    "api_key_env": "GEMINI_API_KEY",
                }
            }
        }
    )
    assert config.providers["gemini"].formats == ("gemini",)


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("gemini", "https://generativelanguage.googleapis.com/v1beta"),
        ("anthropic", "https://api.anthropic.com/v1/"),
    ],
)
def test_a_versioned_base_url_for_a_kind_that_adds_its_own_is_refused(kind, url):
    with pytest.raises(GatewayConfigError, match=r"providers\.p\.base_url .* drop the version"):
        parse({"providers": {"p": {"kind": kind, "base_url": url}}})


class _Pieces:
    """What ``translated.client_events`` reads of an upstream response: its body pieces."""

    def __init__(self, pieces: list[bytes], broken: bool) -> None:
        def body():
            yield from pieces
            if broken:
                raise ConnectionResetError("reset by peer")

        self.pieces = body()
        self.discarded = False

    def discard(self) -> None:
        self.discarded = True


ANTHROPIC_TOOL_STREAM = b"".join(
    f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode()
    for e in [
        {
            "type": "message_start",
            "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 100}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "é✓"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "shell", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"command": ["ls"]}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
)
SPLIT_CASES = {
    "gemini to Claude Code": ("anthropic", "gemini", b"".join(GEMINI_TOOL_CALL), "message_stop"),
    "Anthropic to Codex": ("responses", "anthropic", ANTHROPIC_TOOL_STREAM, "response.completed"),
}
FAILED_END = {"anthropic": "error", "responses": "response.failed"}


@pytest.mark.parametrize("case", list(SPLIT_CASES))
@settings(max_examples=100, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=40), max_size=80),
    mode=st.sampled_from(["whole", "reset after the end", "truncated and reset"]),
)
def test_any_split_of_an_upstream_stream_gives_a_valid_client_stream(case, cuts, mode):
    """Frames cut anywhere (even inside a UTF-8 character) reassemble; a reset before the end
    fails the client stream well-formed, a reset after it changes nothing."""
    client, upstream_format, raw, last = SPLIT_CASES[case]
    if mode == "truncated and reset":
        raw = raw[: len(raw) - 30]
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(raw[at : at + cut])
        at += cut
    pieces = [p for p in [*pieces, raw[at:]] if p]
    upstream = _Pieces(pieces[1:], broken=mode != "whole")
    translator = translator_for(client, upstream_format).stream("alias", CLAUDE_BODY)
    events = [e for batch in client_events(translator, upstream, pieces[0]) for e in batch]
    validate_stream(client, events)
    failed = mode == "truncated and reset"
    assert events[-1]["type"] == (FAILED_END[client] if failed else last)
    assert translator.failed is failed and upstream.discarded is (mode != "whole")
    if not failed:
        assert translator.usage.input_tokens == 100
