"""Working copies: a fresh clone per run (real git), or the agent's own directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from policy_server.registry.agent import Agent
from policy_server.scheduler.workspace import WorkspaceError, codex_requirements_path, prepare


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


def stage_codex_requirements(monkeypatch, tmp_path: Path, text: str) -> Path:
    """``/etc/codex/requirements.toml`` below a staging root, as ``REINS_MANAGED_ROOT`` says."""
    path = tmp_path / "root" / "etc" / "codex" / "requirements.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    monkeypatch.setenv("REINS_MANAGED_ROOT", str(tmp_path / "root"))
    return path


@pytest.mark.parametrize(
    "text",
    [
        "allow_managed_hooks_only = true\n",
        "allow_managed_hooks_only = true\n[features]\nhooks = true\n",  # the pin does not help
    ],
)
def test_a_codex_run_is_refused_where_codex_runs_only_managed_hooks(
    monkeypatch, tmp_path: Path, text: str
) -> None:
    path = stage_codex_requirements(monkeypatch, tmp_path, text)
    codex = agent(working_directory=str(tmp_path))
    with pytest.raises(WorkspaceError) as refused:
        prepare(codex, tmp_path / "run")
    assert str(refused.value).startswith(
        f"this host's {path} sets allow_managed_hooks_only = true, so Codex would skip this run's"
        " own Reins hooks"
    )
    assert "fix: remove that line" in str(refused.value)
    # Only Codex reads that file: other harnesses run as before.
    for harness in ("claude-code", "gemini"):
        assert (
            prepare(agent(harness=harness, working_directory=str(tmp_path)), tmp_path) == tmp_path
        )


@pytest.mark.parametrize(
    "text",
    [
        "allow_managed_hooks_only = false\n",
        "[features]\nhooks = true\n",
        "[hooks]\nallow_managed_hooks_only = true\n",  # not the top-level key Codex reads
        None,  # no requirements file at all
    ],
)
def test_a_codex_run_goes_ahead_where_codex_runs_its_hooks(
    monkeypatch, tmp_path: Path, text: str | None
) -> None:
    path = stage_codex_requirements(monkeypatch, tmp_path, text or "")
    if text is None:
        path.unlink()
    assert prepare(agent(working_directory=str(tmp_path)), tmp_path / "run") == tmp_path


def test_codex_requirements_that_cannot_be_read_refuse_the_run(monkeypatch, tmp_path) -> None:
    path = stage_codex_requirements(monkeypatch, tmp_path, "allow_managed_hooks_only = \n")
    with pytest.raises(WorkspaceError, match="cannot be checked") as refused:
        prepare(agent(working_directory=str(tmp_path)), tmp_path / "run")
    assert str(path) in str(refused.value) and "readable TOML" in str(refused.value)


def test_without_a_staging_root_the_check_reads_the_real_etc(monkeypatch) -> None:
    monkeypatch.delenv("REINS_MANAGED_ROOT", raising=False)
    assert codex_requirements_path() == Path("/etc/codex/requirements.toml")
