"""What switches the Gemini extension ``reins`` off in the real Gemini CLI 0.61.0?

``reins install gemini`` (user scope) writes the Reins hooks as the extension ``reins``
(``~/.gemini/extensions/reins/``), whose hooks run in folders Gemini CLI does not trust
(``test_gemini_folder_trust.py``). Read in the bundle (``packages/cli/src/config/
extension-manager.ts``, ``extensions/extensionEnablement.ts``) and shown here, each case with
a command the default policy denies (``hooks_ran``) and ``reins doctor gemini``:

- ``gemini extensions disable reins`` (the user's ``extension-enablement.json``) switches it off
  below the home folder, with ``--scope workspace`` in that folder and below;
- a trusted repository's ``.gemini/.env`` setting ``GEMINI_CLI_HOME`` moves the folder Gemini
  looks for extensions in (it reads it after loading ``.env``), so the hooks are gone, unless the
  variable is already set (even empty, as an admin can export it system-wide);
- a non-empty ``security.allowedExtensions`` makes Gemini CLI refuse to start, as the extension
  has no install metadata (fails closed: no tool runs without the hooks);
- ``extensions.disabled`` in the settings is not read by this Gemini CLI;
- a reinstall over an install that had the hooks in ``settings.json`` takes them out there, so
  each event reaches Reins once.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import DENIED_TEMPLATE, Reins
from .test_gemini_hooks_tamper import FakeGeminiShell, Machine, hooks_ran, install, staged

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def reins(module_reins: Reins) -> Reins:
    return module_reins


@pytest.fixture
def machine(tmp_path: Path, reins: Reins) -> Iterator[Machine]:
    with staged(tmp_path, "user") as machine:
        install(machine, (reins.url, reins.developer))
        yield machine


def doctor(machine: Machine, *levels: str) -> list[str]:
    """The lines of ``reins doctor gemini`` at ``levels`` about the extension or hooks."""
    out = machine.reins("doctor", "gemini").stdout
    names = ("gemini extension:", "gemini hooks off:")
    return [
        line
        for line in out.splitlines()
        if any(line.startswith(f"[{level:>4}]") for level in levels)
        and any(name in line for name in names)
    ]


def gemini_cli(binary: Path, machine: Machine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args],
        cwd=machine.project,
        env=machine.env(NO_COLOR="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_gemini_extensions_disable_switches_the_hooks_off_and_doctor_says_so(
    gemini: Path, machine: Machine
) -> None:
    # The user scope disables it below the home folder only: this project lies outside it.
    done = gemini_cli(gemini, machine, "extensions", "disable", "reins")
    assert done.returncode == 0, done.stderr
    enablement = machine.home / ".gemini" / "extensions" / "extension-enablement.json"
    assert json.loads(enablement.read_text())["reins"]["overrides"] == [f"!{machine.home}/*"]
    assert hooks_ran(machine, gemini)[0]
    assert doctor(machine, "FAIL", "WARN") == []
    done = gemini_cli(gemini, machine, "extensions", "disable", "reins", "--scope", "workspace")
    assert done.returncode == 0, done.stderr
    ran, result = hooks_ran(machine, gemini)
    assert not ran, result.describe()
    flagged = doctor(machine, "FAIL")
    assert any("gemini extensions disable reins" in line for line in flagged), flagged
    machine.proof.unlink()
    done = gemini_cli(gemini, machine, "extensions", "enable", "reins", "--scope", "workspace")
    assert done.returncode == 0, done.stderr
    assert hooks_ran(machine, gemini)[0]
    assert doctor(machine, "FAIL", "WARN") == []


def test_a_repository_env_file_that_moves_gemini_cli_home_hides_the_extension(
    gemini: Path, machine: Machine
) -> None:
    dotenv = machine.project / ".gemini" / ".env"
    dotenv.parent.mkdir()
    dotenv.write_text(f"GEMINI_CLI_HOME={machine.project}\n")
    ran, result = hooks_ran(machine, gemini)
    assert not ran, result.describe()
    flagged = doctor(machine, "FAIL")
    assert any(f"{dotenv} sets GEMINI_CLI_HOME=" in line for line in flagged), flagged
    machine.proof.unlink()
    ran, result = hooks_ran(machine, gemini, GEMINI_CLI_HOME="")  # set already: .env cannot
    assert ran, result.describe()


def test_an_extension_allow_list_makes_gemini_refuse_to_start(
    gemini: Path, machine: Machine
) -> None:
    machine.add_settings(machine.workspace_settings, {"security": {"allowedExtensions": ["^x$"]}})
    with FakeGeminiShell(DENIED_TEMPLATE.format(proof=machine.proof)) as model:
        result = machine.gemini(gemini, model.url)
        assert not model.model_requests()
    assert result.returncode != 0, result.describe()
    assert ".gemini-extension-install.json file is missing" in result.stderr
    flagged = doctor(machine, "WARN")
    assert any("Gemini CLI refuses to start" in line for line in flagged), flagged


def test_extensions_disabled_in_the_settings_is_not_read(gemini: Path, machine: Machine) -> None:
    machine.add_settings(machine.workspace_settings, {"extensions": {"disabled": ["reins"]}})
    machine.add_settings(machine.user_settings, {"extensions": {"disabled": ["reins"]}})
    ran, result = hooks_ran(machine, gemini)
    assert ran, result.describe()
    assert doctor(machine, "FAIL", "WARN") == []


def test_a_reinstall_over_hooks_in_settings_json_leaves_one_set(
    gemini: Path, reins: Reins, machine: Machine
) -> None:
    # As an older Reins installed it: the same hooks, named "reins", in the user's settings.
    hooks = json.loads(machine.extension_hooks.read_text())["hooks"]
    for groups in hooks.values():
        groups[0]["hooks"][0]["name"] = "reins"
    machine.add_settings(machine.user_settings, {"hooks": hooks})
    done = machine.reins("install", "gemini", "--server", reins.url, "--token", reins.developer)
    assert done.returncode == 0, done.stderr
    assert "moved the Reins hooks out of" in done.stdout
    assert "hooks" not in json.loads(machine.user_settings.read_text())
    before = max((row["seq"] for row in reins.audit()), default=0)
    ran, result = hooks_ran(machine, gemini)
    assert ran, result.describe()
    tools = [r for r in reins.audit() if r["seq"] > before and r["hook_event"] == "PreToolUse"]
    assert len(tools) == 1, tools  # once, from the extension
