"""The gateway benchmark keeps working: its parts against a real fake upstream, and a quick full run.

The quick run skips LiteLLM (no install in the test suite) and takes a few seconds; when the
gateway package is there it must produce a Reins column for every same-format scenario.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.append(str(ROOT / "bench"))  # appended: bench modules never shadow the packages

import gateway_bodies  # noqa: E402
import gateway_targets  # noqa: E402
from gateway_client import (  # noqa: E402
    IdleClosed,
    TimedConnection,
    dechunk,
    interleaved,
    parse_head,
    resend_once,
)
from gevent.server import StreamServer  # noqa: E402

ADDED = re.compile(r"(direct|floor\+work|floor|Reins|LiteLLM) ([+-]?\d+\.\d+)")


@pytest.fixture(scope="module")
def upstream() -> Iterator[dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        listeners = {"ok": "ok", "limited": "429"}
        server, ports = gateway_targets.start_upstream(Path(tmp), listeners, 2000, None)
        try:
            yield ports
        finally:
            server.stop()


def request(body: bytes, path: str = "/v1/messages") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def test_claude_code_body_has_the_shape_of_a_real_request() -> None:
    raw = gateway_bodies.claude_code_body("claude-sonnet-4-5")
    body = json.loads(raw)
    assert 75_000 <= len(raw) <= 90_000
    assert len(body["tools"]) == 25 and len(body["messages"]) == 12
    assert any(m["role"] == "system" for m in body["messages"])
    assert raw == gateway_bodies.claude_code_body("claude-sonnet-4-5"), "same bytes every run"


def test_a_2000_event_stream_is_read_whole_on_a_kept_alive_connection(upstream) -> None:
    conn = TimedConnection("127.0.0.1", upstream["ok"])
    stream = conn.exchange(request(gateway_bodies.small_body("m", stream=True)), keep_body=True)
    events = dechunk(stream.body)
    assert stream.status == 200 and 0 < stream.ttfb_ms <= stream.total_ms
    assert events.count(b"event: ") == 2000 and events.endswith(
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    again = conn.exchange(request(gateway_bodies.small_body("m")), keep_body=True)  # same socket
    assert json.loads(again.body)["type"] == "message"
    conn.close()


def test_openai_answers_and_rate_limits(upstream) -> None:
    conn = TimedConnection("127.0.0.1", upstream["ok"])
    answer = conn.exchange(request(b"{}", "/v1/responses"), keep_body=True)
    assert json.loads(answer.body)["status"] == "completed"
    chat = conn.exchange(request(b'{"stream": true}', "/v1/chat/completions"), keep_body=True)
    assert dechunk(chat.body).endswith(b"data: [DONE]\n\n")
    limited = TimedConnection("127.0.0.1", upstream["limited"])
    refused = limited.exchange(request(b"{}"), keep_body=True)
    assert refused.status == 429 and json.loads(refused.body)["error"]["type"] == "rate_limit_error"
    counts = gateway_targets.upstream_counts(upstream["ok"])
    assert counts[str(upstream["limited"])] >= 1


def test_interleaved_runs_count_every_request_and_flag_errors(upstream) -> None:
    ok = (TimedConnection("127.0.0.1", upstream["ok"]), request(gateway_bodies.small_body("m")))
    bad = (TimedConnection("127.0.0.1", upstream["limited"]), request(b"{}"))
    samples = interleaved({"ok": ok, "bad": bad}, count=40, block=10, warmup=2)
    assert len(samples["ok"].total_ms) == 40 and samples["ok"].bad == 0
    assert samples["bad"].bad == 40 and samples["bad"].first_bad == "HTTP 429"


def test_a_connection_the_server_closed_while_idle_is_resent_once() -> None:
    def answer_once_then_close(sock, _address) -> None:
        sock.recv(65536)
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        sock.close()  # like uvicorn's keep-alive timeout, without saying so

    server = StreamServer(("127.0.0.1", 0), answer_once_then_close)
    server.start()
    try:
        conn = TimedConnection("127.0.0.1", server.server_port)
        assert conn.exchange(b"GET / HTTP/1.1\r\n\r\n").status == 200
        with pytest.raises(IdleClosed):
            conn.exchange(b"GET / HTTP/1.1\r\n\r\n")
        conn.exchange(b"GET / HTTP/1.1\r\n\r\n")  # a fresh connection
        assert resend_once(conn, b"GET / HTTP/1.1\r\n\r\n").status == 200
    finally:
        server.stop()


def test_parse_head_reads_the_framing() -> None:
    assert parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 12") == (200, 12, False, False)
    assert parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close") == (
        200, None, True, True,
    )  # fmt: skip


def test_quick_run_prints_the_table() -> None:
    command = [
        sys.executable, str(ROOT / "bench" / "gateway_overhead.py"), "--quick", "--skip-litellm",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()

    def row(title: str) -> dict[str, str]:
        found = [line for line in lines if line.startswith(title)]
        assert found, f"no row {title!r} in:\n{done.stdout}"
        return dict(ADDED.findall(found[0]))

    passthrough = row("Anthropic passthrough, small body: added p50")
    assert 0 < float(passthrough["direct"]) < 50 and "LiteLLM" not in passthrough
    assert "floor" in passthrough  # the yardsticks run plain passthrough only
    assert "floor+work" in passthrough
    assert "floor" not in row("Anthropic SSE, 2,000 events: added total p50")
    assert "floor+work" not in row("Anthropic SSE, 2,000 events: added total p50")
    assert "LiteLLM column skipped (--skip-litellm)" in done.stdout
    assert any(line.startswith("this machine: cpuidle driver ") for line in lines), done.stdout
    if gateway_targets.nginx_executable() is None:
        assert "nginx column skipped: no nginx executable" in done.stdout
    else:
        assert "nginx +" in " ".join(lines), done.stdout
    if gateway_targets.reins_available():
        for title in (
            "Anthropic passthrough, small body: added p50",
            "Anthropic passthrough, ~80 KB Claude Code body: added p50",
            "Anthropic SSE, 2,000 events: added total p50",
            "same-format fallback after a 429: added p50",
        ):
            assert "Reins" in row(title), done.stdout
        assert "Reins 100%" in done.stdout, done.stdout


def test_nginx_proxies_with_the_key_swapped_or_says_how_to_install_it(upstream, tmp_path) -> None:
    """The compiled yardstick proxies like the floor when nginx is there, and is skipped with the
    install command when it is not (CI machines have no nginx)."""
    ports = {"ok": upstream["ok"]}
    if gateway_targets.nginx_executable() is None:
        with pytest.raises(gateway_targets.StartError, match="apt-get install nginx-light"):
            gateway_targets.start_nginx(tmp_path, ports, None)
        return
    server, key, port = gateway_targets.start_nginx(tmp_path, ports, None)
    try:
        conn = TimedConnection("127.0.0.1", port)
        body = gateway_bodies.small_body(gateway_targets.MODEL)
        reply = conn.exchange(request(body), keep_body=True)
        assert reply.status == 200 and json.loads(reply.body)["type"] == "message"
        stream = conn.exchange(request(gateway_bodies.small_body("m", stream=True)), keep_body=True)
        assert dechunk(stream.body).count(b"event: ") == 2000  # same connection, kept alive
        conn.close()
        assert key == gateway_targets.FAKE_KEYS["ANTHROPIC_API_KEY"]
    finally:
        server.stop()


def test_the_floor_with_work_checks_tokens_and_prices_answers(upstream, tmp_path) -> None:
    """``floor+work`` must do the work it claims, or its column measures something else."""
    ports = {"ok": upstream["ok"]}
    server, token, port = gateway_targets.start_floor(tmp_path, ports, None, tmp_path / "w.db")
    try:
        body = gateway_bodies.small_body(gateway_targets.MODEL)
        url = f"http://127.0.0.1:{port}/v1/messages"
        headers = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
        reply = requests.post(url, data=body, headers={**headers, "x-api-key": token}, timeout=10)
        assert reply.status_code == 200
        assert reply.headers["x-reins-request-id"].startswith("floor-")
        assert float(reply.headers["x-reins-cost-usd"]) > 0
        assert reply.json()["type"] == "message"
        wrong = {**headers, "x-api-key": token[:-2] + "xx"}
        assert requests.post(url, data=body, headers=wrong, timeout=10).status_code == 401
    finally:
        server.stop()
