"""The upstream client over TLS: verified handshake, keep-alive reuse, and a stale pooled socket."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from gateway.config import parse
from gateway.upstream import Transport

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def tls_server(tmp_path: Path, answers: list[int]) -> int:
    """A one-connection-at-a-time TLS server; ``answers`` counts requests per connection."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k.pem"),
         "-out", str(tmp_path / "c.pem"), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            raw, _ = listener.accept()
            try:
                conn = context.wrap_socket(raw, server_side=True)
            except ssl.SSLError:  # the client refused our certificate
                raw.close()
                continue
            with conn:
                answers.append(0)
                data = b""
                while True:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if b"\r\n\r\n" not in data:
                        break
                    data = data.split(b"\r\n\r\n", 1)[1][2:]  # every test body is 2 bytes
                    answers[-1] += 1
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


@needs_openssl
def test_tls_upstream_is_verified_and_reused(tmp_path: Path) -> None:
    answers: list[int] = []
    port = tls_server(tmp_path, answers)
    provider = parse(
        {"providers": {"p": {"kind": "anthropic", "base_url": f"https://localhost:{port}"}}}
    ).providers["p"]
    transport = Transport(ssl.create_default_context(cafile=str(tmp_path / "c.pem")))
    head = b"POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n"
    for _ in range(3):
        response = transport.open(provider, head, b"{}")
        assert (response.status, response.read_all()) == (200, b"ok")
    assert answers == [3]  # one TLS connection carried all three


@needs_openssl
def test_an_unverifiable_certificate_is_a_connect_failure(tmp_path: Path) -> None:
    from gateway.upstream import UpstreamUnavailable

    port = tls_server(tmp_path, [])
    provider = parse(
        {"providers": {"p": {"kind": "anthropic", "base_url": f"https://localhost:{port}"}}}
    ).providers["p"]
    with pytest.raises(UpstreamUnavailable) as caught:
        Transport().open(provider, b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n", b"{}")
    assert caught.value.reason == "connect"


def test_a_pooled_connection_the_provider_closed_is_replaced() -> None:
    """Providers close idle keep-alive connections; the next request must not fail for it."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[int] = []

    def serve() -> None:
        while True:
            conn, _ = listener.accept()
            connections.append(1)
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            # closed right after answering, without saying so

    threading.Thread(target=serve, daemon=True).start()
    port = listener.getsockname()[1]
    provider = parse(
        {"providers": {"p": {"kind": "anthropic", "base_url": f"http://127.0.0.1:{port}"}}}
    ).providers["p"]
    transport = Transport()
    for _ in range(3):
        response = transport.open(provider, b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"")
        assert (response.status, response.read_all()) == (200, b"ok")
    assert len(connections) == 3
