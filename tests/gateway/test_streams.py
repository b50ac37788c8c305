"""Many streams at once, clients that leave, several workers, and usage rows that survive a stop."""

from __future__ import annotations

import json
import selectors
import socket
import time

import requests


def stream_config(fakes, upstream) -> dict:
    return {"providers": {"anthropic": fakes.provider(upstream)}}


def test_1000_concurrent_streams(upstream_factory, gateway_factory, fakes):
    events = fakes.sse(
        (
            "message_start",
            {
                "type": "message_start",
                "message": {"usage": {"input_tokens": 7, "output_tokens": 1}},
            },
        ),
        *[
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": f"t{i}"},
                },
            )
            for i in range(4)
        ],
        ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 4}}),
    )
    upstream = upstream_factory(lambda seen: fakes.Stream(events, delay_s=0.3))
    gw = gateway_factory(stream_config(fakes, upstream), env={"FAKE_KEY": "k"})
    body = b'{"model":"claude-sonnet-4-5","stream":true}'
    request = (
        f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: {gw.token}\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    selector = selectors.DefaultSelector()
    answers: dict[socket.socket, bytearray] = {}
    for _ in range(1000):
        sock = socket.create_connection(("127.0.0.1", gw.port))
        sock.sendall(request)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        answers[sock] = bytearray()
    open_streams = len(answers)
    deadline = time.monotonic() + 60
    peak_upstream = 0
    while open_streams and time.monotonic() < deadline:
        peak_upstream = max(peak_upstream, upstream.connections)
        for key, _ in selector.select(timeout=1):
            data = key.fileobj.recv(65536)
            if data:
                answers[key.fileobj] += data
            else:
                selector.unregister(key.fileobj)
                key.fileobj.close()
                open_streams -= 1
    assert open_streams == 0
    expected = b"".join(events)
    complete = 0
    for raw in answers.values():
        head, _, chunked = bytes(raw).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        complete += _dechunk(chunked) == expected
    assert complete == 1000
    assert upstream.connections >= 900  # they really were concurrent: one upstream connection each
    rows = gw.usage_rows(1000, timeout=30)
    assert len(rows) == 1000
    assert {(r["status"], r["outcome"], r["output_tokens"]) for r in rows} == {(200, "ok", 4)}


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return bytes(out)
        out += rest[:size]
        data = rest[size + 2 :]


def test_a_client_that_leaves_cancels_the_upstream_request(
    upstream_factory, gateway_factory, fakes
):
    events = fakes.sse(*[("ping", {"type": "ping"})] * 100)
    upstream = upstream_factory(lambda seen: fakes.Stream(events, delay_s=0.05))
    gw = gateway_factory(stream_config(fakes, upstream), env={"FAKE_KEY": "k"})
    with requests.post(
        gw.url + "/v1/messages", data=b'{"model":"m","stream":true}', headers=gw.auth(), stream=True
    ) as response:
        next(response.iter_content(64))
    deadline = time.monotonic() + 4  # the whole stream would take 5 s
    while upstream.abandoned == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.abandoned == 1
    [row] = gw.usage_rows(1)
    assert row["outcome"] == "client_gone"
    metrics = requests.get(gw.url + "/metrics").text
    assert "reins_gateway_client_disconnects_total 1" in metrics


def test_metrics_count_requests_attempts_and_usage(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    gw = gateway_factory(stream_config(fakes, upstream), env={"FAKE_KEY": "k"})
    session = requests.Session()
    for _ in range(3):
        session.post(gw.url + "/v1/messages", data=b'{"model":"m"}', headers=gw.auth())
    session.post(gw.url + "/v1/messages", data=b'{"model":"m"}', headers={"x-api-key": "reins_bad"})
    gw.usage_rows(3)
    time.sleep(0.3)
    text = session.get(gw.url + "/metrics").text
    assert 'reins_gateway_requests_total{format="anthropic",status="200"} 3' in text
    assert 'reins_gateway_attempts_total{provider="anthropic",outcome="200"} 3' in text
    assert "reins_gateway_auth_failures_total 1" in text
    assert "reins_gateway_usage_rows_written_total 3" in text
    assert "reins_gateway_usage_rows_dropped_total 0" in text
    assert "reins_gateway_usage_write_failures_total 0" in text
    assert 'reins_gateway_request_seconds_bucket{le="+Inf"} 3' in text


def test_two_workers_serve_and_a_stop_flushes_every_row(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory()
    config = {
        **stream_config(fakes, upstream),
        "usage": {"flush_s": 30},
    }  # nothing flushes on its own
    gw = gateway_factory(config, env={"FAKE_KEY": "k"}, workers=2)
    for _ in range(20):
        with requests.Session() as session:  # new connections, spread over both workers
            assert (
                session.post(
                    gw.url + "/v1/messages", data=b'{"model":"m"}', headers=gw.auth()
                ).status_code
                == 200
            )
    assert gw.usage_rows(0, timeout=0) == []
    gw.stop()
    rows = gw.usage_rows(20, timeout=0)
    assert len(rows) == 20
    assert len({r["request_id"] for r in rows}) == 20
    assert json.loads(rows[0]["attempt_log"])[0]["status"] == 200
