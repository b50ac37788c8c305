"""Passthrough fidelity: bodies, headers and SSE streams reach the other side byte for byte."""

from __future__ import annotations

import json
import time

import requests

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 11,
        "output_tokens": 7,
        "cache_creation_input_tokens": 3,
        "cache_read_input_tokens": 5,
    },
}


def test_anthropic_request_and_response_bytes_pass_unchanged(
    upstream_factory, gateway_factory, fakes
):
    body = json.dumps(MESSAGE).encode()
    upstream = upstream_factory(lambda seen: fakes.Reply(body=body))
    gw = gateway_factory(
        {"providers": {"anthropic": fakes.provider(upstream)}}, env={"FAKE_KEY": "sk-ant-test"}
    )
    request = (
        b'{"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": false, '
        b'"messages": [{"role": "user", "content": [{"type": "thinking", "thinking": "x", '
        b'"signature": "EqQBCkYIBxgCKkB\\u00e9=="}]}, {"role": "system", "content": "mid"}], '
        b'"context_management": {"edits": []}, "unknown_field": [1, 2.50, null]}'
    )
    response = requests.post(
        gw.url + "/v1/messages?beta=true",
        data=request,
        headers=gw.auth(**{"anthropic-beta": "a-2025,b-2026", "content-type": "application/json"}),
    )
    assert response.status_code == 200, response.text
    assert response.content == body
    seen = upstream.seen[-1]
    assert seen.body == request
    assert seen.target == "/v1/messages?beta=true"
    assert seen.headers["x-api-key"] == "sk-ant-test"
    assert seen.headers["anthropic-beta"] == "a-2025,b-2026"
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert gw.token not in json.dumps(seen.headers)


def anthropic_stream(fakes, text_events: int = 3) -> list[bytes]:
    return fakes.sse(
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "content": [],
                    "usage": {"input_tokens": 21, "cache_read_input_tokens": 4, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        ),
        ("ping", {"type": "ping"}),
        *[
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": f"step {i} é"},
                },
            )
            for i in range(text_events)
        ],
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "EqQBCkYIB=="},
            },
        ),
        ("future_event", {"type": "future_event", "x": 1}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 33},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    )


def test_anthropic_sse_stream_passes_byte_for_byte(upstream_factory, gateway_factory, fakes):
    events = anthropic_stream(fakes, 40)
    upstream = upstream_factory(lambda seen: fakes.Stream(events))
    gw = gateway_factory(
        {"providers": {"anthropic": fakes.provider(upstream)}}, env={"FAKE_KEY": "k"}
    )
    with requests.post(
        gw.url + "/v1/messages?beta=true",
        data=b'{"model":"claude-sonnet-4-5","stream":true,"messages":[]}',
        headers=gw.auth(**{"X-Claude-Code-Session-Id": "sess-42"}),
        stream=True,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        received = b"".join(response.iter_content(None))
    assert received == b"".join(events)
    [row] = gw.usage_rows(1)
    assert (row["session_id"], row["stream"], row["status"], row["outcome"]) == (
        "sess-42",
        1,
        200,
        "ok",
    )
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (21, 33, 4)
    assert row["ttfb_us"] > 0 and row["latency_us"] >= row["ttfb_us"]
    assert row["agent"] == "interactive" and row["user"] == "dana"


def test_responses_stream_and_codex_headers(upstream_factory, gateway_factory, fakes):
    completed = {
        "type": "response.completed",
        "response": {
            "id": "r1",
            "status": "completed",
            "output": [],
            "usage": {
                "input_tokens": 9,
                "output_tokens": 2,
                "input_tokens_details": {"cached_tokens": 3},
            },
        },
    }
    events = fakes.sse(
        ("response.created", {"type": "response.created", "response": {"id": "r1"}}),
        ("response.completed", completed),
    )
    upstream = upstream_factory(lambda seen: fakes.Stream(events))
    gw = gateway_factory(
        {"providers": {"openai": fakes.provider(upstream, "openai", "OPENAI_FAKE")}},
        env={"OPENAI_FAKE": "sk-openai"},
    )
    response = requests.post(
        gw.url + "/v1/responses",
        data=b'{"model":"gpt-5-codex","stream":true,"input":[]}',
        headers={
            "Authorization": f"Bearer {gw.token}",
            "session-id": "codex-sess",
            "X-Reins-Agent": "fixer",
        },
    )
    assert response.content == b"".join(events)
    seen = upstream.seen[-1]
    assert seen.target == "/v1/responses"
    assert seen.headers["authorization"] == "Bearer sk-openai"
    assert "x-reins-agent" not in seen.headers
    [row] = gw.usage_rows(1)
    assert (row["session_id"], row["agent"], row["inbound"], row["provider"]) == (
        "codex-sess",
        "fixer",
        "responses",
        "openai",
    )
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (9, 2, 3)


def test_chat_completions_with_a_path_prefix_and_chunked_upstream(
    upstream_factory, gateway_factory, fakes
):
    body = json.dumps(
        {
            "id": "c1",
            "choices": [{"message": {"content": "hi"}}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 1},
        }
    ).encode()
    upstream = upstream_factory(lambda seen: fakes.Reply(body=body, chunked=True))
    gw = gateway_factory(
        {"providers": {"local": fakes.provider(upstream, "openai-compatible", None)}}
    )
    response = requests.post(
        gw.url + "/t/acme/v1/chat/completions",
        data=b'{"model":"qwen","messages":[{"role":"user","content":"hi"}]}',
        headers={"Authorization": f"Bearer {gw.token}"},
    )
    assert (response.status_code, response.content) == (200, body)
    assert upstream.seen[-1].target == "/v1/chat/completions"
    assert "authorization" not in upstream.seen[-1].headers  # no key configured, none sent


def test_count_tokens_is_forwarded(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory(lambda seen: fakes.Reply(body=b'{"input_tokens":1234}'))
    gw = gateway_factory(
        {"providers": {"anthropic": fakes.provider(upstream)}}, env={"FAKE_KEY": "k"}
    )
    response = requests.post(
        gw.url + "/v1/messages/count_tokens?beta=true",
        data=b'{"model":"claude-x","messages":[]}',
        headers=gw.auth(),
    )
    assert response.json() == {"input_tokens": 1234}
    assert upstream.seen[-1].target == "/v1/messages/count_tokens?beta=true"


def test_upstream_errors_keep_their_status_and_body(upstream_factory, gateway_factory, fakes):
    error = b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens"}}'
    upstream = upstream_factory(lambda seen: fakes.Reply(status=400, body=error))
    gw = gateway_factory(
        {"providers": {"anthropic": fakes.provider(upstream)}}, env={"FAKE_KEY": "k"}
    )
    response = requests.post(
        gw.url + "/v1/messages", data=b'{"model":"m","stream":true}', headers=gw.auth()
    )
    assert (response.status_code, response.content) == (400, error)
    [row] = gw.usage_rows(1)
    assert (row["status"], row["outcome"]) == (400, "upstream_error")


def test_alias_rewrites_only_the_model_name(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    config = {
        "providers": {"anthropic": fakes.provider(upstream)},
        "models": {"fast": [{"provider": "anthropic", "model": "claude-haiku-4-5"}]},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "k"})
    sent = b'{"messages":[{"role":"user","content":[{"type":"text","text":"x","model":"fast"}]}], "model" : "fast","z":1.0}'
    requests.post(gw.url + "/v1/messages", data=sent, headers=gw.auth())
    assert upstream.seen[-1].body == sent.replace(
        b'"model" : "fast"', b'"model" : "claude-haiku-4-5"'
    )
    [row] = gw.usage_rows(1)
    assert (row["route"], row["model"]) == ("fast", "claude-haiku-4-5")


def test_local_endpoints(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    config = {
        "providers": {"anthropic": fakes.provider(upstream)},
        "models": {"claude-sonnet-4-5": [{"provider": "anthropic"}]},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "k"})
    session = requests.Session()
    assert session.head(gw.url + "/").status_code == 200
    assert session.head(gw.url + "/t/acme").status_code == 200
    anthropic = session.get(gw.url + "/v1/models?limit=1000", headers=gw.auth()).json()
    assert [m["id"] for m in anthropic["data"]] == ["claude-sonnet-4-5"]
    assert anthropic["has_more"] is False
    openai = session.get(
        gw.url + "/v1/models", headers={"Authorization": f"Bearer {gw.token}"}
    ).json()
    assert openai["object"] == "list" and openai["data"][0]["id"] == "claude-sonnet-4-5"
    assert session.get(gw.url + "/healthz").json() == {"status": "ok"}
    assert upstream.seen == []


def test_codex_websocket_attempt_is_refused_at_once(gateway_factory, fakes, upstream_factory):
    gw = gateway_factory({"providers": {"openai": fakes.provider(upstream_factory(), "openai")}})
    started = time.monotonic()
    response = requests.get(
        gw.url + "/v1/responses",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Authorization": f"Bearer {gw.token}",
        },
    )
    assert time.monotonic() - started < 0.5
    assert response.status_code == 426
    assert "POST /v1/responses" in response.json()["error"]["message"]


def test_bodies_are_logged_redacted_only_for_routes_that_opt_in(
    upstream_factory, gateway_factory, fakes
):
    upstream = upstream_factory(lambda seen: fakes.Reply(body=b'{"content":"fine"}'))
    config = {
        "providers": {"anthropic": fakes.provider(upstream)},
        "models": {
            "logged": [{"provider": "anthropic", "model": "m", "log_bodies": True}],
            "quiet": [{"provider": "anthropic", "model": "m"}],
        },
        "usage": {"flush_s": 0.05},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "k"})
    secret = "ghp_" + "a1B2c3D4e5" * 4
    for alias in ("logged", "quiet"):
        body = json.dumps(
            {"model": alias, "messages": [{"role": "user", "content": f"token {secret}"}]}
        )
        assert (
            requests.post(gw.url + "/v1/messages", data=body, headers=gw.auth()).status_code == 200
        )
    rows = gw.usage_rows(2)
    log = gw.db.parent / "gateway-bodies.jsonl"
    deadline = time.monotonic() + 5  # written right after the rows' commit
    while not (log.exists() and log.read_text().endswith("\n")) and time.monotonic() < deadline:
        time.sleep(0.05)
    bodies = log.read_text()
    [entry] = [json.loads(line) for line in bodies.splitlines()]
    assert entry["request_id"] == rows[0]["request_id"]
    assert secret not in bodies
    assert "REDACTED" in entry["request_body"] and "logged" in entry["request_body"]
    assert entry["response_body"] == '{"content":"fine"}'
