"""Every failure we can inject: the real file, run as a harness runs it, still exits 0 and prints
one JSON object the harness accepts, deciding by the cached bundle or the fail mode."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest

PRE = {"session_id": "s-fail", "cwd": "/home/dev/project", "hook_event_name": "PreToolUse"}
RM = {**PRE, "tool_name": "Bash", "tool_input": {"command": "rm -rf /"}}
START = {**PRE, "hook_event_name": "SessionStart"}


def decision(answer: dict) -> str:
    return answer.get("hookSpecificOutput", {}).get("permissionDecision", "none")


@pytest.fixture
def fake_server() -> Iterator:
    """An HTTP server answering every request with the bytes given to ``start``."""
    servers = []

    def start(response: bytes) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)

        def serve() -> None:
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(65536)
                    conn.sendall(response)

        threading.Thread(target=serve, daemon=True).start()
        servers.append(sock)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for sock in servers:
        sock.close()


def http(status: str, body: bytes, ctype: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


BAD_ANSWERS = {
    "html": http("200 OK", b"<html><body>Login required</body></html>", "text/html"),
    "5xx": http("502 Bad Gateway", b"upstream down"),
    "json-array": http("200 OK", b"[1, 2]"),
    "truncated": b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"hookSpec',
    "not-http": b"SSH-2.0-OpenSSH_9.6\r\n",
    "401": http("401 UNAUTHORIZED", b'{"error": {"message": "invalid token"}}'),
}


@pytest.mark.parametrize("kind", sorted(BAD_ANSWERS))
def test_a_bad_server_answer_means_offline_decision(
    kind, client_factory, fake_server, python
) -> None:
    client = client_factory(fake_server(BAD_ANSWERS[kind]), bundle=True)
    result = client.spawn(RM, python=python)
    assert result.returncode == 0 and decision(result.answer) == "deny", result.stderr
    assert "decided offline" in json.dumps(result.answer) and "deciding offline" in result.stderr
    assert len(client.spool()) == 1


def break_install(client, what: str) -> None:
    """Break one thing of an installed client that has cached the bundle."""
    home = client.home
    if what == "missing-config":
        (home / "config.json").unlink()
    elif what == "corrupt-config":
        (home / "config.json").write_text("{server: nope")
    elif what == "missing-token":
        (home / "token").unlink()
    elif what == "corrupt-bundle":
        (home / "bundle.json").write_text('{"format": "reins-bundle/1", "rules": [{"id": 1}]}')
    elif what == "truncated-bundle":
        (home / "bundle.json").write_bytes((home / "bundle.json").read_bytes()[:500])
    elif what == "foreign-bundle":
        (home / "bundle.json").write_text('{"format": "reins-bundle/99", "rules": []}')
    elif what == "missing-engine":
        shutil.rmtree(home / "lib" / "reins_engine")
    elif what == "broken-engine":
        (home / "lib" / "reins_engine" / "evaluator.py").write_text("raise ImportError('boom')\n")
    elif what == "unwritable-spool":
        shutil.rmtree(home / "spool")
        (home / "spool").write_text("not a folder")


# Breakages the cached bundle survives (it decides), and those that leave only the fail mode.
BUNDLE_DECIDES = ["missing-config", "corrupt-config", "missing-token", "unwritable-spool"]
FAIL_MODE_DECIDES = [
    "corrupt-bundle",
    "truncated-bundle",
    "foreign-bundle",
    "missing-engine",
    "broken-engine",
]


@pytest.mark.parametrize("what", [*BUNDLE_DECIDES, "bad-server-url"])
def test_the_bundle_survives_a_broken_setup(what, client_factory, dead_url, python) -> None:
    client = client_factory(dead_url, bundle=True, fail_mode="open")
    break_install(client, what)
    env = {"REINS_SERVER": "127.0.0.1:8700" if what == "bad-server-url" else dead_url}
    result = client.spawn(RM, python=python, **env)
    assert result.returncode == 0 and result.stderr, result.stderr
    said = {"missing-token": "token file", "unwritable-spool": "not spooled"}.get(what, "")
    assert said in result.stderr
    reason = result.answer["hookSpecificOutput"]["permissionDecisionReason"]
    assert decision(result.answer) == "deny" and "decided offline" in reason


@pytest.mark.parametrize("what", FAIL_MODE_DECIDES)
@pytest.mark.parametrize("mode", ["closed", "open"])
def test_an_unusable_bundle_leaves_the_fail_mode(
    what, mode, client_factory, dead_url, python
) -> None:
    client = client_factory(dead_url, bundle=True, fail_mode=mode)
    break_install(client, what)
    result = client.spawn(RM, python=python, REINS_SERVER=dead_url)
    assert result.returncode == 0 and result.stderr
    if mode == "open":
        assert result.answer == {}
    else:
        reason = result.answer["hookSpecificOutput"]["permissionDecisionReason"]
        assert decision(result.answer) == "deny" and "fails closed" in reason and dead_url in reason
    assert len(client.spool()) == 1  # decided either way, and audited later


@pytest.mark.parametrize(
    "stdin", [b"", b"not json at all", b"[1, 2]", b'{"no_event": true}', b"\xff\xfe", b"{" * 50000]
)
@pytest.mark.parametrize("mode", ["closed", "open"])
def test_garbage_stdin(stdin, mode, client_factory, dead_url, python) -> None:
    client = client_factory(dead_url, bundle=True, fail_mode=mode)
    result = client.spawn(stdin, python=python)
    assert result.returncode == 0
    if mode == "closed":
        assert result.answer["decision"] == "block" and result.answer["reason"]
    else:
        assert result.answer == {}
    assert client.spool() == []  # nothing the server could audit


@pytest.mark.parametrize("argv", [[], ["cursor"], ["claude-code", "extra"]])
def test_bad_arguments_still_answer(argv, client_factory, dead_url, python) -> None:
    client = client_factory(dead_url, fail_mode="closed")
    command = [python, "-I", "-S", str(client.home / "reins_hook.py"), *argv]
    done = subprocess.run(
        command, input=json.dumps(RM).encode(), capture_output=True, env=client.env, timeout=30
    )
    assert done.returncode == 0
    answer = json.loads(done.stdout)
    if argv[:1] == ["claude-code"]:
        assert decision(answer) == "deny"
    else:
        assert "usage: reins_hook.py" in done.stderr.decode()
        assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_closed_stdout_does_not_crash(client_factory, dead_url, python) -> None:
    client = client_factory(dead_url)
    command = [python, "-I", "-S", str(client.home / "reins_hook.py"), "claude-code"]
    done = subprocess.run(
        command,
        input=json.dumps(RM).encode(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=client.env,
        timeout=30,
    )
    assert done.returncode == 0
    closed = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=client.env,
    )
    closed.stdout.close()
    closed.communicate(json.dumps(RM).encode(), timeout=30)
    assert closed.returncode == 0


def test_the_launcher_survives_a_missing_client_library(client_factory, dead_url, python) -> None:
    # The harness runs the launcher; with lib/ gone it must still exit 0 with an answer.
    client = client_factory(dead_url, bundle=True, fail_mode="closed")
    shutil.rmtree(client.home / "lib")
    result = client.spawn(RM, python=python, REINS_SERVER=dead_url)
    assert result.returncode == 0 and result.answer == {}
    assert "missing or broken" in result.stderr and "reins doctor" in result.stderr
