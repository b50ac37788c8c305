"""The verbs themselves: ``--all``, argument errors, and ``reins`` dispatching to them."""

from __future__ import annotations

import json
from pathlib import Path

from reins.cli import main as reins_main
from tests.installers.conftest import install_args, snapshot


def test_all_installs_every_harness_found_and_uninstall_all_restores(home: Path, reins) -> None:
    (home / ".claude").mkdir()
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text("# mine\n")
    before = snapshot(home)
    code, out, _ = reins("install", "--all", "--server", "http://127.0.0.1:9", "--token", "t")
    assert code == 0
    assert "claude-code:" in out and "codex:" in out and "gemini:" not in out
    assert (home / ".claude" / "settings.json").is_file() and (
        home / ".codex" / "hooks.json"
    ).is_file()
    assert reins("uninstall", "--all")[0] == 0
    assert snapshot(home) == before


def test_token_and_server_from_the_environment(home: Path, reins, monkeypatch) -> None:
    """The one-line installer passes the token in the environment, not on the command line."""
    monkeypatch.setenv("REINS_SERVER", "http://127.0.0.1:9")
    monkeypatch.setenv("REINS_TOKEN", "from-env")
    code, _, err = reins("install", "gemini")
    assert code == 0, err
    assert (home / ".reins" / "token").read_text() == "from-env\n"


def test_argument_errors_are_one_clear_line(home: Path, reins) -> None:
    code, _, err = reins("install", "--server", "http://x:1", "--token", "t")
    assert code == 2 and "name a harness (claude-code, codex, gemini) or pass --all" in err
    code, _, err = reins("install", "codex", "--token", "t")
    assert code == 2 and "--server and --token are required" in err
    code, _, err = reins("install", "--all", "--server", "http://x:1", "--token", "t")
    assert code == 2 and "no harness found" in err
    code, _, err = reins("uninstall", "codex")
    assert code == 2 and "Reins is not installed for codex (user scope)" in err
    assert "Traceback" not in err


def test_reins_dispatches_to_the_installers(home: Path, capsys) -> None:
    assert reins_main(install_args("claude-code")) == 0
    assert json.loads((home / ".claude" / "settings.json").read_text())["hooks"]
    assert reins_main(["uninstall", "claude-code"]) == 0
    assert "removed" in capsys.readouterr().out
    assert not (home / ".claude").exists()
