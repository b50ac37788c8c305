"""Audit read endpoints and offline uploads."""

from __future__ import annotations

import pytest

from policy_server import store

PAYLOAD = {"session_id": "s-9", "cwd": "/p", "hook_event_name": "PreToolUse", "tool_name": "Bash"}


def fire(client, token, bearer, command: str, agent: str = "interactive") -> None:
    body = dict(PAYLOAD, tool_input={"command": command})
    assert (
        client.post(
            "/v1/hooks/claude-code", json=body, headers=bearer(token) | {"X-Reins-Agent": agent}
        ).status_code
        == 200
    )


def test_list_filters_and_pages(client, dev_token, auditor_token, bearer) -> None:
    for i in range(5):
        fire(client, dev_token, bearer, f"echo {i}", agent="a" if i % 2 else "b")
    fire(client, dev_token, bearer, "rm -rf /", agent="a")
    page = client.get("/v1/audit?limit=2", headers=bearer(auditor_token)).get_json()
    assert len(page["events"]) == 2 and page["next_cursor"] == page["events"][-1]["seq"]
    rest = client.get(
        f"/v1/audit?cursor={page['next_cursor']}&limit=100", headers=bearer(auditor_token)
    ).get_json()
    assert len(rest["events"]) == 4 and rest["next_cursor"] is None
    denied = client.get("/v1/audit?decision=deny", headers=bearer(auditor_token)).get_json()[
        "events"
    ]
    assert [e["target"] for e in denied] == ["rm -rf /"]
    assert (
        len(client.get("/v1/audit?agent=a", headers=bearer(auditor_token)).get_json()["events"])
        == 3
    )
    assert client.get("/v1/audit", headers=bearer(dev_token)).status_code == 403
    assert client.get("/v1/audit?since=notadate", headers=bearer(auditor_token)).status_code == 400


def test_session_lists_its_events_in_order(client, dev_token, auditor_token, bearer) -> None:
    for command in ("ls", "cat README.md", "git push --force origin main"):
        fire(client, dev_token, bearer, command)
    events = client.get("/v1/sessions/s-9", headers=bearer(auditor_token)).get_json()["events"]
    assert [e["target"] for e in events] == ["ls", "cat README.md", "git push --force origin main"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "ocsf"])
def test_export_streams_every_format(client, dev_token, auditor_token, bearer, fmt) -> None:
    for i in range(30):
        fire(client, dev_token, bearer, f"echo {i}")
    response = client.get(f"/v1/audit/export?format={fmt}", headers=bearer(auditor_token))
    assert response.status_code == 200
    lines = response.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 30 + (1 if fmt == "csv" else 0)


def test_offline_batch_is_idempotent_and_marked_degraded(
    client, dev_token, auditor_token, bearer, db
) -> None:
    event = {
        "event_id": "off-1",
        "harness": "claude-code",
        "payload": dict(PAYLOAD, tool_input={"command": "rm -rf /"}),
        "decision": "deny",
        "reason": "cached bundle",
        "rules": ["fs.rm-root-home"],
    }
    first = client.post(
        "/v1/audit/batch", json={"events": [event]}, headers=bearer(dev_token)
    ).get_json()
    again = client.post(
        "/v1/audit/batch", json={"events": [event]}, headers=bearer(dev_token)
    ).get_json()
    assert first["seqs"] == again["seqs"]
    rows = client.get("/v1/audit", headers=bearer(auditor_token)).get_json()["events"]
    assert (
        len(rows) == 1 and rows[0]["degraded"] is True and rows[0]["rules"] == ["fs.rm-root-home"]
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "events"),
        ({"events": [{"harness": "codex"}]}, "missing field 'event_id'"),
        (
            {"events": [{"event_id": "x", "harness": "codex", "payload": {}, "decision": "maybe"}]},
            "decision must be",
        ),
    ],
)
def test_bad_batches_name_the_problem(client, dev_token, bearer, body, fragment) -> None:
    response = client.post("/v1/audit/batch", json=body, headers=bearer(dev_token))
    assert response.status_code == 400 and fragment in response.get_json()["error"]["message"]


def test_full_disk_answers_by_fail_mode_and_counts_the_failure(
    app, client, dev_token, admin_token, bearer, db
) -> None:
    """Scheduled runs (X-Reins-Run) fail closed; interactive use keeps the policy decision."""
    writer = app.extensions["reins"].committer
    conn = writer._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the store can no longer grow: "disk full"
    body = dict(PAYLOAD, tool_input={"command": "echo " + "x" * 20000})
    interactive = client.post(
        "/v1/hooks/claude-code", json=body, headers=bearer(dev_token)
    ).get_json()
    scheduled = client.post(
        "/v1/hooks/claude-code", json=body, headers=bearer(dev_token) | {"X-Reins-Run": "run-1"}
    ).get_json()
    assert interactive == {}
    assert scheduled["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "audit log" in scheduled["hookSpecificOutput"]["permissionDecisionReason"]
    metrics = client.get("/metrics", headers=bearer(admin_token)).get_data(as_text=True)
    assert "reins_audit_write_failures_total 2" in metrics
    check = store.connect(db)
    from policy_server.audit.verify import verify

    assert verify(check).ok
