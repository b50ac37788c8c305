"""Working copies: a fresh clone per run (real git), or the agent's own directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from policy_server.registry.agent import Agent
from policy_server.scheduler.workspace import WorkspaceError, prepare


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    (repo / "svc").mkdir(parents=True)
    (repo / "svc" / "app.py").write_text("print('hi')\n")
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "."],
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init"],
    ):
        subprocess.run(command, cwd=repo, check=True)
    return repo


def agent(**fields: object) -> Agent:
    return Agent({"name": "bot", "harness": "codex", "owner": "a", **fields})


def test_each_run_gets_its_own_clone(tmp_path: Path, repository: Path) -> None:
    first = prepare(agent(repository=str(repository), working_directory="svc"), tmp_path / "run_1")
    second = prepare(agent(repository=str(repository), working_directory="svc"), tmp_path / "run_2")
    assert first == tmp_path / "run_1" / "work" / "svc" and (first / "app.py").is_file()
    (first / "app.py").write_text("changed")
    assert (second / "app.py").read_text() == "print('hi')\n"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"repository": "/nonexistent/repo"}, "cannot clone /nonexistent/repo"),
        ({"working_directory": "/nonexistent/dir"}, "does not exist on this host"),
    ],
)
def test_failures_say_why(tmp_path: Path, fields: dict, words: str) -> None:
    with pytest.raises(WorkspaceError, match=words):
        prepare(agent(**fields), tmp_path / "run")


def test_a_directory_outside_the_clone_is_refused(tmp_path: Path, repository: Path) -> None:
    with pytest.raises(WorkspaceError, match="is not a directory of"):
        prepare(agent(repository=str(repository), working_directory="nope"), tmp_path / "run")


@pytest.mark.parametrize(
    "settings, words",
    [
        ('{"hooksConfig": {"enabled": false}}', "hooksConfig.enabled to False"),
        ('{"hooksConfig": {"enabled": "false"}}', "hooksConfig.enabled to 'false'"),
        ('{"hooksConfig": {"enabled": 0}}', "hooksConfig.enabled to 0"),
        ('{"hooksConfig": false}', "hooksConfig to False"),
        ('{"hooks": null}', "hooks to null"),
        ('{"hooks": []}', "hooks to []"),
        ('{"hooks": {"BeforeTool": null}}', 'hooks to {"BeforeTool": null}'),
        ('// comments are JSONC\n{"hooks": {}}', "cannot be checked"),
    ],
)
def test_gemini_settings_that_switch_hooks_off_refuse_the_run(
    tmp_path: Path, settings: str, words: str
) -> None:
    (tmp_path / ".gemini").mkdir()
    (tmp_path / ".gemini" / "settings.json").write_text(settings)
    gemini = agent(harness="gemini", working_directory=str(tmp_path))
    with pytest.raises(WorkspaceError, match=r"\.gemini/settings\.json") as refused:
        prepare(gemini, tmp_path / "run")
    assert words in str(refused.value) and "Reins hooks" in str(refused.value)
    codex = agent(working_directory=str(tmp_path))  # other harnesses never read it
    assert prepare(codex, tmp_path / "run") == tmp_path


@pytest.mark.parametrize(
    "settings",
    [
        '{"hooksConfig": {"enabled": true, "disabled": ["reins"]}}',  # cannot name a run's hooks
        '{"hooks": {"BeforeTool": [{"hooks": []}]}, "model": {"name": "x"}}',
        "[]",  # not an object: Gemini CLI ignores it
    ],
)
def test_gemini_settings_that_keep_the_hooks_are_accepted(tmp_path: Path, settings: str) -> None:
    (tmp_path / ".gemini").mkdir()
    (tmp_path / ".gemini" / "settings.json").write_text(settings)
    gemini = agent(harness="gemini", working_directory=str(tmp_path))
    assert prepare(gemini, tmp_path / "run") == tmp_path
