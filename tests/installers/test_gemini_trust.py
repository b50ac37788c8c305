"""Gemini CLI folder trust as doctor reads it: which folders run the Reins hooks, and the fix.

The rules were read in the Gemini CLI 0.61.0 bundle and are checked against the real CLI in
``tests/e2e/test_gemini_folder_trust.py``; here they run on real files in a temporary HOME.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from installers import doctor_layers, gemini_trust

RESTRICTED = "GEMINI_RESTRICTED_MODE"
TRUST_ENV = (
    "GEMINI_RESTRICTED_MODE",
    "GEMINI_CLI_TRUST_WORKSPACE",
    "GEMINI_CLI_HOME",
    "GEMINI_CLI_TRUSTED_FOLDERS_PATH",
)


@pytest.fixture(autouse=True)
def clean_trust_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TRUST_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(home: Path) -> Path:
    return Path.cwd()


def write_json(path: Path, value: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return path


def trust(home: Path, rules: dict) -> Path:
    return write_json(home / ".gemini" / "trustedFolders.json", rules)


def decide(project: Path, environ: dict | None = None) -> gemini_trust.Trust:
    layers = doctor_layers.read_layers("gemini", project)
    return gemini_trust.decide(project, layers, {**os.environ, **(environ or {})})


@pytest.mark.parametrize(
    ("rules", "trusted"),
    [
        ({}, None),
        ({"<project>": "TRUST_FOLDER"}, True),
        ({"<project>": "DO_NOT_TRUST"}, False),
        ({"<parent>": "TRUST_FOLDER"}, True),  # a trusted folder covers its subfolders
        ({"<project>/inner": "TRUST_PARENT"}, True),  # TRUST_PARENT covers the rule's parent
        ({"<parent>": "TRUST_FOLDER", "<project>": "DO_NOT_TRUST"}, False),  # longest rule
        ({"<parent>": "DO_NOT_TRUST", "<project>": "TRUST_FOLDER"}, True),
        ({"<project>-other": "TRUST_FOLDER"}, None),  # a sibling with a longer name
    ],
)
def test_the_longest_rule_in_trusted_folders_decides(
    home: Path, project: Path, rules: dict, trusted: bool | None
) -> None:
    text = json.dumps(rules).replace("<project>", str(project))
    trust(home, json.loads(text.replace("<parent>", str(project.parent))))
    assert decide(project).trusted is trusted


def test_environment_variables_come_before_settings_and_the_trust_file(
    home: Path, project: Path
) -> None:
    trust(home, {str(project): "TRUST_FOLDER"})
    assert decide(project, {"GEMINI_CLI_TRUST_WORKSPACE": "false"}).trusted is False
    restricted = {"GEMINI_RESTRICTED_MODE": "true", "GEMINI_CLI_TRUST_WORKSPACE": "true"}
    assert decide(project, restricted).trusted is False
    trust(home, {str(project): "DO_NOT_TRUST"})
    assert decide(project, {"GEMINI_CLI_TRUST_WORKSPACE": "true"}).trusted is True
    assert decide(project, {"GEMINI_CLI_TRUST_WORKSPACE": ""}).trusted is False


def test_system_folder_trust_off_beats_the_user_and_ignores_the_workspace(
    home: Path, project: Path, tmp_path: Path
) -> None:
    trust(home, {str(project): "DO_NOT_TRUST"})
    user = write_json(home / ".gemini" / "settings.json", {"security": {"folderTrust": {}}})
    write_json(project / ".gemini" / "settings.json", {"security": {"folderTrust": {"enabled": 0}}})
    assert decide(project).trusted is False  # a repository cannot switch folder trust off
    write_json(user, {"security": {"folderTrust": {"enabled": False}}})
    assert decide(project).trusted is True
    system = tmp_path / "root" / "etc" / "gemini-cli" / "settings.json"
    write_json(system, {"security": {"folderTrust": {"enabled": True}}})
    assert decide(project).trusted is False
    write_json(system, {"security": {"folderTrust": {"enabled": False}}})
    write_json(user, {"security": {"folderTrust": {"enabled": True}}})
    assert decide(project).why == f"folder trust is off in {system} (managed)"


def test_the_trust_file_honours_gemini_cli_home_and_its_own_variable(
    home: Path, project: Path, tmp_path: Path
) -> None:
    other = tmp_path / "gemini-home"
    trust(other, {str(project): "TRUST_FOLDER"})
    assert decide(project).trusted is None
    assert decide(project, {"GEMINI_CLI_HOME": str(other)}).trusted is True
    elsewhere = write_json(tmp_path / "trust.json", {str(project): "DO_NOT_TRUST"})
    environ = {"GEMINI_CLI_HOME": str(other), "GEMINI_CLI_TRUSTED_FOLDERS_PATH": str(elsewhere)}
    assert decide(project, environ).trusted is False


def test_a_trust_file_gemini_refuses_is_named(home: Path, project: Path) -> None:
    path = trust(home, {str(project): "TRUST_ME"})
    with pytest.raises(ValueError, match="unknown trust levels") as error:
        decide(project)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    ("where", "text", "environ", "advanced", "found"),
    [
        ("<project>/.gemini/.env", "GEMINI_RESTRICTED_MODE=true\n", {}, {}, True),
        ("<project>/.env", "export GEMINI_CLI_TRUST_WORKSPACE='false'  \n", {}, {}, True),
        ("<parent>/.env", "# note\nGEMINI_RESTRICTED_MODE=true # why\n", {}, {}, True),
        ("<project>/.env", "GEMINI_RESTRICTED_MODE=false\n", {}, {}, False),
        # A variable already in the environment, even empty, wins over every .env file.
        ("<project>/.gemini/.env", "GEMINI_RESTRICTED_MODE=true\n", {RESTRICTED: ""}, {}, False),
        # excludedEnvVars and ignoreLocalEnv skip plain .env files, never .gemini/.env.
        (
            "<project>/.env",
            "GEMINI_RESTRICTED_MODE=true\n",
            {},
            {"excludedEnvVars": [RESTRICTED]},
            False,
        ),
        (
            "<project>/.gemini/.env",
            "GEMINI_RESTRICTED_MODE=true\n",
            {},
            {"excludedEnvVars": [RESTRICTED]},
            True,
        ),
        ("<project>/.env", "GEMINI_RESTRICTED_MODE=true\n", {}, {"ignoreLocalEnv": True}, False),
    ],
)
def test_a_dotenv_file_that_untrusts_a_trusted_folder(
    home: Path,
    project: Path,
    where: str,
    text: str,
    environ: dict,
    advanced: dict,
    found: bool,
) -> None:
    path = Path(where.replace("<project>", str(project)).replace("<parent>", str(project.parent)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if advanced:
        write_json(home / ".gemini" / "settings.json", {"advanced": advanced})
    layers = doctor_layers.read_layers("gemini", project)
    switch = gemini_trust.dotenv_untrusting(project, layers, {**os.environ, **environ})
    assert (switch is not None) is found
    if found:
        assert switch[0] == path


@pytest.fixture
def live(server_factory, token_factory, tmp_path: Path):
    server = server_factory(db=tmp_path / "live.db")
    return server, token_factory(server.db, "dev", "developer")


def install(reins, live: tuple, scope: str) -> None:
    server, token = live
    args = ("install", "gemini", "--scope", scope, "--server", server.url, "--token", token)
    assert reins(*args)[0] == 0


def test_doctor_fails_in_a_folder_gemini_runs_untrusted_and_names_the_fix(
    home: Path, project: Path, reins, live
) -> None:
    install(reins, live, "project")  # settings-file hooks: folder trust decides
    code, out, _ = reins("doctor", "gemini")
    assert code == 0, out  # not asked yet: a warning, the user's answer decides
    assert f"[WARN] gemini folder trust: {project} is not trusted yet" in out
    path = trust(home, {str(project): "DO_NOT_TRUST"})
    code, out, _ = reins("doctor", "gemini")
    assert code == 1
    assert (
        f"[FAIL] gemini folder trust: {path} has {project}: DO_NOT_TRUST, so Gemini CLI runs"
        f" {project} untrusted with no hooks at all, managed ones included" in out
    )
    assert "fix: trust the folder in Gemini CLI (`/permissions trust`) or in " in out
    assert "`reins install gemini --scope managed --trust-all-folders`" in out
    trust(home, {str(project): "TRUST_FOLDER"})
    code, out, _ = reins("doctor", "gemini")
    assert code == 0 and f"[  ok] gemini folder trust: {project} is trusted: {path} has" in out


def test_doctor_fails_on_a_repository_env_file_that_untrusts_the_folder(
    home: Path, project: Path, reins, live, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(reins, live, "project")
    trust(home, {str(project): "TRUST_FOLDER"})
    dotenv = project / ".gemini" / ".env"
    dotenv.write_text("GEMINI_RESTRICTED_MODE=true\n")
    code, out, _ = reins("doctor", "gemini")
    assert code == 1
    assert f"[FAIL] gemini folder trust: {dotenv} sets GEMINI_RESTRICTED_MODE=true;" in out
    assert "GEMINI_RESTRICTED_MODE= and GEMINI_CLI_TRUST_WORKSPACE= (empty" in out
    monkeypatch.setenv("GEMINI_RESTRICTED_MODE", "")  # what the fix says an admin exports
    code, out, _ = reins("doctor", "gemini")
    assert code == 0, out
    monkeypatch.setenv("GEMINI_RESTRICTED_MODE", "true")
    code, out, _ = reins("doctor", "gemini")
    assert code == 1
    assert "[FAIL] gemini folder trust: GEMINI_RESTRICTED_MODE=true in the environment" in out
    assert "fix: unset GEMINI_RESTRICTED_MODE" in out


@pytest.mark.parametrize("untrusting", ["DO_NOT_TRUST", None, "env", "dotenv"])
def test_an_untrusted_folder_is_fine_for_a_user_scope_install(
    home: Path,
    project: Path,
    reins,
    live,
    monkeypatch: pytest.MonkeyPatch,
    untrusting: str | None,
) -> None:
    # The user-scope hooks live in the Gemini extension reins, whose hooks Gemini CLI 0.61.0
    # runs in untrusted folders too (tests/e2e/test_gemini_folder_trust.py).
    install(reins, live, "user")
    if untrusting == "env":
        monkeypatch.setenv(RESTRICTED, "true")
    elif untrusting == "dotenv":
        trust(home, {str(project): "TRUST_FOLDER"})
        write_json(project / ".gemini" / "settings.json", {})
        (project / ".gemini" / ".env").write_text("GEMINI_RESTRICTED_MODE=true\n")
    elif untrusting is not None:
        trust(home, {str(project): untrusting})
    code, out, _ = reins("doctor", "gemini")
    assert code == 0, out
    lines = [line for line in out.splitlines() if "gemini folder trust:" in line]
    assert lines and all(line.startswith("[  ok]") for line in lines), out
    assert any("the Reins hooks still run, from the extension reins" in line for line in lines)
    assert "[  ok] gemini extension:" in out
