"""The real Gemini CLI through the Reins gateway, configured only by ``reins install --gateway``.

Gemini CLI 0.61.0 (pinned, installed with npm into ``var/e2e-cli-gemini/`` by the ``gemini``
fixture of ``conftest``) runs headless in a temporary HOME. Its model alias routes to an Anthropic provider that answers 429 first, then to
one that asks for ``run_shell_command`` once: the gateway must fall back, translate the Gemini
request to Messages and the Anthropic stream back to Gemini chunks, so the CLI runs the tool
(allowed by the Reins hook) and finishes with the model's final text. The usage rows must say
``gemini``, and the Reins token must never reach a provider.

It must never touch the developer's real HOME: every run gets an explicit environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import make_token
from .clis import Run, base_env, run
from .fake_providers import FakeAnthropicShell
from .fake_upstream import FINAL_PREFIX, FakeAnthropic
from .gateway_fixtures import ANTHROPIC_KEY, start_gateway

pytestmark = pytest.mark.e2e

MODEL = "gemini-2.5-flash"  # an alias of the gateway, served by Claude
AGENT = "gemini-e2e"  # travels as X-Reins-Agent through GEMINI_CLI_CUSTOM_HEADERS


@pytest.fixture
def upstreams(tmp_path: Path) -> Iterator[tuple[FakeAnthropic, FakeAnthropicShell]]:
    limited = FakeAnthropic(error_status=429)
    shell = FakeAnthropicShell(command=f"touch {tmp_path / 'proof'}")
    yield limited, shell
    limited.close()
    shell.close()


def install(home: Path, project: Path, server: str, token: str, gateway: str) -> None:
    argv = [sys.executable, "-m", "reins.cli", "install", "gemini", "--server", server]
    done = subprocess.run(
        [*argv, "--token", token, "--gateway", gateway, "--agent", AGENT],
        cwd=project,
        env=base_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"reins install gemini failed:\n{done.stdout}\n{done.stderr}"


def run_gemini(binary: Path, home: Path, project: Path) -> Run:
    env = base_env(home, GEMINI_CLI_TRUST_WORKSPACE="true", NO_COLOR="1")
    argv = [str(binary), "-m", MODEL, "-p", "run the scripted command", "--yolo", "-o", "json"]
    return run(argv, project, env, timeout=120)


def test_gemini_cli_runs_a_tool_through_the_gateway_served_by_claude(
    gemini, upstreams, server_factory, tmp_path
):
    limited, shell = upstreams
    db = tmp_path / "reins.db"
    server = server_factory(db)
    token = make_token(db, "dana", "developer")
    config = {
        "providers": {
            name: {"kind": "anthropic", "base_url": up.url, "api_key_env": "E2E_ANTHROPIC_KEY"}
            for name, up in (("limited", limited), ("claude", shell))
        },
        "models": {
            MODEL: [
                {"provider": "limited", "model": "claude-sonnet-4-5"},
                {"provider": "claude", "model": "claude-sonnet-4-5"},
            ]
        },
        "usage": {"flush_s": 0.1},
    }
    gateway = start_gateway(tmp_path, db, config)
    try:
        home, project = tmp_path / "home", tmp_path / "project"
        home.mkdir()
        project.mkdir()
        install(home, project, server.url, token, gateway.url)
        result = run_gemini(gemini, home, project)
        assert result.returncode == 0, result.describe() + "\n" + gateway.output()[-3000:]
        assert (tmp_path / "proof").exists(), result.describe()
        assert FINAL_PREFIX in result.json()["response"], result.describe()

        requests = shell.model_requests()
        assert len(requests) >= 2  # the tool call, then the final answer
        assert shell.tool_results(), "the tool's result never reached the model"
        for req in requests + limited.model_requests():
            assert req.headers.get("x-api-key") == ANTHROPIC_KEY
            assert token not in json.dumps(req.headers)
        rows = gateway.usage_rows(len(requests), session="")
        assert {r["inbound"] for r in rows} == {"gemini"}
        assert {r["provider"] for r in rows if r["status"] == 200} == {"claude"}
        first = json.loads(rows[0]["attempt_log"])
        assert [a.get("error") for a in first][:1] == ["429"]
        assert {(r["user"], r["agent"]) for r in rows} == {("dana", AGENT)}
        assert all(r["output_tokens"] for r in rows if r["status"] == 200)
    finally:
        gateway.stop()
