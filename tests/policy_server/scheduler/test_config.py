"""Scheduler settings: precedence and errors that name the setting, the value and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from policy_server.config import ConfigError
from policy_server.scheduler.config import load


def test_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "reins.yaml"
    config.write_text("scheduler:\n  tick: 30\n  server_url: http://reins.internal:8700\n")
    values = load({"tick": None}, str(config), environ={})
    assert values["tick"] == 30.0 and values["server_url"] == "http://reins.internal:8700"
    assert load({}, str(config), environ={"REINS_SCHEDULER_TICK": "5"})["tick"] == 5.0
    assert load({"tick": 1}, str(config), environ={"REINS_SCHEDULER_TICK": "5"})["tick"] == 1.0
    assert load({}, None, environ={})["runs_dir"] == "var/runs"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("scheduler:\n  tick: soon\n", "Config 'scheduler.tick' has value 'soon'"),
        ("scheduler:\n  server_url: reins:8700\n", "not an http:// or https:// URL"),
        ("scheduler:\n  tik: 3\n", "unknown scheduler setting(s) ['tik']"),
        ("scheduler: 5\n", "must be a mapping"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, words: str) -> None:
    config = tmp_path / "reins.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=None) as caught:
        load({}, str(config), environ={})
    assert words in str(caught.value)


def test_the_command_reports_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reins.cli",
            "scheduler",
            "--once",
            "--db",
            str(tmp_path / "r.db"),
            "--server-url",
            "ftp://x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("reins: Config 'scheduler.server_url' has value 'ftp://x'")
