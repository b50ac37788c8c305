"""The Gemini API served to clients (Gemini CLI) through a real ``reins gateway`` process.

Fake providers are real sockets. A Gemini-kind target must see the client's body byte for byte,
the target's model in the path and the provider's key, never the Reins token; an Anthropic
target must see a Messages request and its answer must come back as Gemini chunks that pass the
Gemini event grammar. Errors of our own take Gemini's shape, and every call leaves a usage row.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from gateway.gemini_inbound import parse_call, presented_token, upstream_query
from gateway.incoming import Request
from gateway.translate import SSEParser, parse_data, validate_stream

GEMINI_BODY = {
    "contents": [{"role": "user", "parts": [{"text": "list the files"}]}],
    "systemInstruction": {"parts": [{"text": "You are terse."}]},
    "tools": [
        {
            "functionDeclarations": [
                {
                    "name": "run_shell_command",
                    "description": "Run a shell command",
                    "parametersJsonSchema": {
                        "type": "object",
                        "properties": {"command": {"type": "string"}},
                    },
                }
            ]
        }
    ],
    "generationConfig": {"temperature": 1, "thinkingConfig": {"includeThoughts": True}},
}
# Odd spacing and key order on purpose: passthrough must not re-serialise.
RAW_BODY = json.dumps(GEMINI_BODY, indent=1).encode() + b"  "
USAGE = {
    "promptTokenCount": 120,
    "candidatesTokenCount": 30,
    "totalTokenCount": 158,
    "thoughtsTokenCount": 8,
    "cachedContentTokenCount": 20,
}
ANSWER = {
    "candidates": [
        {
            "content": {"role": "model", "parts": [{"text": "ok"}]},
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": USAGE,
    "modelVersion": "gemini-2.5-flash",
    "responseId": "r1",
}


def gemini_chunks() -> list[bytes]:
    first = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}
    return [b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in (first, ANSWER)]


def anthropic_tool_stream(fakes) -> list[bytes]:
    return fakes.sse(
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 40, "output_tokens": 1, "cache_read_input_tokens": 5,
                      "cache_creation_input_tokens": 0}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Running it."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": "run_shell_command", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {
            "type": "input_json_delta", "partial_json": '{"command": "ls'}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {
            "type": "input_json_delta", "partial_json": ' -la"}'}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                           "usage": {"output_tokens": 12}}),
        ("message_stop", {"type": "message_stop"}),
    )  # fmt: skip


def config(fakes, targets: list[dict], providers: dict) -> dict:
    return {"providers": providers, "models": {"gem": targets}, "usage": {"flush_s": 0.05}}


def gemini_provider(upstream, env: str = "GEMINI_KEY") -> dict:
    return {"kind": "gemini", "base_url": upstream.url, "api_key_env": env}


def gemini_gateway(upstream_factory, gateway_factory, fakes, script):
    upstream = upstream_factory(script)
    cfg = config(
        fakes,
        [{"provider": "google", "model": "gemini-2.5-flash"}],
        {"google": gemini_provider(upstream)},
    )
    return upstream, gateway_factory(cfg, env={"GEMINI_KEY": "google-key"})


def claude_gateway(upstream_factory, gateway_factory, fakes, script):
    upstream = upstream_factory(script)
    cfg = config(
        fakes,
        [{"provider": "claude", "model": "claude-sonnet-4-5"}],
        {"claude": fakes.provider(upstream)},
    )
    return upstream, gateway_factory(cfg, env={"FAKE_KEY": "claude-key"})


def events_of(raw: bytes) -> list:
    parser = SSEParser()
    return [parse_data(d) for _, d in parser.feed(raw) + parser.close()]


def test_stream_passthrough_is_byte_for_byte_with_the_key_swapped(
    upstream_factory, gateway_factory, fakes
):
    upstream, gw = gemini_gateway(
        upstream_factory, gateway_factory, fakes, lambda seen: fakes.Stream(gemini_chunks())
    )
    answer = requests.post(
        f"{gw.url}/t/acme/v1beta/models/gem:streamGenerateContent?alt=sse&key={gw.token}",
        data=RAW_BODY,
        headers={"content-type": "application/json", "X-Reins-Agent": "gemini-dev"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.content == b"".join(gemini_chunks())
    [seen] = upstream.seen
    assert seen.target == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert seen.body == RAW_BODY
    assert seen.headers["x-goog-api-key"] == "google-key"
    assert gw.token not in json.dumps(seen.headers) + seen.target
    assert "x-reins-agent" not in seen.headers

    [row] = gw.usage_rows(1)
    assert (row["inbound"], row["endpoint"], row["route"], row["provider"]) == (
        "gemini",
        "stream_generate_content",
        "gem",
        "google",
    )
    assert (row["model"], row["agent"], row["user"], row["stream"], row["status"]) == (
        "gemini-2.5-flash",
        "gemini-dev",
        "dana",
        1,
        200,
    )
    # Stored as Gemini reports them: prompt includes cache reads, candidates exclude thoughts.
    assert (row["input_tokens"], row["output_tokens"]) == (120, 30)
    assert (row["cache_read_tokens"], row["reasoning_tokens"]) == (20, 8)
    assert row["cost_usd"] and row["cost_usd"] > 0


def test_non_stream_passthrough_with_the_token_in_x_goog_api_key(
    upstream_factory, gateway_factory, fakes
):
    upstream, gw = gemini_gateway(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Reply(body=json.dumps(ANSWER).encode()),
    )
    answer = requests.post(
        gw.url + "/v1beta/models/gem:generateContent",
        data=RAW_BODY,
        headers={"x-goog-api-key": gw.token, "x-goog-api-client": "google-genai-sdk/1.30.0"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == ANSWER
    [seen] = upstream.seen
    assert seen.target == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert seen.headers["x-goog-api-key"] == "google-key"
    assert seen.headers["x-goog-api-client"] == "google-genai-sdk/1.30.0"
    [row] = gw.usage_rows(1)
    assert (row["endpoint"], row["stream"], row["input_tokens"], row["output_tokens"]) == (
        "generate_content",
        0,
        120,
        30,
    )


def test_anthropic_target_answers_a_gemini_stream_with_the_tool_call(
    upstream_factory, gateway_factory, fakes
):
    upstream, gw = claude_gateway(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Stream(anthropic_tool_stream(fakes)),
    )
    answer = requests.post(
        gw.url + "/v1beta/models/gem:streamGenerateContent?alt=sse",
        json=GEMINI_BODY,
        headers={"x-goog-api-key": gw.token},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/event-stream"
    events = events_of(answer.content)
    validate_stream("gemini", events)
    parts = [p for e in events for p in e["candidates"][0]["content"]["parts"]]
    assert "".join(p.get("text", "") for p in parts) == "Running it."
    [call] = [p["functionCall"] for p in parts if "functionCall" in p]
    assert call == {"name": "run_shell_command", "args": {"command": "ls -la"}, "id": "toolu_1"}
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert events[-1]["modelVersion"] == "gem"

    [seen] = upstream.seen
    assert seen.target == "/v1/messages"
    assert seen.headers["x-api-key"] == "claude-key"
    assert gw.token not in json.dumps(seen.headers)
    sent = json.loads(seen.body)
    assert (sent["model"], sent["stream"]) == ("claude-sonnet-4-5", True)
    assert sent["tools"][0]["name"] == "run_shell_command"
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "list the files"}]}
    ]

    [row] = gw.usage_rows(1)
    assert (row["inbound"], row["provider"], row["outcome"], row["stream"]) == (
        "gemini",
        "claude",
        "ok",
        1,
    )
    # Gemini semantics (the row's inbound): the prompt count includes the 5 cached tokens.
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (45, 5, 12)


def test_anthropic_target_answers_a_gemini_json_body(upstream_factory, gateway_factory, fakes):
    message = {
        "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Here."},
                    {"type": "tool_use", "id": "toolu_9", "name": "run_shell_command",
                     "input": {"command": "pwd"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 33, "output_tokens": 7},
    }  # fmt: skip
    _, gw = claude_gateway(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Reply(body=json.dumps(message).encode()),
    )
    answer = requests.post(
        gw.url + "/v1beta/models/gem:generateContent",
        json=GEMINI_BODY,
        headers={"x-goog-api-key": gw.token},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    candidate = body["candidates"][0]
    assert candidate["finishReason"] == "STOP"
    assert candidate["content"]["parts"][0] == {"text": "Here."}
    assert candidate["content"]["parts"][1]["functionCall"]["args"] == {"command": "pwd"}
    assert body["usageMetadata"]["promptTokenCount"] == 33
    [row] = gw.usage_rows(1)
    assert (row["input_tokens"], row["output_tokens"], row["stream"]) == (33, 7, 0)


def test_429_falls_back_from_gemini_to_anthropic(upstream_factory, gateway_factory, fakes):
    limited = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    google = upstream_factory(
        lambda seen: fakes.Reply(status=429, body=json.dumps(limited).encode())
    )
    claude = upstream_factory(lambda seen: fakes.Stream(anthropic_tool_stream(fakes)))
    cfg = config(
        fakes,
        [
            {"provider": "google", "model": "gemini-2.5-pro"},
            {"provider": "claude", "model": "claude-sonnet-4-5"},
        ],
        {"google": gemini_provider(google), "claude": fakes.provider(claude)},
    )
    gw = gateway_factory(cfg, env={"GEMINI_KEY": "google-key", "FAKE_KEY": "claude-key"})
    answer = requests.post(
        gw.url + "/v1beta/models/gem:streamGenerateContent?alt=sse",
        json=GEMINI_BODY,
        headers={"x-goog-api-key": gw.token},
    )
    assert answer.status_code == 200, answer.text
    validate_stream("gemini", events_of(answer.content))
    assert len(google.seen) == len(claude.seen) == 1
    [row] = gw.usage_rows(1)
    log = json.loads(row["attempt_log"])
    assert [(a["provider"], a["format"], a.get("error")) for a in log] == [
        ("google", "gemini", "429"),
        ("claude", "anthropic", None),
    ]
    assert (row["provider"], row["attempts"]) == ("claude", 2)


def test_last_targets_error_reaches_the_client_in_geminis_shape(
    upstream_factory, gateway_factory, fakes
):
    refusal = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad tool"}}
    _, gw = claude_gateway(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Reply(status=400, body=json.dumps(refusal).encode()),
    )
    answer = requests.post(
        gw.url + "/v1beta/models/gem:generateContent",
        json=GEMINI_BODY,
        headers={"x-goog-api-key": gw.token},
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": {"code": 400, "message": "bad tool", "status": "INVALID_ARGUMENT"}
    }


@pytest.mark.parametrize(
    ("headers", "query"),
    [({}, ""), ({"x-goog-api-key": "reins_not-a-real-token"}, ""), ({}, "?key=nope")],
)
def test_a_missing_or_bad_token_is_401_in_geminis_shape(
    upstream_factory, gateway_factory, fakes, headers, query
):
    upstream, gw = gemini_gateway(
        upstream_factory, gateway_factory, fakes, lambda seen: fakes.Reply()
    )
    answer = requests.post(
        f"{gw.url}/v1beta/models/gem:generateContent{query}", json=GEMINI_BODY, headers=headers
    )
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert (error["code"], error["status"]) == (401, "UNAUTHENTICATED")
    assert "reins token create" in error["message"]
    assert upstream.seen == []


def test_malformed_json_is_400_in_geminis_shape(upstream_factory, gateway_factory, fakes):
    upstream, gw = gemini_gateway(
        upstream_factory, gateway_factory, fakes, lambda seen: fakes.Reply()
    )
    answer = requests.post(
        gw.url + "/v1beta/models/gem:generateContent",
        data=b'{"contents": [{"parts": [',
        headers={"x-goog-api-key": gw.token},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert "malformed JSON body" in error["message"]
    assert upstream.seen == []
    [row] = gw.usage_rows(1)
    assert (row["inbound"], row["status"], row["outcome"]) == ("gemini", 400, "bad_request")


def test_count_tokens_passes_through_to_gemini_and_is_estimated_for_others(
    upstream_factory, gateway_factory, fakes
):
    google = upstream_factory(lambda seen: fakes.Reply(body=b'{"totalTokens": 77}'))
    claude = upstream_factory(lambda seen: fakes.Reply())
    cfg = {
        "providers": {"google": gemini_provider(google), "claude": fakes.provider(claude)},
        "models": {
            "gem": [{"provider": "google", "model": "gemini-2.5-flash"}],
            "sonnet": [{"provider": "claude", "model": "claude-sonnet-4-5"}],
        },
        "usage": {"flush_s": 0.05},
    }
    gw = gateway_factory(cfg, env={"GEMINI_KEY": "google-key", "FAKE_KEY": "claude-key"})
    auth = {"x-goog-api-key": gw.token}
    body = {"contents": GEMINI_BODY["contents"]}
    direct = requests.post(gw.url + "/v1beta/models/gem:countTokens", json=body, headers=auth)
    assert (direct.status_code, direct.json()) == (200, {"totalTokens": 77})
    assert google.seen[0].target == "/v1beta/models/gemini-2.5-flash:countTokens"

    wrapped = {"generateContentRequest": {"model": "models/sonnet", **GEMINI_BODY}}
    estimate = requests.post(
        gw.url + "/v1beta/models/sonnet:countTokens", json=wrapped, headers=auth
    )
    assert estimate.status_code == 200, estimate.text
    tokens = estimate.json()["totalTokens"]
    assert 20 < tokens < 200  # the system, the prompt and the tool's schema, about 4 chars each
    assert claude.seen == []
    rows = gw.usage_rows(2)
    assert [r["endpoint"] for r in rows] == ["count_tokens", "count_tokens"]


def test_models_lists_the_aliases_and_unknown_paths_are_404(
    upstream_factory, gateway_factory, fakes
):
    _, gw = gemini_gateway(upstream_factory, gateway_factory, fakes, lambda seen: fakes.Reply())
    listed = requests.get(gw.url + "/t/x/v1beta/models", headers={"x-goog-api-key": gw.token})
    assert listed.status_code == 200
    [model] = listed.json()["models"]
    assert model["name"] == "models/gem"
    assert "streamGenerateContent" in model["supportedGenerationMethods"]
    missing = requests.post(
        gw.url + "/v1beta/models/gem:embedContent", json={}, headers={"x-goog-api-key": gw.token}
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"
    wrong = requests.get(gw.url + "/v1beta/models/gem:generateContent")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, 405)


def test_a_broken_passthrough_stream_ends_with_a_gemini_error_chunk(
    upstream_factory, gateway_factory, fakes
):
    chunks = gemini_chunks()
    _, gw = gemini_gateway(
        upstream_factory,
        gateway_factory,
        fakes,
        lambda seen: fakes.Stream(chunks, reset_after=1),
    )
    answer = requests.post(
        gw.url + "/v1beta/models/gem:streamGenerateContent?alt=sse",
        json=GEMINI_BODY,
        headers={"x-goog-api-key": gw.token},
    )
    events = events_of(answer.content)
    assert events[0] == json.loads(chunks[0][6:])
    assert events[-1]["error"]["status"] == "INTERNAL"
    [row] = gw.usage_rows(1)
    assert row["outcome"] == "stream_broken"


# -- pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/v1beta/models/gemini-2.5-flash:generateContent",
            ("gemini-2.5-flash", "generateContent"),
        ),
        ("/t/acme/v1beta/models/a%2Fb:countTokens", ("a/b", "countTokens")),
        ("/v1beta/models/x:embedContent", None),
        ("/v1beta/models", None),
    ],
)
def test_parse_call(path, expected):
    call = parse_call(path)
    assert (tuple(call) if call else None) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", ""), ("?alt=sse", "?alt=sse"), ("?key=t&alt=sse", "?alt=sse"), ("?alt=sse&key=t", "?alt=sse"),
     ("?key=t", ""), ("?monkey=1&key=t", "?monkey=1")],
)  # fmt: skip
def test_the_token_never_stays_in_the_query(query, expected):
    assert upstream_query(query) == expected


def test_presented_token_prefers_x_goog_api_key_then_the_query():
    def request(lower: dict, query: str) -> Request:
        return Request("POST", "", "/v1beta/models/m:generateContent", query, "HTTP/1.1", "",
                       lower, b"", True, 0.0)  # fmt: skip

    assert presented_token(request({"x-goog-api-key": "a"}, "?key=b")) == "a"
    assert presented_token(request({}, "?alt=sse&key=b%2Bc")) == "b+c"
    assert presented_token(request({"authorization": "Bearer c"}, "")) == "c"
    assert presented_token(request({}, "")) is None


def test_a_hard_budget_refuses_with_geminis_quota_error(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory(lambda seen: fakes.Reply(body=json.dumps(ANSWER).encode()))
    cfg = config(
        fakes,
        [{"provider": "google", "model": "gemini-2.5-flash"}],
        {"google": gemini_provider(upstream)},
    )
    cfg["budgets"] = [{"name": "dana-day", "scope": "user", "subject": "dana",
                       "period": "daily", "unit": "tokens", "hard": 100}]  # fmt: skip
    gw = gateway_factory(cfg, env={"GEMINI_KEY": "google-key"})
    url, auth = gw.url + "/v1beta/models/gem:generateContent", {"x-goog-api-key": gw.token}
    assert requests.post(url, data=RAW_BODY, headers=auth).status_code == 200
    gw.usage_rows(1)
    time.sleep(0.3)  # the row is settled by the recorder
    refused = requests.post(url, data=RAW_BODY, headers=auth)
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert "dana-day" in error["message"]
    assert len(upstream.seen) == 1
