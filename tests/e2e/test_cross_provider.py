"""Cross-provider fallback with the real CLIs: the harness never learns its provider changed.

Claude Code (Anthropic Messages) is set up by ``reins install claude-code --gateway``; its
Anthropic target answers 429, so a real ``reins gateway`` sends the turn to a fake Gemini, which
asks for a Bash call. The hooks decide on the call, the command runs, Gemini gets the result and
the task completes. Likewise Codex (Responses) whose OpenAI target answers 429 is served by an
Anthropic-format target. What each CLI received is read back from the gateway's bodies log and
checked against its format's event grammar; the usage rows name the provider that served.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.translate import SSEParser, parse_data, validate_stream

from .conftest import ALLOWED_TEMPLATE, by_event
from .fake_providers import FakeAnthropicShell, FakeGemini
from .fake_upstream import FINAL_PREFIX, FakeAnthropic, FakeResponses
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


def test_claude_code_rate_limited_on_claude_is_served_by_gemini(reins, machine, tmp_path):
    proof = machine.proof()
    started = time.monotonic()
    with (
        FakeAnthropic(error_status=429) as claude,
        FakeGemini(ALLOWED_TEMPLATE.format(proof=proof)) as gemini,
    ):
        config = fallback_config(
            tmp_path,
            {"kind": "anthropic", "base_url": claude.url},
            {"kind": "gemini", "base_url": gemini.url},
            "gemini-2.5-flash",
        )
        gateway = start_gateway(tmp_path, reins.db, config)
        try:
            machine.install("claude-code", reins, "--gateway", gateway.url)
            run = claude_through_gateway(machine)
        finally:
            gateway.stop()
        answered = gemini.function_responses()
        gemini_paths = {r.path for r in gemini.model_requests()}
        gemini_keys = {r.headers.get("x-goog-api-key") for r in gemini.model_requests()}
        rate_limited = claude.model_requests()
    result = run.json()
    print(
        f"claude code via gemini: {run.seconds:.1f}s run, {time.monotonic() - started:.1f}s total"
    )

    assert run.returncode == 0, run.describe()
    assert proof.exists(), f"the allowed command did not run\n{run.describe()}"
    assert result["result"].startswith(FINAL_PREFIX), run.describe()
    assert rate_limited, "the Anthropic target was never tried"
    assert gemini_paths == {"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"}
    assert gemini_keys == {OPENAI_KEY}  # the gateway's key, never the developer's Reins token
    assert len(answered) == 1 and answered[0]["name"] == "Bash"

    session = result["session_id"]
    rows = reins.audit(session=session)
    [pre] = by_event(rows, "PreToolUse")
    [post] = by_event(rows, "PostToolUse")
    assert pre["decision"] == "allow" and pre["tool"] == "Bash"
    assert pre["tool_use_id"] == post["tool_use_id"]

    usage = gateway.usage_rows(2, session=session)
    assert {(u["provider"], u["model"]) for u in usage} == {("backup", "gemini-2.5-flash")}
    first = json.loads(usage[0]["attempt_log"])
    assert [(a["provider"], a["format"], a.get("error")) for a in first] == [
        ("primary", "anthropic", "429"),
        ("backup", "gemini", None),
    ]
    assert {u["outcome"] for u in usage} == {"ok"} and usage[0]["input_tokens"] == 200
    streams = streams_sent(tmp_path / "bodies.jsonl")
    assert len(streams) == len(usage)
    for events in streams:
        validate_stream("anthropic", events)
        assert events[-1]["type"] == "message_stop"


def test_codex_rate_limited_on_openai_is_served_by_an_anthropic_target(reins, machine, tmp_path):
    proof = machine.proof()
    started = time.monotonic()
    with (
        FakeResponses(error_status=429) as openai,
        FakeAnthropicShell(ALLOWED_TEMPLATE.format(proof=proof)) as claude,
    ):
        config = fallback_config(
            tmp_path,
            {"kind": "openai", "base_url": openai.url + "/v1"},
            {"kind": "anthropic", "base_url": claude.url},
            "claude-sonnet-4-5",
        )
        gateway = start_gateway(tmp_path, reins.db, config)
        try:
            machine.install("codex", reins, "--gateway", gateway.url)
            run = codex_through_gateway(machine, reins.developer)
        finally:
            gateway.stop()
        results = claude.tool_results()
        rate_limited = openai.model_requests()
    print(f"codex via anthropic: {run.seconds:.1f}s run, {time.monotonic() - started:.1f}s total")

    assert run.returncode == 0, run.describe()
    assert proof.exists(), f"the allowed command did not run\n{run.describe()}"
    assert run.stdout.startswith(FINAL_PREFIX), run.describe()
    assert rate_limited, "the OpenAI target was never tried"
    assert len(results) == 1 and results[0]["tool_use_id"] == "toolu_codex1"

    conn = sqlite3.connect(reins.db)
    [session] = {r[0] for r in conn.execute("SELECT session_id FROM usage")}
    conn.close()
    rows = reins.audit(session=session)
    [pre] = by_event(rows, "PreToolUse")
    assert pre["decision"] == "allow" and pre["tool_use_id"] == "toolu_codex1"

    usage = gateway.usage_rows(2, session=session)
    assert {(u["provider"], u["inbound"]) for u in usage} == {("backup", "responses")}
    first = json.loads(usage[0]["attempt_log"])
    assert [(a["provider"], a["format"]) for a in first] == [
        ("primary", "responses"),
        ("backup", "anthropic"),
    ]
    assert {u["outcome"] for u in usage} == {"ok"} and usage[0]["output_tokens"] == 7
    streams = streams_sent(tmp_path / "bodies.jsonl")
    assert len(streams) == len(usage)
    for events in streams:
        validate_stream("responses", events)
        assert events[-1]["type"] == "response.completed"
