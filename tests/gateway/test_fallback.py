"""Same-format fallback: before the first byte only, with cooldowns, and every attempt recorded."""

from __future__ import annotations

import json
import socket
import time

import requests

OK = b'{"type":"message","content":[],"usage":{"input_tokens":1,"output_tokens":1}}'
BODY = b'{"model":"sonnet","stream":true,"messages":[]}'


def two_targets(fakes, primary, backup, **extra) -> dict:
    return {
        "providers": {
            "primary": fakes.provider(primary, **extra.pop("primary_extra", {})),
            "backup": fakes.provider(backup),
        },
        "models": {
            "sonnet": [
                {"provider": "primary", "model": "p-model"},
                {"provider": "backup", "model": "b-model"},
            ]
        },
        **extra,
    }


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_429_falls_back_and_rests_the_target_for_retry_after(
    upstream_factory, gateway_factory, fakes
):
    primary = upstream_factory(
        lambda seen: fakes.Reply(
            status=429,
            body=b'{"type":"error"}',
            headers={"retry-after": "30", "content-type": "application/json"},
        )
    )
    backup = upstream_factory(lambda seen: fakes.Reply(body=OK))
    gw = gateway_factory(two_targets(fakes, primary, backup), env={"FAKE_KEY": "k"})
    session = requests.Session()
    for _ in range(3):
        response = session.post(gw.url + "/v1/messages", data=BODY, headers=gw.auth())
        assert (response.status_code, response.content) == (200, OK)
    assert len(primary.seen) == 1  # resting after its 429: not asked again
    assert json.loads(backup.seen[0].body)["model"] == "b-model"
    rows = gw.usage_rows(3)
    attempts = json.loads(rows[0]["attempt_log"])
    assert [(a["provider"], a.get("error"), a.get("status")) for a in attempts] == [
        ("primary", "429", None),
        ("backup", None, 200),
    ]
    assert rows[0]["attempts"] == 2 and rows[1]["attempts"] == 1
    assert rows[0]["provider"] == "backup"
    metrics = session.get(gw.url + "/metrics").text
    assert 'reins_gateway_attempts_total{provider="primary",outcome="429"} 1' in metrics
    assert 'reins_gateway_attempts_total{provider="backup",outcome="200"} 3' in metrics
    assert "reins_gateway_fallbacks_total 1" in metrics
    assert 'reins_gateway_requests_total{format="anthropic",status="200"} 3' in metrics


def test_5xx_and_529_fall_back(upstream_factory, gateway_factory, fakes):
    statuses = iter([503, 529])
    primary = upstream_factory(lambda seen: fakes.Reply(status=next(statuses), body=b"{}"))
    backup = upstream_factory(lambda seen: fakes.Reply(body=OK))
    gw = gateway_factory(two_targets(fakes, primary, backup), env={"FAKE_KEY": "k"})
    for _ in range(2):
        assert requests.post(gw.url + "/v1/messages", data=BODY, headers=gw.auth()).content == OK
    assert len(primary.seen) == 2 and len(backup.seen) == 2


def test_connect_error_falls_back(upstream_factory, gateway_factory, fakes):
    backup = upstream_factory(lambda seen: fakes.Reply(body=OK))
    config = {
        "providers": {
            "down": {"kind": "anthropic", "base_url": f"http://127.0.0.1:{closed_port()}"},
            "backup": fakes.provider(backup),
        },
        "models": {"sonnet": [{"provider": "down"}, {"provider": "backup"}]},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "k"})
    assert requests.post(gw.url + "/v1/messages", data=BODY, headers=gw.auth()).content == OK
    [row] = gw.usage_rows(1)
    assert json.loads(row["attempt_log"])[0]["error"] == "connect"


def test_hang_times_out_and_falls_back(upstream_factory, gateway_factory, fakes):
    primary = upstream_factory(lambda seen: fakes.Hang(5))
    backup = upstream_factory(lambda seen: fakes.Reply(body=OK))
    config = two_targets(fakes, primary, backup, primary_extra={"timeouts": {"first_byte_s": 0.3}})
    gw = gateway_factory(config, env={"FAKE_KEY": "k"})
    started = time.monotonic()
    assert requests.post(gw.url + "/v1/messages", data=BODY, headers=gw.auth()).content == OK
    assert 0.3 <= time.monotonic() - started < 3
    [row] = gw.usage_rows(1)
    assert json.loads(row["attempt_log"])[0]["error"] == "timeout"


def test_reset_before_the_first_byte_falls_back(upstream_factory, gateway_factory, fakes):
    primary = upstream_factory(lambda seen: fakes.Reset())
    backup = upstream_factory(lambda seen: fakes.Reply(body=OK))
    gw = gateway_factory(two_targets(fakes, primary, backup), env={"FAKE_KEY": "k"})
    assert requests.post(gw.url + "/v1/messages", data=BODY, headers=gw.auth()).content == OK


def test_the_last_targets_error_reaches_the_client_unchanged(
    upstream_factory, gateway_factory, fakes
):
    error = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    primary = upstream_factory(lambda seen: fakes.Reply(status=529, body=b"{}"))
    backup = upstream_factory(lambda seen: fakes.Reply(status=529, body=error))
    gw = gateway_factory(two_targets(fakes, primary, backup), env={"FAKE_KEY": "k"})
    response = requests.post(gw.url + "/v1/messages", data=BODY, headers=gw.auth())
    assert (response.status_code, response.content) == (529, error)


def test_no_fallback_after_the_first_byte(upstream_factory, gateway_factory, fakes):
    events = fakes.sse(
        *[
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "x"},
                },
            )
        ]
        * 5
    )
    start = fakes.sse(
        (
            "message_start",
            {
                "type": "message_start",
                "message": {"usage": {"input_tokens": 3, "output_tokens": 1}},
            },
        )
    )
    primary = upstream_factory(lambda seen: fakes.Stream(start + events, reset_after=4))
    backup = upstream_factory(lambda seen: fakes.Reply(body=OK))
    gw = gateway_factory(two_targets(fakes, primary, backup), env={"FAKE_KEY": "k"})
    response = requests.post(gw.url + "/v1/messages", data=BODY, headers=gw.auth())
    assert response.status_code == 200
    assert response.content.startswith(b"".join((start + events)[:4]))
    last = response.content.rstrip(b"\n").split(b"\n\n")[-1]
    assert last.startswith(b"event: error\ndata: ")
    assert json.loads(last.split(b"data: ", 1)[1])["error"]["type"] == "api_error"
    assert backup.seen == []
    [row] = gw.usage_rows(1)
    assert (row["outcome"], row["status"], row["input_tokens"]) == ("stream_broken", 200, 3)


def test_responses_stream_broken_ends_with_response_failed(
    upstream_factory, gateway_factory, fakes
):
    events = fakes.sse(
        ("response.created", {"type": "response.created", "response": {"id": "r"}}),
        ("response.in_progress", {"type": "response.in_progress"}),
    )
    upstream = upstream_factory(lambda seen: fakes.Stream(events + events, reset_after=2))
    gw = gateway_factory(
        {"providers": {"openai": fakes.provider(upstream, "openai")}}, env={"FAKE_KEY": "k"}
    )
    response = requests.post(
        gw.url + "/v1/responses",
        data=b'{"model":"gpt","stream":true}',
        headers={"Authorization": f"Bearer {gw.token}"},
    )
    last = response.content.rstrip(b"\n").split(b"\n\n")[-1]
    assert last.startswith(b"event: response.failed\n")
    assert json.loads(last.split(b"data: ", 1)[1])["response"]["status"] == "failed"
