"""How the real Claude Code and Codex take a budget refusal from ``reins gateway``.

A user whose hard budget is spent is refused before any provider is called: Anthropic clients
get HTTP 402 ``billing_error``, OpenAI clients HTTP 400 ``invalid_request_error`` with code
``budget_exceeded``, both naming the budget and its reset time. A refusal must end the run
promptly, not loop on retries, never reach the provider, and show the user which budget refused
them. Claude Code 2.1.197 shows our message; Codex 0.171.0 shows a 400's body as is. (On 429
``insufficient_quota`` it showed its own "Quota exceeded. Check your plan and billing details."
instead, and it retries other 429s, 5xx and 4xx but 400 five times.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import LiveGateway

from .gateway_fixtures import (
    Upstreams,
    claude_through_gateway,
    codex_through_gateway,
    start_gateway,
)

pytestmark = pytest.mark.e2e

BUDGET = "e2e-spent-cap"
BODY = b'{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}'


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    with Upstreams() as fakes:
        yield fakes


@pytest.fixture(scope="module")
def gateway(
    shared_reins: Any, upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    config = upstreams.config("unused-alias")
    config["budgets"] = [
        {
            "name": BUDGET,
            "scope": "user",
            "subject": "ana",
            "period": "total",
            "unit": "tokens",
            "hard": 10,
        }
    ]
    live = start_gateway(tmp_path_factory.mktemp("gateway"), shared_reins.db, config)
    try:
        spend_the_budget(live, shared_reins.developer, upstreams)
        yield live
    finally:
        live.stop()


def spend_the_budget(gateway: LiveGateway, token: str, upstreams: Upstreams) -> None:
    """One allowed call (15 tokens against a 10-token cap); once its usage row is settled
    (flush 0.1 s, budget refresh 1 s), the next call is refused."""
    upstreams.anthropic.reset(None)
    headers = {"x-api-key": token, "anthropic-version": "2023-06-01"}
    first = requests.post(gateway.url + "/v1/messages", data=BODY, headers=headers, timeout=10)
    assert first.status_code == 200, first.text
    time.sleep(1.5)
    refused = requests.post(gateway.url + "/v1/messages", data=BODY, headers=headers, timeout=10)
    assert refused.status_code == 402, refused.text + gateway.output()
    assert BUDGET in refused.json()["error"]["message"]
    assert len(upstreams.anthropic.model_requests()) == 1


def test_claude_code_stops_at_once_with_the_budget_message(
    shared_reins, gateway, upstreams, machine
):
    machine.install("claude-code", shared_reins, "--gateway", gateway.url)
    before = len(upstreams.anthropic.model_requests())
    run = claude_through_gateway(machine)

    assert len(upstreams.anthropic.model_requests()) == before, (
        "a refused call reached the provider"
    )
    assert run.returncode != 0 and run.seconds < 30, run.describe()
    assert BUDGET in run.stdout + run.stderr, run.describe()  # our message, shown as is


def test_codex_stops_at_once_with_the_budget_message(shared_reins, gateway, upstreams, machine):
    machine.install("codex", shared_reins, "--gateway", gateway.url)
    before = len(upstreams.responses.model_requests())
    run = codex_through_gateway(machine, shared_reins.developer)

    assert len(upstreams.responses.model_requests()) == before, (
        "a refused call reached the provider"
    )
    assert run.returncode != 0 and run.seconds < 30, run.describe()
    shown = run.stdout + run.stderr
    assert "Reconnecting" not in shown, run.describe()  # Codex's retries say so
    assert BUDGET in shown and "it does not reset" in shown, run.describe()  # our message
