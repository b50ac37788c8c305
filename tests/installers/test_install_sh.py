"""The one-line installer for real: ``curl -fsSL SERVER/install.sh | sh -s -- --token T`` in a fresh
HOME against a live ``reins serve``, with curl and Python 3.9 (behind a version-manager-style
shim) as the only tools on PATH besides the POSIX basics."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
PY39 = Path("/root/.pyenv/versions/3.9.18/bin/python3.9")
PY38 = Path("/root/.pyenv/versions/3.8.18/bin/python3.8")
TEMPLATE = ROOT / "installers" / "install.sh"
needs_py39 = pytest.mark.skipif(not PY39.exists(), reason=f"{PY39} is not installed")
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def shim(bin_dir: Path, name: str, target: Path) -> Path:
    """A pyenv-like shim: a script that execs the real interpreter."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
    path.chmod(0o755)
    return path


def basic_path(tmp_path: Path, pythons: dict[str, Path]) -> str:
    """PATH with only sh basics, curl and the given interpreters (no system python3)."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("sh", "mkdir", "chmod", "mv", "rm", "cat", "curl", "env"):
        found = shutil.which(tool)
        if found and not (tools / tool).exists():
            (tools / tool).symlink_to(found)
    shims = tmp_path / "shims"
    for name, target in pythons.items():
        shim(shims, name, target)
    return f"{shims}:{tools}"


def run_sh(script: str, args: list[str], home: Path, path: str) -> subprocess.CompletedProcess:
    # Only names on PATH: the absolute fallbacks (/usr/bin/python3, ...) exist on this machine.
    search = "python3 python3.13 python3.12 python3.11 python3.10 python3.9 python"
    env = {"HOME": str(home), "PATH": path, "LANG": "C.UTF-8", "REINS_PYTHON_SEARCH": search}
    return subprocess.run(
        ["/bin/sh", "-s", "--", *args],
        input=script,
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=180,
    )


def run_offline(tmp_path: Path, pythons: dict[str, Path]) -> subprocess.CompletedProcess:
    """The repo's script in a fresh HOME, told of a server that is not there (port 9)."""
    home = tmp_path / "home"
    home.mkdir()
    args = ["--server", "http://127.0.0.1:9", "--token", "t"]
    return run_sh(TEMPLATE.read_text(), args, home, basic_path(tmp_path, pythons))


@dataclass
class Served:
    """A live server, dana's token and the script it serves, for a fresh HOME where Claude Code
    has been used, with Python 3.9 behind a shim as the only interpreter on PATH."""

    server: LiveServer
    token: str
    script: str
    home: Path
    path: str

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return run_sh(self.script, list(args), self.home, self.path)


@pytest.fixture
def served(tmp_path: Path, server_factory, token_factory) -> Served:
    server = server_factory()
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    script = subprocess.run(  # fetched as the one-liner fetches it
        ["curl", "-fsSL", f"{server.url}/install.sh"], capture_output=True, text=True, check=True
    ).stdout
    token = token_factory(server.db, "dana", "developer")
    return Served(server, token, script, home, basic_path(tmp_path, {"python3": PY39}))


@needs_py39
@needs_curl
def test_one_liner_in_a_fresh_home_gives_a_working_setup(
    tmp_path: Path, served: Served, token_factory
) -> None:
    server, token, home, path = served.server, served.token, served.home, served.path

    done = served.run("--token", token, "--agent", "laptop")

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert token not in output
    assert f"using Python 3.9.18 at {PY39}" in output  # the binary, not the shim
    assert "claude-code:" in output
    reins = home / ".reins"
    config = json.loads((reins / "config.json").read_text())
    assert config["server"] == server.url and config["agent"] == "laptop"
    assert config["python"] == str(PY39)
    assert (reins / "token").read_text().strip() == token
    assert stat.S_IMODE((reins / "token").stat().st_mode) == 0o600
    assert (reins / "lib/reins_hook.py").read_bytes() == (ROOT / "hooks/reins_hook.py").read_bytes()
    assert (reins / "reins-installer.pyz").is_file()
    settings = (home / ".claude" / "settings.json").read_text()
    assert str(PY39) in settings and str(reins / "reins_hook.py") in settings
    assert str(tmp_path / "shims") not in settings

    # The installed hook, run the way Claude Code runs it, gets the server's deny.
    payload = {
        "session_id": "s-one-liner",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "rm -rf ~"},
        "cwd": str(home),
    }
    hook = subprocess.run(
        [str(PY39), "-I", "-S", str(reins / "reins_hook.py"), "claude-code"],
        input=json.dumps(payload),
        env={"HOME": str(home), "PATH": path},
        capture_output=True,
        text=True,
        timeout=30,
    )
    answer = json.loads(hook.stdout)
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny", hook.stdout
    audit = requests.get(
        f"{server.url}/v1/audit",
        params={"session": "s-one-liner"},
        headers={"Authorization": f"Bearer {token_factory(server.db, 'ada', 'auditor')}"},
        timeout=10,
    )
    assert audit.status_code == 200 and "s-one-liner" in audit.text


@needs_py39
@needs_curl
def test_client_only_lays_out_the_client_and_touches_no_harness(served: Served) -> None:
    done = served.run("--token", served.token, "--client-only", "--fail-mode", "closed")

    assert done.returncode == 0, done.stdout + done.stderr
    home = served.home
    config = json.loads((home / ".reins" / "config.json").read_text())
    assert config["fail_mode"] == "closed" and config["server"] == served.server.url
    assert (home / ".reins" / "lib" / "reins_engine" / "evaluator.py").is_file()
    assert not (home / ".claude" / "settings.json").exists()


def test_no_python_at_all_is_a_clear_error(tmp_path: Path) -> None:
    done = run_offline(tmp_path, {})
    assert done.returncode == 1
    assert "python3 (3.9 or newer) was not found on PATH" in done.stderr
    assert "--python" in done.stderr


@pytest.mark.skipif(not PY38.exists(), reason=f"{PY38} is not installed")
def test_only_an_old_python_names_it_and_the_fix(tmp_path: Path) -> None:
    done = run_offline(tmp_path, {"python3": PY38})
    assert done.returncode == 1
    assert "Python 3.9 or newer is needed; found only: python3 (3.8.18" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "http://127.0.0.1:9"], "no token: pass --token TOKEN"),
        (["--token", "t"], "no server URL: pass --server"),
        (
            ["--server", "http://127.0.0.1:9", "--token", "t", "--fail-mode", "shut"],
            "open or closed",
        ),
        (["--server", "http://127.0.0.1:9", "--token"], "--token needs a value"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_sh(TEMPLATE.read_text(), args, tmp_path, os.environ["PATH"])
    assert done.returncode == 1 and message in done.stderr


@needs_py39
@needs_curl
def test_unreachable_server_says_so(tmp_path: Path) -> None:
    done = run_offline(tmp_path, {"python3": PY39})
    assert done.returncode == 1
    assert "could not download the installer from http://127.0.0.1:9" in done.stderr
    assert not list((tmp_path / "home" / ".reins").glob("*.part.*"))


@needs_py39
@needs_curl
def test_other_options_reach_the_installer_unchanged(served: Served) -> None:
    """``--mode=http`` is not the script's own option: it is passed on to ``install``."""
    done = served.run("--mode=http", "--token", served.token, "--fail-mode", "closed")

    assert done.returncode == 0, done.stdout + done.stderr
    home = served.home
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    handlers = [h for groups in settings["hooks"].values() for g in groups for h in g["hooks"]]
    assert f"{served.server.url}/v1/hooks/claude-code" in {h.get("url") for h in handlers}
    assert json.loads((home / ".reins" / "config.json").read_text())["fail_mode"] == "closed"
