"""Refusals in the inbound API's own error shape: 401, 400, 413, 408, 429 and a missing key."""

from __future__ import annotations

import json
import socket
import time

import requests


def anthropic_only(fakes, upstream) -> dict:
    return {
        "providers": {"anthropic": fakes.provider(upstream)},
        "limits": {"max_body_bytes": 4096, "request_timeout_s": 0.5},
    }


def test_unknown_token_gets_401_in_each_inbound_shape(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    gw = gateway_factory(anthropic_only(fakes, upstream), env={"FAKE_KEY": "k"})
    anthropic = requests.post(
        gw.url + "/v1/messages", data=b'{"model":"m"}', headers={"x-api-key": "reins_wrong"}
    )
    assert anthropic.status_code == 401
    assert anthropic.json()["type"] == "error"
    assert anthropic.json()["error"]["type"] == "authentication_error"
    openai = requests.post(
        gw.url + "/v1/responses",
        data=b'{"model":"m"}',
        headers={"Authorization": "Bearer sk-not-ours"},
    )
    assert openai.status_code == 401
    assert openai.json()["error"]["code"] == "invalid_api_key"
    assert "reins token create" in openai.json()["error"]["message"]
    assert requests.post(gw.url + "/v1/chat/completions", data=b"{}").status_code == 401
    assert upstream.seen == []


def test_a_new_token_works_after_the_background_refresh(
    upstream_factory, gateway_factory, fakes, token_factory
):
    upstream = upstream_factory()
    gw = gateway_factory(
        {**anthropic_only(fakes, upstream), "auth": {"refresh_s": 0.2}}, env={"FAKE_KEY": "k"}
    )
    fresh = token_factory(gw.db, "erin", "developer")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        response = requests.post(
            gw.url + "/v1/messages", data=b'{"model":"m"}', headers={"x-api-key": fresh}
        )
        if response.status_code == 200:
            break
        time.sleep(0.1)
    assert response.status_code == 200


def test_malformed_json_gets_400_in_the_inbound_shape(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    gw = gateway_factory(anthropic_only(fakes, upstream), env={"FAKE_KEY": "k"})
    response = requests.post(
        gw.url + "/v1/messages", data=b'{"max_tokens": 5 oops, "model": "m"}', headers=gw.auth()
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "malformed JSON" in response.json()["error"]["message"]
    chat = requests.post(
        gw.url + "/v1/chat/completions",
        data=b"[1]",
        headers={"Authorization": f"Bearer {gw.token}"},
    )
    assert chat.status_code == 400 and chat.json()["error"]["type"] == "invalid_request_error"
    truncated = requests.post(
        gw.url + "/v1/messages", data=b'{"model": "m", "messages": [', headers=gw.auth()
    )
    assert truncated.status_code == 400 and truncated.json()["type"] == "error"
    no_model = requests.post(gw.url + "/v1/messages", data=b'{"messages":[]}', headers=gw.auth())
    assert no_model.status_code == 400 and '"model"' in no_model.json()["error"]["message"]
    assert upstream.seen == []


def test_oversized_body_gets_413_before_it_is_read(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    gw = gateway_factory(anthropic_only(fakes, upstream), env={"FAKE_KEY": "k"})
    with socket.create_connection(("127.0.0.1", gw.port)) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["type"] == "error" and "exceeds the limit of 4096" in body["error"]["message"]
    chunked = requests.post(
        gw.url + "/v1/messages",
        data=iter([b"{" + b" " * 3000, b" " * 3000 + b"}"]),
        headers=gw.auth(),
    )
    assert chunked.status_code == 413


def test_slow_trickle_gets_408(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    gw = gateway_factory(anthropic_only(fakes, upstream), env={"FAKE_KEY": "k"})
    with socket.create_connection(("127.0.0.1", gw.port)) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        answer = b""
        try:
            for _ in range(20):
                sock.sendall(b" ")
                time.sleep(0.1)
        except OSError:
            pass
        sock.settimeout(3)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["type"] == "timeout_error"
    assert time.monotonic() - started < 3


def test_a_provider_without_its_key_says_which_variable_to_set(
    upstream_factory, gateway_factory, fakes
):
    upstream = upstream_factory()
    gw = gateway_factory(
        {"providers": {"anthropic": fakes.provider(upstream, key_env="MY_ANTHROPIC_KEY")}}
    )
    assert "set MY_ANTHROPIC_KEY" in gw.output()
    response = requests.post(gw.url + "/v1/messages", data=b'{"model":"m"}', headers=gw.auth())
    assert response.status_code == 400
    assert "set MY_ANTHROPIC_KEY" in response.json()["error"]["message"]
    assert upstream.seen == []


def test_requests_per_minute_per_token(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    gw = gateway_factory(
        {**anthropic_only(fakes, upstream), "auth": {"requests_per_minute": 3}},
        env={"FAKE_KEY": "k"},
    )
    if time.time() % 60 > 55:  # keep the five requests inside one calendar minute
        time.sleep(61 - time.time() % 60)
    responses = [
        requests.post(gw.url + "/v1/messages", data=b'{"model":"m"}', headers=gw.auth())
        for _ in range(5)
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert responses[3].json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(responses[3].headers["retry-after"]) <= 61
    assert len(upstream.seen) == 3


def test_requests_per_minute_holds_across_workers(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    limit, sent = 4, 20
    config = {**anthropic_only(fakes, upstream), "auth": {"requests_per_minute": limit}}
    # reuseport: the kernel spreads new connections over both workers by a hash of their
    # addresses, so all 20 land on one worker about once in 500,000 runs.
    gw = gateway_factory(
        config, env={"FAKE_KEY": "k", "REINS_GATEWAY_BALANCE": "reuseport"}, workers=2
    )
    for attempt in range(2):  # again (in the next minute) if a minute boundary fell in the middle
        if time.time() % 60 > 55:
            time.sleep(61 - time.time() % 60)
        minute = time.time() // 60
        session = f"rpm-{attempt}"
        statuses = [
            requests.post(  # a new connection each time
                gw.url + "/v1/messages",
                data=b'{"model":"m"}',
                headers=gw.auth(**{"x-claude-code-session-id": session}),
            ).status_code
            for _ in range(sent)
        ]
        if time.time() // 60 == minute:
            break
        time.sleep(61 - time.time() % 60)
    rows = gw.usage_rows(sent, session=session)
    # Each worker names its requests with its own prefix: both served some.
    assert len({row["request_id"].rsplit("-", 1)[0] for row in rows}) == 2
    assert statuses.count(200) == limit
    assert statuses.count(429) == sent - limit
    assert [row["outcome"] for row in rows].count("rate_limited") == sent - limit


def test_one_connection_changing_or_revoking_its_token_is_judged_each_time(
    upstream_factory, gateway_factory, fakes, token_factory
):
    """The gateway spares the hash of a token a connection presents again; it must still tell
    tokens apart on one connection and stop a revoked token on a connection that used it."""
    from policy_server import store, tokens

    upstream = upstream_factory()
    gw = gateway_factory(
        {**anthropic_only(fakes, upstream), "auth": {"refresh_s": 0.2}}, env={"FAKE_KEY": "k"}
    )
    erin = token_factory(gw.db, "erin", "developer")
    time.sleep(0.6)  # the background refresh has loaded erin's token
    session = requests.Session()  # one keep-alive connection for every request below

    def post(token: str) -> int:
        body = b'{"model":"m"}'
        return session.post(
            gw.url + "/v1/messages", data=body, headers={"x-api-key": token}
        ).status_code

    assert [post(gw.token), post(gw.token), post(erin), post(gw.token)] == [200] * 4
    assert post(gw.token[:-1] + ("A" if gw.token[-1] != "A" else "B")) == 401
    assert [row["user"] for row in gw.usage_rows(4)] == ["dana", "dana", "erin", "dana"]
    conn = store.connect(gw.db)
    try:
        tokens.revoke(conn, gw.token, time.time_ns() // 1000)
    finally:
        conn.close()
    deadline = time.monotonic() + 5
    while post(gw.token) == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert post(gw.token) == 401
    assert post(erin) == 200
