"""The gateway side of the end-to-end suite: a real ``reins gateway`` and CLI runs through it.

``start_gateway`` starts ``reins gateway`` as its own process on an ephemeral 127.0.0.1 port, over
the store of a live ``reins serve`` (tokens in, usage rows out), with providers that point at the
fake upstreams of ``fake_upstream.py``. Provider keys exist only in the gateway's environment.
``claude_through_gateway`` / ``codex_through_gateway`` run the real CLIs in a machine configured
by ``reins install --gateway``: no base URL, no key and no model provider of the test's own.

It must never pass a provider key to a CLI, nor a Reins token to an upstream.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LiveGateway

from .clis import Run, base_env, run
from .conftest import Machine
from .fake_upstream import FakeAnthropic, FakeResponses, FakeUpstream

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


class Upstreams:
    """The fake providers of a gateway e2e module: Anthropic, an Anthropic that answers 429, and
    OpenAI Responses; ``config`` is the gateway config over them."""

    def __init__(self) -> None:
        self.anthropic = FakeAnthropic()
        self.limited = FakeAnthropic(error_status=429)
        self.responses = FakeResponses()

    def __enter__(self) -> Upstreams:
        return self

    def __exit__(self, *exc: object) -> None:
        for upstream in self.all():
            upstream.close()

    def all(self) -> list[FakeUpstream]:
        return [self.anthropic, self.limited, self.responses]

    def config(self, fallback_alias: str) -> dict:
        return gateway_config(
            self.anthropic.url, self.limited.url, self.responses.url, fallback_alias
        )


def start_gateway(tmp: Path, db: Path, config: dict) -> LiveGateway:
    """``reins gateway`` (one worker) over the store ``db``, the fake providers' keys its own."""
    return LiveGateway(tmp, db, config, KEY_ENVS)


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
