"""Cross-provider fallback with the real CLIs: the harness never learns its provider changed.

Claude Code (Anthropic Messages) is set up by ``reins install claude-code --gateway``; its
Anthropic target answers 429, so a real ``reins gateway`` sends the turn to a fake Gemini, which
asks for a Bash call. The hooks decide on the call, the command runs, Gemini gets the result and
the task completes. Likewise Codex (Responses) whose OpenAI target answers 429 is served by an
Anthropic-format target. What each CLI received is read back from the gateway's bodies log and
checked against its format's event grammar; the usage rows name the provider that served.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.translate import SSEParser, parse_data, validate_stream
from tests.conftest import LiveGateway

from .clis import Run
from .conftest import ALLOWED_TEMPLATE, Machine, Reins, by_event
from .fake_providers import FakeAnthropicShell, FakeGemini
from .fake_upstream import FINAL_PREFIX, FakeAnthropic, FakeResponses, FakeUpstream
from .gateway_fixtures import (
    OPENAI_KEY,
    claude_through_gateway,
    codex_through_gateway,
    start_gateway,
)

pytestmark = pytest.mark.e2e
KEY_ENV = {"anthropic": "E2E_ANTHROPIC_KEY", "openai": "E2E_OPENAI_KEY", "gemini": "E2E_OPENAI_KEY"}


def fallback_config(tmp: Path, primary: dict, backup: dict, backup_model: str) -> dict[str, Any]:
    """Every model the harness asks for goes to ``primary`` first, then ``backup``; bodies logged."""
    return {
        "providers": {
            "primary": {**primary, "api_key_env": KEY_ENV[primary["kind"]]},
            "backup": {**backup, "api_key_env": KEY_ENV[backup["kind"]]},
        },
        "models": {
            "fallback": [
                {"provider": "primary", "model": "primary-model"},
                {"provider": "backup", "model": backup_model},
            ]
        },
        "rules": [{"when": {"model": "*"}, "use": "fallback"}],
        "usage": {"flush_s": 0.1},
        "traffic_log": {"path": str(tmp / "bodies.jsonl"), "bodies": True},
    }


def streams_sent(bodies: Path) -> list[list[Any]]:
    """The SSE events of every streamed answer the harness received (from the bodies log)."""
    streams, seen = [], set()
    for line in bodies.read_text().splitlines():
        entry = json.loads(line)
        if entry["request_id"] in seen:  # a flush racing the stop may log a body twice
            continue
        seen.add(entry["request_id"])
        body = entry["response_body"]
        if body.startswith(("event:", "data:")):
            parser = SSEParser()
            frames = parser.feed(body.encode()) + parser.close()
            streams.append([parse_data(data) for _, data in frames])
    return streams


def run_with_fallback(
    reins: Reins,
    machine: Machine,
    tmp: Path,
    harness: str,
    primary: tuple[str, type[FakeUpstream]],
    backup: tuple[str, type[FakeUpstream]],
    backup_model: str,
) -> tuple[Run, LiveGateway, FakeUpstream]:
    """Run ``harness`` (installed with ``--gateway``) on the allowed task while its ``primary``
    target answers 429 and the ``backup`` one serves; (the run, the stopped gateway, the backup)."""
    proof = machine.proof()
    started = time.monotonic()
    (primary_kind, primary_fake), (backup_kind, backup_fake) = primary, backup
    with (
        primary_fake(error_status=429) as limited,
        backup_fake(ALLOWED_TEMPLATE.format(proof=proof)) as served,
    ):
        base_url = limited.url + "/v1" if primary_kind == "openai" else limited.url
        config = fallback_config(
            tmp,
            {"kind": primary_kind, "base_url": base_url},
            {"kind": backup_kind, "base_url": served.url},
            backup_model,
        )
        gateway = start_gateway(tmp, reins.db, config)
        try:
            machine.install(harness, reins, "--gateway", gateway.url)
            if harness == "codex":
                run = codex_through_gateway(machine, reins.developer)
            else:
                run = claude_through_gateway(machine)
        finally:
            gateway.stop()
    print(
        f"{harness} via {backup_kind}: {run.seconds:.1f}s run, {time.monotonic() - started:.1f}s total"
    )

    assert run.returncode == 0, run.describe()
    assert proof.exists(), f"the allowed command did not run\n{run.describe()}"
    assert limited.model_requests(), f"the {primary_kind} target was never tried"
    return run, gateway, served


@pytest.fixture
def fall_back(reins: Reins, machine: Machine, tmp_path: Path) -> Callable[..., Any]:
    """``run_with_fallback`` on this test's server, machine and directory."""
    return functools.partial(run_with_fallback, reins, machine, tmp_path)


def served_by_backup(
    gateway: LiveGateway, tmp: Path, session: str, inbound: str, backup: str, last_event: str
) -> list[dict[str, Any]]:
    """The session's usage rows, after checking that each was served by the ``backup`` format
    once the primary target (the harness's own ``inbound`` format) failed, and that every stream
    the harness received is valid ``inbound`` ending in ``last_event``."""
    usage = gateway.usage_rows(2, session=session)
    first = json.loads(usage[0]["attempt_log"])
    assert [(a["provider"], a["format"]) for a in first] == [
        ("primary", inbound),
        ("backup", backup),
    ]
    assert {u["outcome"] for u in usage} == {"ok"}
    streams = streams_sent(tmp / "bodies.jsonl")
    assert len(streams) == len(usage)
    for events in streams:
        validate_stream(inbound, events)
        assert events[-1]["type"] == last_event
    return usage


def test_claude_code_rate_limited_on_claude_is_served_by_gemini(reins, fall_back, tmp_path):
    run, gateway, gemini = fall_back(
        "claude-code", ("anthropic", FakeAnthropic), ("gemini", FakeGemini), "gemini-2.5-flash"
    )
    result = run.json()
    assert result["result"].startswith(FINAL_PREFIX), run.describe()
    requests = gemini.model_requests()
    assert {r.path for r in requests} == {
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    }
    # The gateway's key, never the developer's Reins token.
    assert {r.headers.get("x-goog-api-key") for r in requests} == {OPENAI_KEY}
    answered = gemini.function_responses()
    assert len(answered) == 1 and answered[0]["name"] == "Bash"

    session = result["session_id"]
    rows = reins.audit(session=session)
    [pre] = by_event(rows, "PreToolUse")
    [post] = by_event(rows, "PostToolUse")
    assert pre["decision"] == "allow" and pre["tool"] == "Bash"
    assert pre["tool_use_id"] == post["tool_use_id"]

    usage = served_by_backup(gateway, tmp_path, session, "anthropic", "gemini", "message_stop")
    assert {(u["provider"], u["model"]) for u in usage} == {("backup", "gemini-2.5-flash")}
    assert [a.get("error") for a in json.loads(usage[0]["attempt_log"])] == ["429", None]
    assert usage[0]["input_tokens"] == 200


def test_codex_rate_limited_on_openai_is_served_by_an_anthropic_target(reins, fall_back, tmp_path):
    run, gateway, claude = fall_back(
        "codex", ("openai", FakeResponses), ("anthropic", FakeAnthropicShell), "claude-sonnet-4-5"
    )
    assert run.stdout.startswith(FINAL_PREFIX), run.describe()
    results = claude.tool_results()
    assert len(results) == 1 and results[0]["tool_use_id"] == "toolu_codex1"

    conn = sqlite3.connect(reins.db)
    [session] = {r[0] for r in conn.execute("SELECT session_id FROM usage")}
    conn.close()
    rows = reins.audit(session=session)
    [pre] = by_event(rows, "PreToolUse")
    assert pre["decision"] == "allow" and pre["tool_use_id"] == "toolu_codex1"

    usage = served_by_backup(
        gateway, tmp_path, session, "responses", "anthropic", "response.completed"
    )
    assert {(u["provider"], u["inbound"]) for u in usage} == {("backup", "responses")}
    assert usage[0]["output_tokens"] == 7
