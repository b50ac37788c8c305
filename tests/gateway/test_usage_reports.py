"""Usage reports and session timelines from real rows: a real gateway and a real `reins serve`
share one SQLite store; a fake upstream answers with known usage, one target always says 429."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

SONNET = (3.00, 15.00)  # USD per million input, output tokens (gateway/prices.yaml)
HAIKU = (1.00, 5.00)


def reply(model: str, inp: int, out: int) -> bytes:
    return json.dumps(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": inp, "output_tokens": out},
        }
    ).encode()


@pytest.fixture
def world(upstream_factory, gateway_factory, server_factory, token_factory, fakes):
    good = upstream_factory(
        lambda seen: fakes.Reply(body=reply("x", 1000, 100 if b"haiku" in seen.body else 200))
    )
    limited = upstream_factory(
        lambda seen: fakes.Reply(
            status=429,
            body=b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}',
        )
    )
    config = {
        "providers": {"main": fakes.provider(good), "busy": fakes.provider(limited)},
        "models": {
            "smart": [
                {"provider": "busy", "model": "claude-sonnet-4-5"},
                {"provider": "main", "model": "claude-haiku-4-5"},
            ],
            "claude-sonnet-4-5": [{"provider": "main"}],
            "mystery-9": [{"provider": "main"}],
        },
        "usage": {"flush_s": 0.05},
        "fallback": {"cooldown_s": 0.001},
    }
    gw = gateway_factory(config, {"FAKE_KEY": "k"})
    server = server_factory(db=gw.db)
    return gw, server, token_factory


def model_call(gw, model: str, agent: str, session: str = "s-1") -> None:
    body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    headers = gw.auth(**{"x-reins-agent": agent, "x-claude-code-session-id": session})
    response = requests.post(gw.url + "/v1/messages", json=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text


def hook(server, token: str, session: str) -> None:
    payload = {"session_id": session, "cwd": "/p", "hook_event_name": "PreToolUse",
               "tool_name": "Bash", "tool_input": {"command": "ls"}}  # fmt: skip
    response = requests.post(
        server.url + "/v1/hooks/claude-code",
        json=payload,
        headers={"Authorization": f"Bearer {token}", "X-Reins-Agent": "a"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def cost(prices: tuple[float, float], inp: int, out: int) -> float:
    return (inp * prices[0] + out * prices[1]) / 1e6


def test_summary_report_and_session_timeline_from_real_rows(world):
    gw, server, make_token = world
    auditor = make_token(gw.db, "ann", "auditor")
    developer = make_token(gw.db, "dev", "developer")
    model_call(gw, "claude-sonnet-4-5", "a")
    time.sleep(0.01)
    hook(server, developer, "s-1")
    time.sleep(0.01)
    model_call(gw, "smart", "a")  # 429 from busy, answered by main with haiku
    model_call(gw, "claude-sonnet-4-5", "b", session="s-2")
    model_call(gw, "mystery-9", "b", session="s-2")
    gw.usage_rows(4)
    time.sleep(0.2)
    sonnet, haiku = cost(SONNET, 1000, 200), cost(HAIKU, 1000, 100)

    auth = {"Authorization": f"Bearer {auditor}"}
    by_agent = requests.get(
        server.url + "/v1/usage/summary?by=agent&since=today", headers=auth, timeout=10
    ).json()
    groups = {g["key"]: g for g in by_agent["groups"]}
    assert groups["a"]["requests"] == 2 and groups["a"]["fallbacks"] == 1
    assert groups["a"]["cost_usd"] == pytest.approx(sonnet + haiku)
    assert groups["a"]["total_tokens"] == 2000 + 200 + 100
    assert groups["b"]["cost_usd"] == pytest.approx(sonnet)  # the unpriced row adds nothing
    assert groups["b"]["unpriced_rows"] == 1
    assert by_agent["total"]["requests"] == 4
    assert by_agent["total"]["cost_usd"] == pytest.approx(2 * sonnet + haiku)
    future = requests.get(
        server.url + "/v1/usage/summary?by=model&since=2999-01-01", headers=auth, timeout=10
    ).json()
    assert future["groups"] == []
    assert (
        requests.get(
            server.url + "/v1/usage/summary?by=color", headers=auth, timeout=10
        ).status_code
        == 400
    )
    assert (
        requests.get(
            server.url + "/v1/usage/summary",
            headers={"Authorization": f"Bearer {developer}"},
            timeout=10,
        ).status_code
        == 403
    )

    cli = subprocess.run(
        [sys.executable, "-m", "reins.cli", "usage", "report", "--by", "model", "--since", "1d",
         "--json", "--db", str(gw.db)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    models = {g["key"]: g for g in json.loads(cli.stdout)["groups"]}
    assert models["claude-sonnet-4-5"]["requests"] == 2
    assert models["claude-sonnet-4-5"]["cost_usd"] == pytest.approx(2 * sonnet)
    assert models["claude-haiku-4-5"]["cost_usd"] == pytest.approx(haiku)
    assert models["mystery-9"]["cost_usd"] is None
    table = subprocess.run(
        [sys.executable, "-m", "reins.cli", "usage", "report", "--by", "provider",
         "--db", str(gw.db)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert table.returncode == 0 and "TOTAL" in table.stdout and "main" in table.stdout

    session = requests.get(server.url + "/v1/sessions/s-1", headers=auth, timeout=10).json()
    kinds = [item["kind"] for item in session["timeline"]]
    assert kinds == ["model_call", "decision", "model_call"]
    first, fallback = session["model_calls"]
    assert (first["provider"], first["model"]) == ("main", "claude-sonnet-4-5")
    assert first["cost_usd"] == pytest.approx(sonnet) and first["fallbacks"] == []
    assert first["tokens"] == {"input": 1000, "cache_read": 0, "cache_write": 0, "output": 200}
    assert (fallback["provider"], fallback["model"]) == ("main", "claude-haiku-4-5")
    assert [(f["provider"], f["error"]) for f in fallback["fallbacks"]] == [("busy", "429")]
    assert session["models"]["calls_by_provider"] == {"main": 2}
    assert session["models"]["cost_usd"] == pytest.approx(sonnet + haiku)
    assert len(session["events"]) == 1


def test_budgets_api_needs_admin_to_change(world):
    gw, server, make_token = world
    admin, auditor = make_token(gw.db, "root", "admin"), make_token(gw.db, "ann", "auditor")
    spec = {"scope": "agent", "subject": "a", "period": "daily", "unit": "usd", "hard": "0.5"}
    url = server.url + "/v1/budgets/agent-a"
    denied = requests.put(
        url, json=spec, headers={"Authorization": f"Bearer {auditor}"}, timeout=10
    )
    assert denied.status_code == 403
    bad = requests.put(
        url, json={**spec, "period": "weekly"}, headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )  # fmt: skip
    assert bad.status_code == 400 and "daily, monthly, total" in bad.text
    ok = requests.put(url, json=spec, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert ok.status_code == 200 and ok.json()["hard"] == "0.5"
    model_call(gw, "claude-sonnet-4-5", "a")
    gw.usage_rows(1)
    time.sleep(0.2)
    listed = requests.get(
        server.url + "/v1/budgets", headers={"Authorization": f"Bearer {auditor}"}, timeout=10
    ).json()["budgets"]
    assert [b["name"] for b in listed] == ["agent-a"]
    assert float(listed[0]["spent"]["a"]) == pytest.approx(cost(SONNET, 1000, 200))
    gone = requests.delete(url, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert gone.status_code == 200
    assert (
        requests.delete(url, headers={"Authorization": f"Bearer {admin}"}, timeout=10).status_code
        == 404
    )
