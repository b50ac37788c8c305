"""Does the real Gemini CLI 0.61.0 run the Reins hooks in a folder it does not trust?

No, not one, managed hooks included. Gemini CLI registers the hooks of every settings file
(system ones too) as *project* hooks and skips them all unless the folder is trusted
(``packages/core/src/hooks/hookRegistry.ts``: ``processHooksFromConfig``). Folder trust
(``security.folderTrust.enabled``) is on by default; a folder is untrusted when the user chose
"Don't trust" (``DO_NOT_TRUST`` in ``~/.gemini/trustedFolders.json``), has not answered yet (the
trust dialog is open, yet a prompt given with ``-i`` already runs), or when
``GEMINI_RESTRICTED_MODE=true`` / ``GEMINI_CLI_TRUST_WORKSPACE=false`` is in the environment,
which a trusted repository's ``.gemini/.env`` can put there. Headless runs (``-p``) refuse an
untrusted folder with exit 55 while folder trust is on, so only interactive sessions, driven
here through a pseudo-terminal, run without the hooks.

The fix proven here, the admin's choice (``reins install gemini --scope managed
--trust-all-folders``; a plain managed install keeps Gemini's folder trust and so the gap): it
pins ``security.folderTrust.enabled: false`` in the system settings (the system value beats the
user's), so every folder is trusted; an admin who
also exports ``GEMINI_RESTRICTED_MODE=`` and ``GEMINI_CLI_TRUST_WORKSPACE=`` (empty) stops a
repository's ``.env`` from untrusting it (Gemini never overrides a variable already set), and a
scheduled run sets both. ``reins doctor gemini`` flags each case without hooks. The gaps that
stay open are asserted as they are, so a Gemini release that changes them fails here. Hooks of
a Gemini *extension* are no project hooks and run even untrusted, so a user-scope install (which
writes the hooks as the extension ``reins``) keeps them in every folder of an interactive
session; headless runs still refuse an untrusted folder (exit 55) before any hook.

Interactive runs observe the hooks through the Reins audit log (the SessionStart and BeforeAgent
events, recorded as ``SessionStart`` / ``UserPromptSubmit``) against a model that only answers
text, so no tool needs a confirmation. Managed cases stage the system file below ``/run`` (see
``test_gemini_hooks_tamper.py``) and need root.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from policy_server.registry.agent import Agent
from policy_server.scheduler.harness import invocation

from .clis import Run, run
from .conftest import DENIED_RULE, DENIED_TEMPLATE, Reins, rule_reason
from .fake_providers import FakeGemini
from .test_gemini_hooks_tamper import (
    MODEL,
    FakeGeminiShell,
    Machine,
    hooks_ran,
    install,
    staged,
)

pytestmark = pytest.mark.e2e

NEUTRAL_ENV = {"GEMINI_RESTRICTED_MODE": "", "GEMINI_CLI_TRUST_WORKSPACE": ""}
RESTRICTED_DOTENV = "GEMINI_RESTRICTED_MODE=true\n"
HOOK_EVENTS = {"SessionStart", "UserPromptSubmit"}
UNTRUSTED_EXIT = 55  # FatalUntrustedWorkspaceError
TRUST_ALL = "managed-trust-all"  # a managed install with --trust-all-folders


@pytest.fixture(scope="module")
def reins(module_reins: Reins) -> Reins:
    return module_reins


@contextlib.contextmanager
def prepared(
    tmp_path: Path, reins: Reins, trust: str | None, dotenv: str = "", scope: str = "user"
) -> Iterator[Machine]:
    """A staged machine (``managed-trust-all``: managed, installed with ``--trust-all-folders``)
    with Reins installed, the user's trust rule for the project and a repository .env."""
    with staged(tmp_path, "user" if scope == "user" else "managed") as machine:
        flags = ["--trust-all-folders"] if scope == TRUST_ALL else []
        install(machine, (reins.url, reins.developer), *flags)
        if trust is not None:
            rules = {str(machine.project): trust}
            (machine.home / ".gemini" / "trustedFolders.json").write_text(json.dumps(rules))
        if dotenv:
            (machine.project / ".gemini").mkdir(exist_ok=True)
            (machine.project / ".gemini" / ".env").write_text(dotenv)
        yield machine


def environment(machine: Machine, upstream: str, extra: dict[str, str]) -> dict[str, str]:
    """The machine's clean environment (no trust variable unless in ``extra``) for a run."""
    return machine.env(
        GEMINI_API_KEY="dummy", GOOGLE_GEMINI_BASE_URL=upstream, NO_COLOR="1", **extra
    )


def interactive(binary: Path, machine: Machine, env: dict[str, str], model: FakeGemini) -> str:
    """Gemini CLI in a pseudo-terminal with ``-i``: stopped 0.5 s after the model got the prompt
    (the BeforeAgent hook, when it runs, runs before that). Returns what the screen showed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [str(binary), "-m", MODEL, "-i", "say hello"],
        cwd=machine.project,
        env={**env, "TERM": "xterm-256color"},
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,
    )
    os.close(follower)
    screen, deadline, answered = b"", time.monotonic() + 90, None
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    screen += os.read(leader, 65536)
                except OSError:
                    break
            if answered is None and model.model_requests():
                answered = time.monotonic()
            if answered is not None and time.monotonic() - answered > 0.5:
                break
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        os.close(leader)
    text = screen.decode("utf-8", "replace")
    assert answered is not None, f"the prompt never reached the model:\n{text[-3000:]}"
    return text


def headless(binary: Path, machine: Machine, env: dict[str, str]) -> Run:
    argv = [str(binary), "-m", MODEL, "-p", "run the scripted command", "--yolo", "-o", "json"]
    return run(argv, machine.project, env, timeout=120)


def last_seq(reins: Reins) -> int:
    return max((row["seq"] for row in reins.audit()), default=0)


def hook_events(reins: Reins, since: int) -> set[str]:
    return {row["hook_event"] for row in reins.audit() if row["seq"] > since}


def session_events(
    gemini: Path, reins: Reins, machine: Machine, extra: dict[str, str]
) -> tuple[set[str], dict[str, str], str]:
    """One interactive session against a text-only model: the hook events it logged, the
    environment it ran in and its screen."""
    since = last_seq(reins)
    with FakeGemini("") as model:
        env = environment(machine, model.url, extra)
        screen = interactive(gemini, machine, env, model)
    return hook_events(reins, since), env, screen


def trust_flags(machine: Machine, env: dict[str, str]) -> list[str]:
    """``reins doctor gemini`` lines that fail or warn about folder trust (same environment)."""
    done = subprocess.run(
        [sys.executable, "-m", "reins.cli", "doctor", "gemini"],
        cwd=machine.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    return [line for line in lines if "gemini folder trust:" in line and "[  ok]" not in line]


INTERACTIVE = [
    pytest.param("user", "TRUST_FOLDER", "", {}, True, id="user-trusted"),
    # User scope: the extension's hooks run untrusted too (declined and repository .env: below).
    pytest.param("user", None, "", {}, True, id="user-not-answered-yet"),
    # The gap: an untrusted folder runs no settings-file hooks, managed ones included.
    pytest.param("managed", "DO_NOT_TRUST", "", {}, False, id="managed-declined"),
    # The fix, the admin's choice: --trust-all-folders switches folder trust off.
    pytest.param(TRUST_ALL, "DO_NOT_TRUST", "", {}, True, id="trust-all-declined"),
    pytest.param(TRUST_ALL, None, "", {}, True, id="trust-all-not-answered-yet"),
    # Open: a repository's .env still untrusts the folder, unless the variables are set already.
    pytest.param(TRUST_ALL, None, RESTRICTED_DOTENV, {}, False, id="trust-all-repo-env"),
    pytest.param(TRUST_ALL, None, RESTRICTED_DOTENV, NEUTRAL_ENV, True, id="trust-all-env-neutral"),
]


@pytest.mark.parametrize(("scope", "trust", "dotenv", "extra", "expected"), INTERACTIVE)
def test_interactive_gemini_runs_the_hooks_only_in_a_trusted_folder(
    gemini: Path,
    reins: Reins,
    tmp_path: Path,
    scope: str,
    trust: str | None,
    dotenv: str,
    extra: dict[str, str],
    expected: bool,
) -> None:
    with prepared(tmp_path, reins, trust, dotenv, scope) as machine:
        events, env, screen = session_events(gemini, reins, machine, extra)
        assert events == (HOOK_EVENTS if expected else set()), f"{events}\n{screen[-3000:]}"
        if trust is None and scope == "user":
            assert "Do you trust the files in this folder?" in screen  # asked; the prompt ran
        flagged = trust_flags(machine, env)
        assert bool(flagged) == (not expected), flagged


def test_a_user_scope_install_runs_the_hooks_in_a_folder_gemini_does_not_trust(
    gemini: Path, reins: Reins, tmp_path: Path
) -> None:
    # The real `reins install gemini` (user scope) writes the hooks as the extension reins, not
    # into settings.json: Gemini CLI skips untrusted *project* hooks only, so they run in a
    # declined folder and under a repository's GEMINI_RESTRICTED_MODE=true alike.
    with prepared(tmp_path, reins, "TRUST_FOLDER", RESTRICTED_DOTENV) as machine:
        assert "hooks" not in json.loads(machine.user_settings.read_text())
        assert machine.extension_hooks.is_file()
        for trust in ("DO_NOT_TRUST", "TRUST_FOLDER"):  # declined; untrusted by the .env
            rules = {str(machine.project): trust}
            (machine.home / ".gemini" / "trustedFolders.json").write_text(json.dumps(rules))
            events, env, screen = session_events(gemini, reins, machine, {})
            assert events == HOOK_EVENTS, f"{trust}\n{screen[-3000:]}"
            assert trust_flags(machine, env) == []


HEADLESS = [
    # Headless runs fail closed: an untrusted folder is refused before any model call.
    pytest.param("user", "DO_NOT_TRUST", "", {}, UNTRUSTED_EXIT, id="user-declined"),
    pytest.param("user", None, "", {}, UNTRUSTED_EXIT, id="user-not-answered"),
    pytest.param("user", "TRUST_FOLDER", RESTRICTED_DOTENV, {}, UNTRUSTED_EXIT, id="user-repo-env"),
    pytest.param("user", "TRUST_FOLDER", "", {}, True, id="user-trusted"),
    pytest.param("managed", "DO_NOT_TRUST", "", {}, UNTRUSTED_EXIT, id="managed-declined"),
    # The user's own folderTrust.enabled: true (set below) cannot beat the managed false.
    pytest.param(TRUST_ALL, "DO_NOT_TRUST", "", {}, True, id="trust-all-declined"),
    # Open: with folder trust off a repository's .env gives an untrusted run without hooks, in
    # which Gemini CLI offers no shell tool (nothing that needs a confirmation), ...
    pytest.param(TRUST_ALL, None, RESTRICTED_DOTENV, {}, False, id="trust-all-repo-env"),
    # ... unless the variables are set already, as an admin should do system-wide.
    pytest.param(TRUST_ALL, None, RESTRICTED_DOTENV, NEUTRAL_ENV, True, id="trust-all-env-neutral"),
]


@pytest.mark.parametrize(("scope", "trust", "dotenv", "extra", "expected"), HEADLESS)
def test_headless_gemini_refuses_an_untrusted_folder_or_runs_the_hooks(
    gemini: Path,
    reins: Reins,
    tmp_path: Path,
    scope: str,
    trust: str | None,
    dotenv: str,
    extra: dict[str, str],
    expected: bool | int,
) -> None:
    with prepared(tmp_path, reins, trust, dotenv, scope) as machine:
        if scope != "user":
            on = {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": True}}
            machine.add_settings(machine.user_settings, {"security": on})
        since = last_seq(reins)
        with FakeGeminiShell(DENIED_TEMPLATE.format(proof=machine.proof)) as model:
            env = environment(machine, model.url, extra)
            result = headless(gemini, machine, env)
            responses = model.function_responses()
        events = hook_events(reins, since)
        if expected == UNTRUSTED_EXIT:
            assert result.returncode == UNTRUSTED_EXIT, result.describe()
            assert "not running in a trusted directory" in result.stderr
            assert not model.model_requests() and not events
            return
        assert result.returncode == 0 and len(responses) == 1, result.describe()
        assert not machine.proof.exists()
        error = responses[0]["response"].get("error", "")
        if expected:
            assert "Tool execution blocked" in error and rule_reason(DENIED_RULE) in error
            assert {"SessionStart", "UserPromptSubmit", "PreToolUse"} <= events
        else:
            assert 'Tool "run_shell_command" not found' in error and not events


def test_a_repository_cannot_switch_folder_trust_off_for_itself(
    gemini: Path, reins: Reins, tmp_path: Path
) -> None:
    # Gemini decides trust from the system, user and default settings only: a workspace
    # security.folderTrust.enabled: false does not count (doctor reads it the same way).
    with prepared(tmp_path, reins, "DO_NOT_TRUST") as machine:
        off = {"security": {"folderTrust": {"enabled": False}}}
        machine.add_settings(machine.workspace_settings, off)
        with FakeGeminiShell("true") as model:
            result = headless(gemini, machine, environment(machine, model.url, {}))
        assert result.returncode == UNTRUSTED_EXIT, result.describe()
        off["security"]["auth"] = {"selectedType": "gemini-api-key"}  # kept: a shallow merge
        machine.add_settings(machine.user_settings, off)  # the user's own file does count
        ran, result = hooks_ran(machine, gemini, "GEMINI_CLI_TRUST_WORKSPACE")
        assert ran, result.describe()


def test_a_scheduled_gemini_run_keeps_its_hooks_in_a_repository_that_untrusts_itself(
    gemini: Path, reins: Reins, tmp_path: Path
) -> None:
    # The working copy's .gemini/.env asks for restricted mode, which would make Gemini CLI
    # refuse the run (exit 55) or, on a host whose system settings switch folder trust off,
    # run it without hooks. The run sets both trust variables, so .env cannot.
    work = tmp_path / "work"
    (work / ".gemini").mkdir(parents=True)
    (work / ".gemini" / ".env").write_text(RESTRICTED_DOTENV + "GEMINI_CLI_TRUST_WORKSPACE=false\n")
    proof = tmp_path / "proof"
    spec = {"name": "nightly", "harness": "gemini", "owner": "a", "prompt": "go", "model": MODEL}
    settings = {"server_url": reins.url, "gemini_bin": str(gemini)}
    with FakeGeminiShell(DENIED_TEMPLATE.format(proof=proof)) as model:
        settings["gateway_url"] = model.url  # the run talks to it as to the Reins gateway
        call = invocation(
            Agent(spec), run_id="run_1", token=reins.developer, run_dir=tmp_path, settings=settings
        )
        env = {**call.env, "HOME": str(tmp_path / "home")}  # never the real one
        result = run(call.argv, work, env, timeout=120)
        responses = model.function_responses()
    assert result.returncode == 0, result.describe()
    assert not proof.exists() and len(responses) == 1, result.describe()
    assert "Tool execution blocked" in responses[0]["response"]["error"], responses
