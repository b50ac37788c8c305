"""The installers run on the hook client's oldest Python (3.9) with only tomlkit besides stdlib."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import tomlkit

from tests.installers.conftest import snapshot
from tests.policy_server.engine.test_python39 import python39

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(tomlkit.__file__).resolve().parents[1]  # tomlkit only: no other third-party package


@pytest.mark.skipif(python39() is None, reason="no Python 3.9 interpreter on this machine")
def test_install_and_uninstall_every_harness_on_python_39(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text('# mine\nmodel = "o3"\n')
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text('{"model": "opus"}\n')
    before = snapshot(home)
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path / "site")]),
    }
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "tomlkit").symlink_to(SITE / "tomlkit")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [python39(), "-m", "installers", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for harness in ("claude-code", "codex", "gemini"):
        out = run(
            "install",
            harness,
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "--gateway",
            "http://127.0.0.1:8787",
        )
        assert out.returncode == 0, out.stderr
    config = (home / ".reins" / "config.json").read_text()
    assert "/3.9" in config  # the hook runs with the interpreter that installed it
    doctor = run("doctor")
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
    assert "[FAIL] server: http://127.0.0.1:9 unreachable" in doctor.stdout
    out = run("uninstall", "--all")
    assert out.returncode == 0, out.stderr
    assert snapshot(home) == before
