"""Can a repository or a user switch the Reins hooks off in the real Gemini CLI 0.61.0?

Each case installs Reins with ``reins install gemini`` (user scope, or managed into a staged system
settings file), writes one setting a cloned repository (workspace ``.gemini/settings.json``) or
the user could write, and lets Gemini CLI (pinned, from the ``gemini`` fixture) run a command the
default policy denies. The proof file says whether the Reins hooks ran; ``reins doctor gemini``
must flag exactly the cases where they did not.

What Gemini CLI 0.61.0 does (read in its bundle, ``packages/cli/src/config/settings.ts`` and
``packages/core/src/hooks/hookRegistry.ts``): settings merge system > workspace > user, so a
managed ``hooksConfig.enabled: true`` wins; ``hooksConfig.disabled`` is a UNION over all files
matched against a hook's ``name`` (its ``command`` only when it has none), which no file can
override; a workspace ``"hooks"`` that is no object replaces the user's hooks, but system hooks
are merged after it. Hence the managed install pins ``enabled`` and names its hooks
``reins-<random>``; the remaining gaps are asserted as they are, so a Gemini release that changes
them fails here. A user-scope install writes the hooks as the Gemini extension ``reins``, also
named ``reins-<random>``: a workspace ``"hooks"`` cannot drop them, ``hooksConfig.enabled: false``
still switches them off (``tests/e2e/test_gemini_extension.py`` has the extension's own cases). Gemini has no admin setting that enforces hooks (``admin`` covers extensions,
MCP, skills and secure mode only).

Gemini CLI skips a system settings file unless it and every folder above it are owned by root
and not writable by group or others: the managed cases stage it below ``/run`` (else ``var/`` of
the checkout), need root, and skip when those folders do not qualify.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from installers.doctor_layers import gemini_system_file_problem

from ..conftest import LiveServer, make_token
from .clis import REPO, Run, base_env, run
from .conftest import DENIED_RULE, DENIED_TEMPLATE, rule_reason
from .fake_providers import FakeGemini
from .fake_upstream import send_stream

pytestmark = pytest.mark.e2e

MODEL = "gemini-2.5-flash"  # with -m, Gemini CLI asks no router model first
WORKSPACE_OFF = {"hooksConfig": {"enabled": False}}
DISABLED_REINS = {"hooksConfig": {"disabled": ["reins"]}}
HOOKS_NULL = {"hooks": None}


class FakeGeminiShell(FakeGemini):
    """A Gemini API that asks for Gemini CLI's own shell tool (``run_shell_command``) once."""

    def answer(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        last = (body.get("contents") or [{}])[-1]
        if any("functionResponse" in part for part in last.get("parts") or []):
            super().answer(handler, body)  # final text echoing the tool's result
            return
        call = {"name": "run_shell_command", "args": {"command": self.command}}
        chunk = {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"functionCall": call}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5},
        }
        raw = b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n"
        send_stream(handler, raw)


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A live ``reins serve`` and a developer token, for the whole module."""
    db = tmp_path_factory.mktemp("reins") / "reins.db"
    server = LiveServer(db)
    try:
        yield server.url, make_token(db, "dana", "developer")
    finally:
        server.stop()


class Machine:
    """A temporary HOME and project, and for managed installs a staged system settings file."""

    def __init__(self, root: Path, managed_root: Path | None) -> None:
        self.home, self.project, self.proof = root / "home", root / "project", root / "proof"
        self.managed_root = managed_root
        (self.home / ".gemini").mkdir(parents=True)
        self.project.mkdir()
        # The fake upstream is reached through GOOGLE_GEMINI_BASE_URL, which needs an auth type.
        auth = {"security": {"auth": {"selectedType": "gemini-api-key"}}}
        self.user_settings.write_text(json.dumps(auth))

    @property
    def user_settings(self) -> Path:
        return self.home / ".gemini" / "settings.json"

    @property
    def workspace_settings(self) -> Path:
        return self.project / ".gemini" / "settings.json"

    @property
    def system_settings(self) -> Path:
        assert self.managed_root is not None
        return self.managed_root / "etc" / "gemini-cli" / "settings.json"

    def env(self, **extra: str) -> dict[str, str]:
        if self.managed_root is not None:
            extra = {
                "REINS_MANAGED_ROOT": str(self.managed_root),
                "GEMINI_CLI_SYSTEM_SETTINGS_PATH": str(self.system_settings),
                **extra,
            }
        return base_env(self.home, **extra)

    def reins(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reins.cli", *args],
            cwd=self.project,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    @property
    def extension_hooks(self) -> Path:
        """The hooks file of the extension a user-scope install writes."""
        return self.home / ".gemini" / "extensions" / "reins" / "hooks" / "hooks.json"

    def reins_hook(self) -> dict[str, Any]:
        """The installed BeforeTool handler."""
        path = self.extension_hooks if self.managed_root is None else self.system_settings
        return json.loads(path.read_text())["hooks"]["BeforeTool"][0]["hooks"][0]

    def add_settings(self, path: Path, settings: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        current = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**current, **settings}))

    def gemini(self, binary: Path, upstream: str, *unset: str, **extra: str) -> Run:
        env = self.env(
            GEMINI_API_KEY="dummy",
            GOOGLE_GEMINI_BASE_URL=upstream,
            GEMINI_CLI_TRUST_WORKSPACE="true",  # a trusted folder: its settings count
            NO_COLOR="1",
            **extra,
        )
        for name in unset:
            env.pop(name)
        argv = [str(binary), "-m", MODEL, "-p", "run the scripted command", "--yolo", "-o", "json"]
        return run(argv, self.project, env, timeout=120)


@contextmanager
def staged(tmp_path: Path, scope: str) -> Iterator[Machine]:
    """A machine for a ``user`` or ``managed`` install."""
    if scope == "user":
        yield Machine(tmp_path, None)
        return
    if os.geteuid() != 0:
        pytest.skip("Gemini CLI loads a system settings file only when root owns it: needs root")
    # Not below /tmp: Gemini CLI skips a system file below a group- or world-writable folder.
    # /run (root's, 0755) qualifies on any Linux; a checkout may well sit below /tmp.
    run = Path("/run")
    parent = run if run.is_dir() and not run.stat().st_mode & 0o022 else REPO / "var"
    staging = Path(tempfile.mkdtemp(prefix="reins-gemini-managed-", dir=parent))
    try:
        yield Machine(tmp_path, staging)
    finally:
        shutil.rmtree(staging)


def install(machine: Machine, policy: tuple[str, str], *flags: str) -> None:
    server, token = policy
    scope = "user" if machine.managed_root is None else "managed"
    done = machine.reins(
        "install", "gemini", "--scope", scope, "--server", server, "--token", token, *flags
    )
    assert done.returncode == 0, f"reins install failed:\n{done.stdout}\n{done.stderr}"
    if machine.managed_root is not None:
        problem = gemini_system_file_problem(machine.system_settings)
        if problem:
            pytest.skip(f"Gemini CLI would skip the staged system settings: {problem}")


def hooks_ran(machine: Machine, binary: Path, *unset: str, **extra: str) -> tuple[bool, Run]:
    """Run Gemini CLI on a command the policy denies: did the Reins hooks block it?"""
    with FakeGeminiShell(DENIED_TEMPLATE.format(proof=machine.proof)) as model:
        result = machine.gemini(binary, model.url, *unset, **extra)
        responses = model.function_responses()
    assert result.returncode == 0, result.describe()
    assert len(responses) == 1, f"the model never got the tool's result\n{result.describe()}"
    if machine.proof.exists():
        return False, result
    error = responses[0]["response"].get("error", "")
    assert "Tool execution blocked" in error and rule_reason(DENIED_RULE) in error, responses
    return True, result


def doctor_flags(machine: Machine) -> list[str]:
    """The lines of ``reins doctor gemini`` saying something switches the Reins hooks off."""
    done = machine.reins("doctor", "gemini")
    return [line for line in done.stdout.splitlines() if "] gemini hooks off:" in line]


CASES = [
    pytest.param("user", None, None, True, id="user"),
    # Open: at user scope a repository switches Reins off; doctor flags it (README, Scopes).
    # hooksConfig.enabled: false stops the hooks of the extension reins too.
    pytest.param("user", "workspace", WORKSPACE_OFF, False, id="user-workspace-enabled-false"),
    # The extension's hooks have a name no repository can guess, and are no settings "hooks".
    pytest.param("user", "workspace", DISABLED_REINS, True, id="user-workspace-disabled-reins"),
    pytest.param("user", "workspace", HOOKS_NULL, True, id="user-workspace-hooks-null"),
    # hooksConfig.disabled does match extension hooks by name: what the user can do, not guess.
    pytest.param(
        "user",
        "workspace",
        {"hooksConfig": {"disabled": ["<name>"]}},
        False,
        id="user-workspace-disabled-its-name",
    ),
    pytest.param("managed", None, None, True, id="managed"),
    # System settings win for hooksConfig.enabled, and the install pins it to true.
    pytest.param("managed", "workspace", WORKSPACE_OFF, True, id="managed-workspace-enabled-false"),
    pytest.param("managed", "user", WORKSPACE_OFF, True, id="managed-user-enabled-false"),
    # The managed hooks are not named "reins", and a hook with a name is not matched by command.
    pytest.param(
        "managed", "workspace", DISABLED_REINS, True, id="managed-workspace-disabled-reins"
    ),
    pytest.param(
        "managed",
        "workspace",
        {"hooksConfig": {"disabled": ["<command>"]}},
        True,
        id="managed-workspace-disabled-command",
    ),
    # System hooks are merged after the workspace's "hooks".
    pytest.param("managed", "workspace", HOOKS_NULL, True, id="managed-workspace-hooks-null"),
    # Open: the user can read the managed name and list it; doctor flags it.
    pytest.param(
        "managed",
        "user",
        {"hooksConfig": {"disabled": ["<name>"]}},
        False,
        id="managed-user-disabled-its-name",
    ),
]


@pytest.mark.parametrize(("scope", "where", "setting", "expected"), CASES)
def test_what_switches_the_reins_hooks_off_in_gemini_cli(
    gemini: Path,
    policy: tuple[str, str],
    tmp_path: Path,
    scope: str,
    where: str | None,
    setting: dict[str, Any] | None,
    expected: bool,
) -> None:
    with staged(tmp_path, scope) as machine:
        install(machine, policy)
        if setting is not None:
            handler = machine.reins_hook()
            text = json.dumps(setting).replace("<command>", handler["command"])
            text = text.replace("<name>", handler["name"])
            target = machine.workspace_settings if where == "workspace" else machine.user_settings
            machine.add_settings(target, json.loads(text))

        ran, result = hooks_ran(machine, gemini)
        assert ran == expected, f"{where} settings {setting}: hooks ran={ran}\n{result.describe()}"
        flagged = doctor_flags(machine)
        assert bool(flagged) == (not ran), flagged


def test_a_project_env_file_cannot_move_the_system_settings(
    gemini: Path, policy: tuple[str, str], tmp_path: Path
) -> None:
    # Gemini CLI reads its system settings before it loads .env files, so a repository's
    # .gemini/.env cannot redirect GEMINI_CLI_SYSTEM_SETTINGS_PATH to a file without the Reins
    # hooks. Shown the other way round, without touching /etc: the variable set only there, at
    # the staged managed file, does not load that file's hooks.
    if Path("/etc/gemini-cli/settings.json").exists():
        pytest.skip("this machine has a Gemini system settings file of its own")
    with staged(tmp_path, "managed") as machine:
        install(machine, policy)
        dotenv = machine.project / ".gemini" / ".env"
        dotenv.parent.mkdir()
        # The API key lives only there: a run that works proves Gemini CLI read the file.
        dotenv.write_text(
            f"GEMINI_CLI_SYSTEM_SETTINGS_PATH={machine.system_settings}\nGEMINI_API_KEY=dummy\n"
        )
        ran, result = hooks_ran(
            machine, gemini, "GEMINI_CLI_SYSTEM_SETTINGS_PATH", "GEMINI_API_KEY"
        )
        assert not ran, result.describe()
