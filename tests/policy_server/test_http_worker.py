"""The policy server's HTTP/1.1 worker: parsing rules (pure) and real sockets on a live server."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from policy_server.http_worker import BadRequest, error_bytes, parse_head

LS = {
    "session_id": "s",
    "cwd": "/p",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "ls"},
}


def test_a_head_becomes_a_wsgi_environ() -> None:
    head = (
        b"POST /v1/hooks/claude%2Dcode?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n"
        b"Content-Type: application/json\r\nX-Reins-Agent: a\r\nX-Reins-Agent: b"
    )
    environ, length, keep_alive = parse_head(head, {"base": 1})
    assert environ["PATH_INFO"] == "/v1/hooks/claude-code" and environ["QUERY_STRING"] == "x=1"
    assert (environ["CONTENT_LENGTH"], environ["CONTENT_TYPE"]) == ("12", "application/json")
    assert environ["HTTP_X_REINS_AGENT"] == "a,b" and environ["base"] == 1
    assert (length, keep_alive) == (12, True)


@pytest.mark.parametrize(
    ("head", "fragment"),
    [
        (b"GET / HTTP/2.0", "request line"),
        (b"GET /", "request line"),
        (b"GET / HTTP/1.1\r\nno colon here", "header line"),
        (b"GET / HTTP/1.1\r\nBad Name: x", "header line"),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked", "both"),
        (b"POST / HTTP/1.1\r\nContent-Length: -5", "Content-Length"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2", "twice"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip", "Transfer-Encoding"),
    ],
)
def test_malformed_heads_are_refused(head: bytes, fragment: str) -> None:
    with pytest.raises(BadRequest, match=fragment):
        parse_head(head, {})


@pytest.mark.parametrize(
    ("version", "connection", "keep"),
    [("1.1", "", True), ("1.1", "close", False), ("1.0", "", False), ("1.0", "keep-alive", True)],
)
def test_keep_alive_follows_the_version(version: str, connection: str, keep: bool) -> None:
    head = f"GET / HTTP/{version}" + (f"\r\nConnection: {connection}" if connection else "")
    assert parse_head(head.encode(), {})[2] is keep


def test_error_answers_use_the_json_error_shape() -> None:
    head, _, body = error_bytes(431, "too big").partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ") and b"Connection: close" in head
    assert json.loads(body) == {
        "error": {"status": 431, "code": "headers_too_large", "message": "too big"}
    }


class Client:
    """A raw keep-alive HTTP/1.1 client that reads one response at a time."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        status = int(lines[0].split()[1])
        if head_only or status < 200 or status in (204, 304):
            body = b""
        elif "content-length" in headers:
            body = self._exact(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self._line(), 16):
                body += self._exact(size)
                self._exact(2)
            self._line()
        else:
            while self._fill(allow_eof=True):
                pass
            body, self.buffer = self.buffer, b""
        return status, headers, body

    def _fill(self, allow_eof: bool = False) -> bool:
        data = self.sock.recv(65536)
        if not data and not allow_eof:
            raise ConnectionError("server closed the connection")
        self.buffer += data
        return bool(data)

    def _exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def closed(self) -> bool:
        self.sock.settimeout(5)
        return self.sock.recv(1) == b""


def post(token: str, body: bytes, extra: str = "", version: str = "1.1") -> bytes:
    return (
        f"POST /v1/hooks/claude-code HTTP/{version}\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


@pytest.fixture
def server(server_factory, token_factory, tmp_path) -> tuple[int, str, Any]:
    srv = server_factory(tmp_path / "w.db")
    return srv.port, token_factory(srv.db, "dana", "developer", "auditor"), srv


def test_keep_alive_serves_many_requests_and_pipelines(server) -> None:
    port, token, _ = server
    client = Client(port)
    for _ in range(3):
        client.send(post(token, json.dumps(LS).encode()))
        status, headers, body = client.response()
        assert status == 200 and json.loads(body) == {} and "date" in headers
    client.send(post(token, json.dumps(LS).encode()) * 3)  # pipelined
    assert [client.response()[0] for _ in range(3)] == [200, 200, 200]


def test_http_1_0_closes_after_the_answer(server) -> None:
    port, token, _ = server
    client = Client(port)
    client.send(post(token, json.dumps(LS).encode(), version="1.0"))
    status, headers, _ = client.response()
    assert status == 200 and headers["connection"] == "close" and client.closed()


def test_expect_100_continue_is_answered(server) -> None:
    port, token, _ = server
    client = Client(port)
    body = json.dumps(LS).encode()
    client.send(
        post(token, b"", "Expect: 100-continue\r\n").replace(
            b"Length: 0", b"Length: %d" % len(body)
        )
    )
    assert client.response()[0] == 100
    client.send(body)
    assert client.response()[0] == 200


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (
            b"POST /v1/hooks/codex HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
    ],
)
def test_unreadable_requests_get_a_json_error_and_a_closed_connection(server, raw, status) -> None:
    port, _, _ = server
    client = Client(port)
    client.send(raw)
    got, headers, body = client.response()
    assert got == status and headers["connection"] == "close"
    assert json.loads(body)["error"]["status"] == status
    assert client.closed()


def test_a_bad_chunk_is_a_400_and_closes_the_connection(server) -> None:
    port, token, _ = server
    client = Client(port)
    client.send(
        b"POST /v1/hooks/codex HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    )
    status, _, body = client.response()
    assert status == 400 and "could not be read" in json.loads(body)["error"]["message"]
    assert client.closed()


def test_an_unread_body_is_skipped_and_the_connection_reused(server) -> None:
    port, token, _ = server
    client = Client(port)
    # 401 before the body is read: the worker must read past it to find the next request.
    client.send(post("wrong", b'{"pad": "' + b"x" * 50_000 + b'"}'))
    assert client.response()[0] == 401
    client.send(post(token, json.dumps(LS).encode()))
    assert client.response()[0] == 200


def test_head_answers_have_no_body(server) -> None:
    port, _, _ = server
    client = Client(port)
    client.send(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = client.response(head_only=True)
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # the connection still works
    assert json.loads(client.response()[2])["status"] == "ok"


@pytest.mark.parametrize(
    ("version", "pieces", "expected"),
    [
        ("HTTP/1.1", [b"one"], b"Content-Length: 3\r\n\r\none"),
        ("HTTP/1.1", [b"one", b"", b"two"], b"chunked\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n"),
        ("HTTP/1.0", [b"one", b"two"], b"Connection: close\r\n\r\nonetwo"),
    ],
)
def test_streamed_answers_are_chunked_or_closed(version, pieces, expected) -> None:
    from policy_server.http_worker import Responder

    ours, theirs = socket.socketpair()
    responder = Responder(ours, version, "GET", keep_alive=True)
    responder.start_response("200 OK", [("Content-Type", "text/plain")])
    responder.finish(iter(pieces))
    ours.close()
    received = b""
    while data := theirs.recv(65536):
        received += data
    assert received.startswith(f"{version} 200 OK\r\n".encode()) and received.endswith(expected)
    assert responder.keep_alive is (version == "HTTP/1.1")


def test_flask_routes_read_chunked_bodies_too(server) -> None:
    port, token, _ = server
    event = json.dumps({"event": "PreToolUse", "tool": "Bash", "tool_input": {"command": "ls"}})
    client = Client(port)
    client.send(
        b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(event), event.encode())
    )
    status, _, body = client.response()
    assert status == 200 and json.loads(body)["decision"] == "allow"


def test_stopping_does_not_wait_for_idle_keep_alive_clients(server) -> None:
    import os
    import signal
    import time

    port, token, srv = server
    client = Client(port)
    client.send(post(token, json.dumps(LS).encode()))
    assert client.response()[0] == 200  # the connection now sits idle, kept alive
    started = time.monotonic()
    os.killpg(srv.process.pid, signal.SIGTERM)
    srv.process.wait(timeout=10)
    assert time.monotonic() - started < 5  # not the 75 s keep-alive, not the graceful timeout
    assert client.closed()


def test_a_kept_alive_connection_outlives_idle_polls_and_slow_heads(server) -> None:
    """The idle poll (1 s) fires while the client sits idle and while half a head is in: the
    connection's timers are reused across polls and requests, and nothing is lost."""
    import time

    port, token, _ = server
    client = Client(port)
    request = post(token, json.dumps(LS).encode())
    client.send(request)
    assert client.response()[0] == 200
    time.sleep(2.3)  # two idle polls expire on the kept-alive connection
    client.send(request[:20])
    time.sleep(1.2)  # and one more with a partial head in the buffer
    client.send(request[20:])
    assert client.response()[0] == 200
    for _ in range(3):
        client.send(request)
        assert client.response()[0] == 200
