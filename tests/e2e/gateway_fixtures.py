"""The gateway side of the end-to-end suite: a real ``reins gateway`` and CLI runs through it.

``LiveGateway`` starts ``reins gateway`` as its own process on an ephemeral 127.0.0.1 port, over
the store of a live ``reins serve`` (tokens in, usage rows out), with providers that point at the
fake upstreams of ``fake_upstream.py``. Provider keys exist only in the gateway's environment.
``claude_through_gateway`` / ``codex_through_gateway`` run the real CLIs in a machine configured
by ``reins install --gateway``: no base URL, no key and no model provider of the test's own.

It must never pass a provider key to a CLI, nor a Reins token to an upstream.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.conftest import stop_group

from ..conftest import free_port
from .clis import Run, base_env, run
from .conftest import Machine

ANTHROPIC_KEY = "sk-ant-gateway-only-e2e"  # fake keys: the gateway's, never a CLI's
OPENAI_KEY = "sk-openai-gateway-only-e2e"
CODEX_MODEL = "gpt-5.2-codex"
KEY_ENVS = {"E2E_ANTHROPIC_KEY": ANTHROPIC_KEY, "E2E_OPENAI_KEY": OPENAI_KEY}


def gateway_config(anthropic: str, limited: str, responses: str, fallback_alias: str) -> dict:
    """Providers on the fake upstreams; ``fallback_alias`` tries the 429 one first.

    ``anthropic`` is the first Anthropic provider, so a model name without an alias goes there.
    """
    return {
        "providers": {
            "anthropic": {
                "kind": "anthropic",
                "base_url": anthropic,
                "api_key_env": "E2E_ANTHROPIC_KEY",
            },
            "anthropic-limited": {
                "kind": "anthropic",
                "base_url": limited,
                "api_key_env": "E2E_ANTHROPIC_KEY",
            },
            "openai": {
                "kind": "openai",
                "base_url": responses + "/v1",
                "api_key_env": "E2E_OPENAI_KEY",
            },
        },
        "models": {
            fallback_alias: [
                {"provider": "anthropic-limited", "model": fallback_alias},
                {"provider": "anthropic", "model": fallback_alias},
            ]
        },
        "usage": {"flush_s": 0.1},
    }


class LiveGateway:
    """``reins gateway`` as a real process (one worker) over the store ``db``."""

    def __init__(self, tmp: Path, db: Path, config: dict) -> None:
        self.db = db
        config_path = tmp / "gateway.yaml"
        config_path.write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "gateway.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "reins.cli", "gateway", "--port", str(self.port)]
        command += ["--config", str(config_path), "--db", str(db), "--workers", "1"]
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env = {k: v for k, v in env.items() if k not in ("REINS_CONFIG", "REINS_DB")}
        self.process = subprocess.Popen(
            command,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**env, **KEY_ENVS},
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"reins gateway exited:\n{self.output()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"reins gateway did not become ready:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text()

    def usage(self, session: str, expect: int, timeout: float = 10) -> list[dict[str, Any]]:
        """The usage rows of ``session``, oldest first, once at least ``expect`` are written."""
        deadline = time.monotonic() + timeout
        while True:
            conn = sqlite3.connect(self.db)
            conn.row_factory = sqlite3.Row
            try:
                rows = [
                    dict(row)
                    for row in conn.execute(
                        "SELECT * FROM usage WHERE session_id = ? ORDER BY time_us, id", (session,)
                    )
                ]
            finally:
                conn.close()
            if len(rows) >= expect or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def stop(self) -> None:
        stop_group(self.process)
        self.log.close()


def claude_through_gateway(
    machine: Machine, prompt: str = "do it", *args: str, timeout: float = 90
) -> Run:
    """``claude -p`` headless; its base URL, token and headers come from ``settings.json`` only."""
    env = base_env(
        machine.home,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        CLAUDE_CODE_MAX_RETRIES="0",
        DISABLE_AUTOUPDATER="1",
    )
    argv = [str(machine.clis.claude), "-p", prompt, "--output-format", "json"]
    argv += ["--allowedTools", "Bash", *args]
    return run(argv, machine.project, env, timeout)


def codex_through_gateway(
    machine: Machine, token: str, prompt: str = "do it", timeout: float = 90
) -> Run:
    """``codex exec`` headless with the provider ``reins install codex --gateway`` wrote.

    The only setting from the test is the one the installer tells the developer to export
    (``REINS_TOKEN``). Flags of this one run: ``--sandbox`` lets the allowed command run in this
    container, and ``-m`` names a model that Codex offers its shell tool to (its default model
    gets no function tools), which the gateway sends to its first Responses provider.
    """
    env = base_env(machine.home, CODEX_HOME=str(machine.codex_home), REINS_TOKEN=token)
    argv = [str(machine.clis.codex), "exec", "--skip-git-repo-check"]
    argv += ["--sandbox", "danger-full-access", "-m", CODEX_MODEL, prompt]
    return run(argv, machine.project, env, timeout)
