"""Budgets enforced by a real gateway: hard limits refuse, soft limits warn and audit, races hold.

Fake upstream answers with fixed usage, so every call costs the same known number of tokens;
the store is a real SQLite file shared with ``reins budget set``.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time

import requests

CALL_TOKENS = 150  # 100 input + 50 output per call
REPLY = json.dumps(
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 100, "output_tokens": 50},
    }
).encode()
BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 10,
    "messages": [{"role": "user", "content": "x"}],
}


def start(upstream_factory, gateway_factory, fakes, budgets: list[dict] | None = None):
    upstream = upstream_factory(lambda seen: fakes.Reply(body=REPLY))
    config = {
        "providers": {
            "anthropic": fakes.provider(upstream),
            "openai": fakes.provider(upstream, kind="openai"),
        },
        "usage": {"flush_s": 0.05},
    }
    if budgets:
        config["budgets"] = budgets
    return gateway_factory(config, {"FAKE_KEY": "k"})


def call(gw, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).post(
        gw.url + "/v1/messages", json=BODY, headers=gw.auth(), timeout=10
    )


def spent_tokens(gw) -> int:
    conn = sqlite3.connect(gw.db)
    try:
        return conn.execute(
            "SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM usage WHERE status = 200"
        ).fetchone()[0]
    finally:
        conn.close()


def test_hard_token_budget_refuses_in_each_inbound_shape(upstream_factory, gateway_factory, fakes):
    budget = {"name": "dana-day", "scope": "user", "subject": "dana", "period": "daily",
              "unit": "tokens", "hard": 2 * CALL_TOKENS}  # fmt: skip
    gw = start(upstream_factory, gateway_factory, fakes, [budget])
    for n in (1, 2):
        assert call(gw).status_code == 200
        gw.usage_rows(n)
        time.sleep(0.2)  # the row is settled by the recorder
    refused = call(gw)
    assert refused.status_code == 402, refused.text
    error = refused.json()
    assert error["type"] == "error" and error["error"]["type"] == "billing_error"
    message = error["error"]["message"]
    assert "dana-day" in message and "is exhausted" in message and "300 tokens" in message
    assert "it resets at " in message and message.endswith("T00:00:00Z.")
    assert refused.headers["x-reins-budget"] == "dana-day"
    assert 0 < int(refused.headers["retry-after"]) <= 86_400 + 1
    openai_calls = [
        ("/v1/responses", {"model": "gpt-5", "input": "x"}),
        (
            "/v1/chat/completions",
            {"model": "gpt-5", "messages": [{"role": "user", "content": "x"}]},
        ),
    ]
    for path, body in openai_calls:
        openai = requests.post(
            gw.url + path, json=body, headers={"authorization": f"Bearer {gw.token}"}, timeout=10
        )
        assert openai.status_code == 400, path  # not 429: Codex shows its own "Quota exceeded"
        error = openai.json()["error"]
        assert error["type"] == "invalid_request_error" and error["code"] == "budget_exceeded"
        assert "dana-day" in error["message"] and "it resets at " in error["message"]
        assert openai.headers["x-reins-budget"] == "dana-day" and "retry-after" in openai.headers
    rows = gw.usage_rows(5)
    assert [r["outcome"] for r in rows][-3:] == ["budget_exceeded"] * 3
    assert [r["status"] for r in rows][-3:] == [402, 400, 400]  # what each client was sent
    assert len(fakes_seen := [r for r in rows if r["status"] == 200]) == 2, fakes_seen


def test_soft_limit_warns_with_a_header_and_one_audit_row(upstream_factory, gateway_factory, fakes):
    budget = {"name": "dana-soft", "scope": "agent", "subject": "*", "period": "monthly",
              "unit": "usd", "soft": "0.0001"}  # fmt: skip
    gw = start(upstream_factory, gateway_factory, fakes, [budget])
    first = call(gw)
    assert first.status_code == 200 and "X-Reins-Budget-Warning" not in first.headers
    gw.usage_rows(1)
    time.sleep(0.2)
    warned = [call(gw) for _ in range(3)]
    assert all(r.status_code == 200 for r in warned)
    for response in warned:
        assert "dana-soft" in response.headers["X-Reins-Budget-Warning"]
        assert "passed its soft limit" in response.headers["X-Reins-Budget-Warning"]
    gw.usage_rows(4)
    time.sleep(0.3)
    conn = sqlite3.connect(gw.db)
    try:
        audit = conn.execute(
            "SELECT harness, hook_event, agent, user, target, decision, record FROM audit_events"
        ).fetchall()
    finally:
        conn.close()
    assert len(audit) == 1  # one row per budget, subject and window, not per request
    harness, event, agent, user, target, decision, record = audit[0]
    assert (harness, event, agent, user, target, decision) == (
        "gateway", "BudgetSoftLimit", "interactive", "dana", "dana-soft", "allow",
    )  # fmt: skip
    assert json.loads(record)["input_redacted"]["subject"] == "interactive"
    verify = subprocess.run(
        [sys.executable, "-m", "reins.cli", "audit", "verify", "--db", str(gw.db)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_64_clients_racing_one_hard_budget_overshoot_less_than_one_call(
    upstream_factory, gateway_factory, fakes
):
    """The documented bound once the model's cost is known: spent < hard + one call's cost."""
    hard = 20 * CALL_TOKENS + 70  # not a multiple: the crossing call is a partial one
    budget = {"name": "race", "scope": "user", "subject": "dana", "period": "total",
              "unit": "tokens", "hard": hard}  # fmt: skip
    gw = start(upstream_factory, gateway_factory, fakes, [budget])
    assert call(gw).status_code == 200  # this process learns what a call of this model costs
    gw.usage_rows(1)
    time.sleep(0.2)
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(64)

    def client() -> None:
        with requests.Session() as session:
            barrier.wait()
            for _ in range(4):
                status = call(gw, session).status_code
                with lock:
                    statuses.append(status)
                if status != 200:
                    return

    threads = [threading.Thread(target=client) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(statuses) == {200, 402}
    gw.usage_rows(1 + len(statuses))
    time.sleep(0.3)
    spent = spent_tokens(gw)
    print(
        f"64 racing clients: spent {spent} tokens of a hard {hard}; {statuses.count(402)} refused"
    )
    assert spent < hard + CALL_TOKENS, f"overshoot {spent - hard} tokens"
    assert spent >= hard - 2 * CALL_TOKENS  # and the budget really was used, not refused early
    # Without reservations all 64 first requests would have passed together: 65 x 150 tokens.


def test_budget_set_from_the_cli_is_enforced_within_seconds(
    upstream_factory, gateway_factory, fakes
):
    gw = start(upstream_factory, gateway_factory, fakes)
    assert call(gw).status_code == 200
    gw.usage_rows(1)
    command = [
        sys.executable, "-m", "reins.cli", "budget", "set", "platform-month", "--scope", "team",
        "--subject", "platform", "--member", "dana", "--member", "eve", "--period", "monthly",
        "--unit", "tokens", "--hard", str(CALL_TOKENS), "--db", str(gw.db),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 5
    while (status := call(gw).status_code) == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 402
    show = subprocess.run(
        [sys.executable, "-m", "reins.cli", "budget", "show", "--json", "--db", str(gw.db)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    [shown] = json.loads(show.stdout)
    assert shown["name"] == "platform-month" and shown["members"] == ["dana", "eve"]
    assert int(shown["spent"]["platform"]) >= CALL_TOKENS


def test_two_gateway_processes_share_spend_through_the_store(
    upstream_factory, gateway_factory, fakes
):
    """Spend through one gateway process is enforced by another within a refresh (~1 s)."""
    budget = {"name": "shared", "scope": "user", "subject": "dana", "period": "monthly",
              "unit": "tokens", "hard": 3 * CALL_TOKENS}  # fmt: skip
    first = start(upstream_factory, gateway_factory, fakes, [budget])
    second = start(upstream_factory, gateway_factory, fakes, [budget])
    assert first.db == second.db and first.port != second.port
    for n in (1, 2, 3):
        assert call(first).status_code == 200
        first.usage_rows(n)
        time.sleep(0.15)
    assert call(first).status_code == 402
    time.sleep(2.2)  # a refresh of the second process (every second) has read the store since
    refused = call(second)
    assert refused.status_code == 402, "the second process did not see the first one's spend"
    assert "shared" in refused.json()["error"]["message"]
    assert spent_tokens(first) == 3 * CALL_TOKENS
