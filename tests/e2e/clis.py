"""The real harness CLIs for the end-to-end suite: pinned npm install, headless runs.

``ensure_clis()`` installs ``@anthropic-ai/claude-code`` and ``@openai/codex`` at the pinned
versions into ``var/e2e-cli/`` of the checkout once (created on first use, reused afterwards,
reinstalled when a pin changes). ``run_claude`` / ``run_codex`` run them headless in a given HOME
(and CODEX_HOME) against a fake model upstream, with short timeouts, and return what they printed.

It must never touch the developer's real HOME or ``~/.codex``: every run gets an explicit,
temporary environment with nothing inherited but PATH and the locale.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CLI_DIR = REPO / "var" / "e2e-cli"
PINS = {"@anthropic-ai/claude-code": "2.1.197", "@openai/codex": "0.171.0"}
NPM_TIMEOUT = 300


class CliInstallError(RuntimeError):
    """npm could not install the pinned CLIs; the message carries npm's own output."""


@dataclass(frozen=True)
class Clis:
    claude: Path
    codex: Path


@dataclass
class Run:
    """One finished CLI run."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> dict[str, Any]:
        try:
            return json.loads(self.stdout)
        except ValueError:
            raise AssertionError(f"CLI did not print JSON:\n{self.describe()}") from None

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\nexit {self.returncode} after {self.seconds:.1f}s\n"
            f"--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"
        )


def npm_available() -> bool:
    return shutil.which("npm") is not None and shutil.which("node") is not None


def installed_version(package: str) -> str | None:
    manifest = CLI_DIR / "node_modules" / package / "package.json"
    try:
        return json.loads(manifest.read_text()).get("version")
    except (OSError, ValueError):
        return None


def ensure_clis() -> Clis:
    """Install the pinned CLIs under var/e2e-cli/ unless they are already there."""
    CLI_DIR.mkdir(parents=True, exist_ok=True)
    with open(CLI_DIR / ".lock", "w") as lock:  # two pytest runs must not share one npm install
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [f"{p}@{v}" for p, v in PINS.items() if installed_version(p) != v]
        if missing:
            if not (CLI_DIR / "package.json").exists():
                (CLI_DIR / "package.json").write_text(
                    '{"name": "reins-e2e-cli", "private": true}\n'
                )
            command = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *missing]
            done = subprocess.run(
                command, cwd=CLI_DIR, capture_output=True, text=True, timeout=NPM_TIMEOUT
            )
            if done.returncode != 0 or any(installed_version(p) != v for p, v in PINS.items()):
                raise CliInstallError(
                    f"`{' '.join(command)}` in {CLI_DIR} failed (exit {done.returncode}):\n"
                    f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
                )
    clis = Clis(CLI_DIR / "node_modules/.bin/claude", CLI_DIR / "node_modules/.bin/codex")
    for binary in (clis.claude, clis.codex):
        if not os.access(binary, os.X_OK):
            raise CliInstallError(f"{binary} is missing after npm install; delete {CLI_DIR}")
    return clis


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: the temporary HOME, PATH, locale, and what the caller adds.

    TMPDIR is a sibling of HOME: the CLIs' temporary files stay in the test's folder, and Codex
    does not warn about a CODEX_HOME inside the temporary directory.
    """
    tmp = home.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmp),
    }
    env.update(extra)
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Run:
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,  # Codex appends piped stdin to the prompt
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        raise AssertionError(
            Run(argv, -1, out, err, time.monotonic() - started).describe() + "\n(timed out)"
        ) from None
    return Run(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def run_claude(
    clis: Clis,
    home: Path,
    project: Path,
    upstream: str,
    prompt: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Run:
    """``claude -p PROMPT --output-format json`` headless, model traffic to ``upstream``."""
    run_env = base_env(
        home,
        ANTHROPIC_BASE_URL=upstream,
        ANTHROPIC_API_KEY="sk-ant-fake-key-for-e2e",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        CLAUDE_CODE_MAX_RETRIES="0",
        DISABLE_AUTOUPDATER="1",
        **(env or {}),
    )
    argv = [str(clis.claude), "-p", prompt, "--output-format", "json", "--allowedTools", "Bash"]
    return run(argv, project, run_env, timeout)


CODEX_PROVIDER = """\
model = "gpt-fake"
model_provider = "fake"
approval_policy = "never"
sandbox_mode = "danger-full-access"

[model_providers.fake]
name = "Fake Responses upstream"
base_url = "{url}/v1"
wire_api = "responses"
env_key = "FAKE_OPENAI_KEY"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
"""


def write_codex_provider(codex_home: Path, upstream: str) -> Path:
    """The user's own Codex config: the fake upstream as model provider (before any install)."""
    codex_home.mkdir(parents=True, exist_ok=True)
    config = codex_home / "config.toml"
    config.write_text(CODEX_PROVIDER.format(url=upstream))
    return config


def run_codex(
    clis: Clis,
    home: Path,
    codex_home: Path,
    project: Path,
    prompt: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Run:
    """``codex exec PROMPT`` headless, WITHOUT the hook-trust bypass flag."""
    run_env = base_env(home, CODEX_HOME=str(codex_home), FAKE_OPENAI_KEY="sk-fake", **(env or {}))
    argv = [str(clis.codex), "exec", "--skip-git-repo-check", prompt]
    return run(argv, project, run_env, timeout)
