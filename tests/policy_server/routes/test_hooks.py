"""``POST /v1/hooks/<harness>`` through the Flask app on a real SQLite store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy_server import store
from policy_server.audit.verify import verify

PUSH = {
    "session_id": "s-1",
    "cwd": "/home/dev/p",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "git push --force origin main"},
}
LS = dict(PUSH, tool_input={"command": "ls -la"})


def audit_rows(db) -> list[dict[str, Any]]:
    conn = store.connect(db)
    rows = [json.loads(r[0]) for r in conn.execute("SELECT record FROM audit_events ORDER BY seq")]
    conn.close()
    return rows


def test_deny_is_answered_in_claude_code_shape_and_audited(client, dev_token, db, bearer) -> None:
    response = client.post(
        "/v1/hooks/claude-code", json=PUSH, headers=bearer(dev_token) | {"X-Reins-Agent": "agent-b"}
    )
    assert response.status_code == 200
    out = response.get_json()["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse" and out["permissionDecision"] == "deny"
    assert out["permissionDecisionReason"].startswith("Reins git.force-push-protected")
    (row,) = audit_rows(db)
    assert (row["decision"], row["agent"], row["user"], row["session_id"]) == (
        "deny",
        "agent-b",
        "dana",
        "s-1",
    )
    assert "git.force-push-protected" in row["rules"]


def test_every_allow_is_audited_too(client, dev_token, db, bearer) -> None:
    for _ in range(3):
        assert (
            client.post("/v1/hooks/claude-code", json=LS, headers=bearer(dev_token)).get_json()
            == {}
        )
    rows = audit_rows(db)
    assert [r["decision"] for r in rows] == ["allow"] * 3
    assert len({r["event_id"] for r in rows}) == 3


def test_attribution_headers_reach_the_audit_row_in_any_case(client, dev_token, db) -> None:
    headers = {
        "authorization": f"bearer {dev_token}",
        "x-reins-agent": "agent-c",
        "X-REINS-HOST": "laptop-7",
        "X-Reins-Harness-Version": "2.1.0",
    }
    assert client.post("/v1/hooks/claude-code", json=LS, headers=headers).status_code == 200
    (row,) = audit_rows(db)
    assert (row["agent"], row["host"], row["harness_version"], row["user"]) == (
        "agent-c",
        "laptop-7",
        "2.1.0",
        "dana",
    )
    assert row["run_id"] == ""
    for value in (row["event_id"], row["decision_id"]):
        assert len(value) == 32 and int(value, 16) >= 0
    assert row["event_id"] != row["decision_id"]


def test_codex_ask_becomes_deny_with_a_reason(client, dev_token, db, bearer) -> None:
    payload = dict(PUSH, turn_id="t", model="gpt", tool_input={"command": "git push origin main"})
    out = client.post("/v1/hooks/codex", json=payload, headers=bearer(dev_token)).get_json()
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert out["hookSpecificOutput"]["permissionDecisionReason"]
    (row,) = audit_rows(db)
    assert (row["decision"], row["enforced_decision"]) == ("ask", "deny")


def test_secrets_in_tool_input_are_redacted_in_the_audit_log(client, dev_token, db, bearer) -> None:
    key = "AKIA" + "QWERTYUIOPASDFGH"
    payload = dict(PUSH, tool_input={"command": f"AWS_ACCESS_KEY_ID={key} aws s3 ls"})
    client.post("/v1/hooks/claude-code", json=payload, headers=bearer(dev_token))
    assert key not in db.read_bytes().decode("latin-1")
    assert key not in json.dumps(audit_rows(db))


@pytest.mark.parametrize(
    ("body", "headers", "status", "fragment"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
        (b"[1]", {"Content-Type": "application/json"}, 400, "JSON object"),
        (b'{"tool_name": "Bash"}', {"Content-Type": "application/json"}, 400, "hook_event_name"),
        (b"", {"Content-Type": "application/json"}, 400, "empty body"),
        (
            b"{" + b'"a":"' + b"x" * (1024 * 1024) + b'"}',
            {"Content-Type": "application/json"},
            413,
            "larger than the limit",
        ),
    ],
)
def test_bad_requests_get_json_errors_and_an_audit_row(
    client, dev_token, body, headers, status, fragment, bearer, db
) -> None:
    response = client.post("/v1/hooks/claude-code", data=body, headers=bearer(dev_token) | headers)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["status"] == status and fragment in error["message"]
    (row,) = audit_rows(db)  # every hook event gets one row, the undecidable ones too
    assert (row["decision"], row["enforced_decision"], row["user"]) == ("error", "error", "dana")
    assert row["reason"].startswith(f"{status}: ") and fragment in row["reason"]


def test_a_rejected_event_keeps_what_was_sent_redacted(client, dev_token, bearer, db) -> None:
    key = "AKIA" + "QWERTYUIOPASDFGH"
    body = {"session_id": "s-9", "tool_name": "Bash", "tool_input": {"k": key}}
    response = client.post("/v1/hooks/claude-code", json=body, headers=bearer(dev_token))
    assert response.status_code == 400
    (row,) = audit_rows(db)
    assert (row["hook_event"], row["session_id"], row["tool"]) == ("invalid", "s-9", "Bash")
    assert row["input_redacted"]["tool_input"]["k"] == "[REDACTED:aws_access_key_id]"
    garbage = b"{not json " + key.encode()
    client.post("/v1/hooks/claude-code", data=garbage, headers=bearer(dev_token))
    assert audit_rows(db)[1]["input_redacted"] == "{not json [REDACTED:aws_access_key_id]"
    assert key not in db.read_bytes().decode("latin-1")
    assert verify(store.connect(db)).ok


def test_unauthenticated_garbage_writes_nothing(client, db) -> None:
    # An unauthenticated caller cannot be attributed; recording it would let anyone fill the log.
    assert client.post("/v1/hooks/claude-code", data=b"{nope").status_code == 401
    assert audit_rows(db) == []


def test_unknown_harness_is_404(client, dev_token, bearer) -> None:
    response = client.post("/v1/hooks/cursor", json=PUSH, headers=bearer(dev_token))
    assert (
        response.status_code == 404
        and "claude-code, codex, gemini" in response.get_json()["error"]["message"]
    )


def test_missing_and_invalid_tokens_are_401_and_wrong_role_is_403(
    client, auditor_token, bearer
) -> None:
    assert client.post("/v1/hooks/claude-code", json=PUSH).status_code == 401
    assert (
        client.post("/v1/hooks/claude-code", json=PUSH, headers=bearer("reins_nope")).status_code
        == 401
    )
    response = client.post("/v1/hooks/claude-code", json=PUSH, headers=bearer(auditor_token))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_x_api_key_is_accepted(client, dev_token) -> None:
    response = client.post("/v1/hooks/claude-code", json=LS, headers={"x-api-key": dev_token})
    assert response.status_code == 200


def test_chain_verifies_after_a_burst(client, dev_token, db, bearer) -> None:
    for i in range(40):
        client.post(
            "/v1/hooks/gemini",
            json={
                "hook_event_name": "BeforeTool",
                "timestamp": "t",
                "cwd": "/p",
                "tool_name": "run_shell_command",
                "tool_input": {"command": f"echo {i}"},
            },
            headers=bearer(dev_token),
        )
    conn = store.connect(db)
    result = verify(conn)
    assert result.ok and result.checked == 40


def test_only_post_is_allowed(client, dev_token, bearer) -> None:
    response = client.get("/v1/hooks/claude-code", headers=bearer(dev_token))
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_401_says_how_to_authenticate(client) -> None:
    response = client.post("/v1/hooks/claude-code", json=PUSH)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="reins"'
    assert "reins token create" in response.get_json()["error"]["message"]


def test_a_bad_content_length_is_a_400(client, dev_token, bearer) -> None:
    response = client.post(
        "/v1/hooks/claude-code",
        data=b"{}",
        headers=bearer(dev_token),
        environ_overrides={"CONTENT_LENGTH": "twelve"},
    )
    assert (
        response.status_code == 400 and "Content-Length" in response.get_json()["error"]["message"]
    )


def test_other_paths_still_reach_the_flask_routes(client, dev_token, bearer) -> None:
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert client.get("/v1/nope", headers=bearer(dev_token)).status_code == 404


def test_chunked_bodies_are_read_and_limited_by_a_real_server(
    server_factory, token_factory, tmp_path
) -> None:
    import socket

    server = server_factory(tmp_path / "chunked.db")
    token = token_factory(server.db, "dana", "developer")

    def send_chunked(body: bytes) -> bytes:
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + 4096]), body[i : i + 4096])
            for i in range(0, len(body), 4096)
        )
        head = (
            f"POST /v1/hooks/claude-code HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(head + chunks + b"0\r\n\r\n")
            answer = b""
            while data := sock.recv(65536):
                answer += data
        return answer

    ok = send_chunked(json.dumps(PUSH).encode())
    assert ok.startswith(b"HTTP/1.1 200") and b'"permissionDecision":"deny"' in ok
    big = send_chunked(b'{"a":"' + b"x" * (1024 * 1024) + b'"}')
    assert big.startswith(b"HTTP/1.1 413") and b"larger than the limit" in big


def test_an_agents_memory_is_given_to_the_model_at_session_start(client, dev_token, bearer) -> None:
    start = {"session_id": "s-5", "cwd": "/home/dev/p", "hook_event_name": "SessionStart"}
    headers = bearer(dev_token) | {"X-Reins-Agent": "nightly-audit"}
    out = client.post("/v1/hooks/claude-code", json=start, headers=headers).get_json()
    context = out["hookSpecificOutput"]["additionalContext"]
    assert "var/audit.json" in context and "Never edit lock files" in context
    plain = client.post("/v1/hooks/claude-code", json=start, headers=bearer(dev_token)).get_json()
    assert "additionalContext" not in plain.get("hookSpecificOutput", {})
