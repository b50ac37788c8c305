"""The real Claude Code and Codex CLIs through a real ``reins gateway``, set up only by ``reins install``.

One ``reins serve`` and one ``reins gateway`` share a store. ``reins install <harness> --gateway``
points the CLI's model traffic at the gateway with the developer's Reins token; the gateway holds
the provider keys and forwards to the fake upstreams (Anthropic Messages, OpenAI Responses). The
scripted model asks for a Bash command the default policies allow, then answers with its output.
Each test proves: the tool ran, the upstream saw the gateway's key and never the Reins token, and
the gateway's usage rows carry the session id of the run's audit rows, with agent, status, tokens
and time to first byte. The last test makes the first Anthropic target answer 429 and checks that
the run still completes and its usage row shows the second attempt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveGateway

from .conftest import by_event, codex_session
from .fake_upstream import FINAL_PREFIX, FakeUpstream
from .gateway_fixtures import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    Upstreams,
    claude_through_gateway,
    codex_through_gateway,
    start_gateway,
)

pytestmark = pytest.mark.e2e

FALLBACK_ALIAS = "claude-e2e-fallback"
MARKER = "reins-gateway-e2e"


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    with Upstreams() as fakes:
        yield fakes


@pytest.fixture(scope="module")
def gateway(
    shared_reins: Any, upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    config = upstreams.config(FALLBACK_ALIAS)
    live = start_gateway(tmp_path_factory.mktemp("gateway"), shared_reins.db, config)
    try:
        yield live
    finally:
        live.stop()


def command_for(proof: Path) -> str:
    """Allowed by the default pack; its output ends up in the model's final answer."""
    return f"touch {proof} && echo {MARKER}"


def assert_keys_stayed_put(upstream: FakeUpstream, header: str, key: str, token: str) -> None:
    """Every model request carried the gateway's provider key in ``header`` and no trace of the
    Reins token anywhere."""
    sent = upstream.model_requests()
    assert sent, "no model request reached the upstream"
    for request in sent:
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert headers.get(header) == key, headers
        assert token not in json.dumps(request.headers), "the Reins token reached the provider"
        assert token not in json.dumps(request.body), "the Reins token reached the provider"


def assert_usage_filled(rows: list[dict[str, Any]], inbound: str, provider: str) -> None:
    for row in rows:
        assert (row["inbound"], row["provider"], row["status"]) == (inbound, provider, 200), row
        assert row["outcome"] == "ok" and row["agent"] == "interactive", row
        assert row["user"] == "ana", row
        assert row["input_tokens"] == 10 and row["output_tokens"] == 5, row
        assert row["ttfb_us"] is not None and 0 < row["ttfb_us"] <= row["latency_us"], row


def test_claude_code_completes_a_tool_call_through_the_gateway(
    shared_reins, gateway, upstreams, machine
):
    machine.install("claude-code", shared_reins, "--gateway", gateway.url)
    proof = machine.proof()
    upstreams.anthropic.reset(command_for(proof))
    run = claude_through_gateway(machine)
    result = run.json()

    assert run.returncode == 0, run.describe() + gateway.output()
    assert proof.exists(), f"the allowed command did not run\n{run.describe()}"
    assert result["result"] == FINAL_PREFIX + MARKER, run.describe()
    assert_keys_stayed_put(upstreams.anthropic, "x-api-key", ANTHROPIC_KEY, shared_reins.developer)

    session = result["session_id"]
    turns = len(upstreams.anthropic.model_requests())
    rows = gateway.usage_rows(turns, session=session)
    assert len(rows) == turns >= 2, (rows, upstreams.anthropic.model_requests())
    assert_usage_filled(rows, "anthropic", "anthropic")
    assert all(row["attempts"] == 1 for row in rows), rows
    audit = shared_reins.audit(session=session)
    [pre] = by_event(audit, "PreToolUse")
    assert pre["decision"] == "allow" and str(proof) in pre["target"]
    assert {row["session_id"] for row in audit} == {row["session_id"] for row in rows} == {session}
    assert {row["agent"] for row in audit} == {row["agent"] for row in rows}


def test_codex_completes_a_tool_call_through_the_gateway(shared_reins, gateway, upstreams, machine):
    machine.install("codex", shared_reins, "--gateway", gateway.url)
    proof = machine.proof()
    upstreams.responses.reset(command_for(proof))
    run = codex_through_gateway(machine, shared_reins.developer)

    assert run.returncode == 0, run.describe() + gateway.output()
    assert proof.exists(), f"the allowed command did not run\n{run.describe()}"
    assert run.stdout.startswith(FINAL_PREFIX) and MARKER in run.stdout, run.describe()
    assert_keys_stayed_put(
        upstreams.responses, "authorization", f"Bearer {OPENAI_KEY}", shared_reins.developer
    )

    session = codex_session(upstreams.responses)
    turns = len(upstreams.responses.model_requests())
    rows = gateway.usage_rows(turns, session=session)
    assert len(rows) == turns >= 2, rows
    assert_usage_filled(rows, "responses", "openai")
    audit = shared_reins.audit(session=session)
    [pre] = by_event(audit, "PreToolUse")
    assert pre["decision"] == "allow" and pre["harness"] == "codex"
    assert {row["session_id"] for row in audit} == {row["session_id"] for row in rows} == {session}
    assert {row["agent"] for row in audit} == {row["agent"] for row in rows}


def test_claude_code_falls_back_when_the_first_target_answers_429(
    shared_reins, gateway, upstreams, machine
):
    machine.install("claude-code", shared_reins, "--gateway", gateway.url)
    proof = machine.proof()
    upstreams.anthropic.reset(command_for(proof))
    upstreams.limited.reset(None)
    run = claude_through_gateway(machine, "do it", "--model", FALLBACK_ALIAS)
    result = run.json()

    assert run.returncode == 0, run.describe() + gateway.output()
    assert proof.exists(), f"the allowed command did not run\n{run.describe()}"
    assert result["result"] == FINAL_PREFIX + MARKER, run.describe()
    [limited] = upstreams.limited.model_requests()  # then the target rests (cooldown)
    assert {k.lower(): v for k, v in limited.headers.items()}.get("x-api-key") == ANTHROPIC_KEY

    rows = gateway.usage_rows(2, session=result["session_id"])
    routed = [row for row in rows if row["route"] == FALLBACK_ALIAS]
    assert len(routed) >= 2 and all(row["status"] == 200 for row in rows), rows
    first = routed[0]
    assert (first["provider"], first["model"], first["attempts"]) == (
        "anthropic",
        FALLBACK_ALIAS,
        2,
    ), first
    log = json.loads(first["attempt_log"])
    assert [a["provider"] for a in log] == ["anthropic-limited", "anthropic"], log
    assert [str(a.get("status", a.get("error"))) for a in log] == ["429", "200"], log
    assert all(row["attempts"] == 1 for row in routed[1:]), "the 429 target rests (cooldown)"
