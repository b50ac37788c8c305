"""``install_client``: the hook client's files under REINS_HOME, and the interpreter it runs with."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from installers.client_files import (
    InstallError,
    client_sources,
    hook_command,
    install_client,
    resolve_python,
)

ROOT = Path(__file__).resolve().parents[2]


def test_layout_modes_and_config(tmp_path: Path) -> None:
    home = tmp_path / "reins"
    install_client(home, server="http://r:8700/", token="tok-1", agent="ci", fail_mode="closed")
    assert (home / "lib" / "reins_hook.py").read_bytes() == (
        ROOT / "hooks" / "reins_hook.py"
    ).read_bytes()
    assert b"from reins_hook import main" in (home / "reins_hook.py").read_bytes()  # the launcher
    engine = sorted(p.name for p in (home / "lib" / "reins_engine").glob("*.py"))
    assert engine == sorted(p.name for p in (ROOT / "policy_server" / "engine").glob("*.py"))
    assert stat.S_IMODE((home / "token").stat().st_mode) == 0o600
    assert (home / "token").read_text() == "tok-1\n"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "spool").stat().st_mode) == 0o700
    config = json.loads((home / "config.json").read_text())
    assert config["server"] == "http://r:8700"
    assert config["token_file"] == str(home.resolve() / "token")
    assert (config["agent"], config["fail_mode"]) == ("ci", "closed")
    assert "tok-1" not in (home / "config.json").read_text()


def test_twice_is_once_and_user_config_keys_survive(tmp_path: Path) -> None:
    home = tmp_path / "reins"
    install_client(home, server="http://r:1", token="t")
    config = json.loads((home / "config.json").read_text())
    config["timeout"] = 1.5  # tuned by the user
    (home / "config.json").write_text(json.dumps(config))
    (home / "lib" / "reins_engine" / "gone.py").write_text("# from an older release\n")
    install_client(home, server="http://r:1", token="t")
    stamps = {p: p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file()}
    install_client(home, server="http://r:1", token="t")
    assert stamps == {p: p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file()}
    assert json.loads((home / "config.json").read_text())["timeout"] == 1.5
    assert "fail_mode" not in json.loads((home / "config.json").read_text())
    assert not (home / "lib" / "reins_engine" / "gone.py").exists()


def test_installed_hook_answers_a_payload(tmp_path: Path) -> None:
    home = tmp_path / "reins"
    install_client(home, server="http://127.0.0.1:9", token="t", fail_mode="open")
    payload = {
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
    }
    out = subprocess.run(
        hook_command(home, "claude-code", resolve_python()),
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env={"REINS_HOME": str(home), "HOME": str(tmp_path)},
        timeout=60,
    )
    assert out.returncode == 0
    assert isinstance(json.loads(out.stdout), dict)


def test_a_version_manager_shim_is_resolved_to_the_real_binary(tmp_path: Path) -> None:
    real = os.path.realpath(sys.executable)
    shim = tmp_path / "shims" / "python3"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    assert resolve_python(str(shim)) == real
    link = tmp_path / "python-link"
    link.symlink_to(real)
    assert resolve_python(str(link)) == real


def test_bad_interpreters_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="not found"):
        resolve_python(str(tmp_path / "nope"))
    old = tmp_path / "python-old"
    old.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "print(\'{tmp_path}\'); print(False)"\n')
    old.chmod(0o755)
    with pytest.raises(InstallError, match=r"older than Python 3\.9"):
        resolve_python(str(old))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"server": "r:8700", "token": "t"}, "http:// or https://"),
        ({"server": "http://r", "token": " "}, "non-empty"),
        ({"server": "http://r", "token": "t", "fail_mode": "maybe"}, "open, closed"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(InstallError, match=message):
        install_client(tmp_path / "reins", **kwargs)
    assert not (tmp_path / "reins").exists()


def test_sources_are_read_from_a_zipapp(tmp_path: Path) -> None:
    """The one-line installer ships the installers in a zip: the hook sources come from it too."""
    archive = tmp_path / "reins-installer.pyz"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted((ROOT / "installers").glob("*.py")):
            zipped.write(path, f"installers/{path.name}")
        zipped.write(ROOT / "hooks" / "reins_hook.py", "hooks/reins_hook.py")
        for path in sorted((ROOT / "policy_server" / "engine").glob("*.py")):
            zipped.write(path, f"policy_server/engine/{path.name}")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from installers.client_files import client_sources;"
        "print(' '.join(sorted(client_sources())))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", script, str(archive)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == sorted(client_sources())
