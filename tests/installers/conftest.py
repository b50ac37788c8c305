"""Fixtures for the installer tests: a throwaway HOME, the CLI run in-process, the real CLIs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from installers.cli import main

ROOT = Path(__file__).resolve().parents[2]
REAL_CLI_DIRS = [
    ROOT / "var" / "e2e-cli" / "node_modules" / ".bin",
    Path("/tmp/h5-npm/node_modules/.bin"),
]


def real_cli(name: str) -> str | None:
    """The real ``claude`` / ``codex`` installed by the e2e suite (or an exploration copy)."""
    for folder in REAL_CLI_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    return None


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh HOME with no harness CLI on PATH; the managed root is staged under it."""
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("REINS_MANAGED_ROOT", str(tmp_path / "root"))
    for name in (
        "CODEX_HOME",
        "CLAUDE_CONFIG_DIR",
        "REINS_HOME",
        "REINS_TOKEN",
        "REINS_SERVER",
        "REINS_AGENT",
        "REINS_CODEX_BIN",
        "REINS_CLAUDE_BIN",
        "REINS_GEMINI_BIN",
        "GEMINI_CLI_SYSTEM_SETTINGS_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(project)
    yield home


@pytest.fixture
def reins(capsys: pytest.CaptureFixture) -> Callable[..., tuple[int, str, str]]:
    """Run ``reins <args>`` (the installers' verbs) in-process: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """A stand-in harness CLI that only answers ``--version`` (version detection is the point)."""

    def make(harness_bin: str, version_line: str) -> Path:
        path = tmp_path / "bin" / harness_bin
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"#!/bin/sh\necho '{version_line}'\n")
        path.chmod(0o755)
        monkeypatch.setenv(f"REINS_{harness_bin.upper()}_BIN", str(path))
        return path

    return make


def install_args(harness: str, *extra: str, server: str = "http://127.0.0.1:9") -> list[str]:
    return ["install", harness, "--server", server, "--token", "tok-123", *extra]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to compare before/after byte for byte)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and os.sep + ".reins" + os.sep not in os.sep + str(p.relative_to(folder))
    }
