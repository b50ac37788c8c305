"""``reins install gemini`` (user scope) as the Gemini extension ``reins``, and doctor reading it.

What Gemini CLI 0.61.0 does with an extension was read in its bundle and is shown with the real
CLI in ``tests/e2e/test_gemini_extension.py`` and ``tests/e2e/test_gemini_folder_trust.py``;
here the installer and doctor run on real files in a temporary HOME (doctor against a real
``reins serve``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installers import gemini, gemini_extension
from tests.installers.conftest import install_args, snapshot

OLD_USER_HOOK = {"type": "command", "name": "mine", "command": "/usr/local/bin/my-hook"}


@pytest.fixture(autouse=True)
def no_gemini_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI_CLI_HOME", "GEMINI_RESTRICTED_MODE", "GEMINI_CLI_TRUST_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def live(server_factory, token_factory, tmp_path: Path):
    server = server_factory(db=tmp_path / "live.db")
    return ("--server", server.url, "--token", token_factory(server.db, "dev", "developer"))


def extension(home: Path) -> Path:
    return home / ".gemini" / "extensions" / "reins"


def hooks_of(home: Path) -> dict:
    return json.loads((extension(home) / "hooks" / "hooks.json").read_text())["hooks"]


def test_user_scope_writes_the_extension_and_no_settings_file(home: Path, reins) -> None:
    code, out, _ = reins(*install_args("gemini"))
    assert code == 0, out
    manifest = json.loads((extension(home) / "gemini-extension.json").read_text())
    assert manifest["name"] == "reins" and manifest["version"]
    hooks = hooks_of(home)
    assert sorted(hooks) == sorted(gemini.EVENTS)
    names = {h["name"] for groups in hooks.values() for h in groups[0]["hooks"]}
    (name,) = names  # one name a repository cannot guess, kept across reinstalls
    assert name.startswith("reins-") and len(name) == len("reins-") + 16
    assert not (home / ".gemini" / "settings.json").exists()
    before = snapshot(home)
    assert reins(*install_args("gemini"))[0] == 0
    assert snapshot(home) == before
    assert f"configured {extension(home) / 'hooks' / 'hooks.json'}" in out


def test_gemini_cli_home_is_where_the_extension_goes(
    home: Path, tmp_path: Path, reins, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "gemini-home"))
    assert reins(*install_args("gemini"))[0] == 0
    assert hooks_of(tmp_path / "gemini-home")["BeforeTool"]
    assert not extension(home).exists()
    assert reins("uninstall", "gemini")[0] == 0
    assert not (tmp_path / "gemini-home" / ".gemini").exists()


def old_install(monkeypatch: pytest.MonkeyPatch, reins) -> None:
    """An install as Reins did it before the extension: the hooks in the user's settings.json."""
    with monkeypatch.context() as patch:
        patch.setattr(
            gemini,
            "plan",
            lambda options, extra, python: [
                gemini._settings_edit(options, extra, gemini.groups(options, python, "reins"))
            ],
        )
        assert reins(*install_args("gemini"))[0] == 0


def test_reinstall_moves_the_hooks_out_of_settings_and_keeps_the_users_own(
    home: Path, reins, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir()
    mine = {"ui": {"theme": "GitHub"}, "hooks": {"BeforeTool": [{"hooks": [OLD_USER_HOOK]}]}}
    settings.write_text(json.dumps(mine, indent=4) + "\n")
    before = snapshot(home)
    old_install(monkeypatch, reins)
    assert len(json.loads(settings.read_text())["hooks"]["BeforeTool"]) == 2
    code, out, _ = reins(*install_args("gemini"))
    assert code == 0
    assert f"moved the Reins hooks out of {settings} into the Gemini extension 'reins'" in out
    assert json.loads(settings.read_text()) == mine  # only Reins' taken out: no hook runs twice
    assert hooks_of(home)["BeforeTool"]
    code, out, _ = reins(*install_args("gemini"))
    assert code == 0 and "moved the Reins hooks" not in out  # said once
    assert reins("uninstall", "gemini")[0] == 0
    assert snapshot(home) == before


def test_uninstall_removes_only_the_reins_extension(home: Path, reins) -> None:
    extensions = home / ".gemini" / "extensions"
    other = extensions / "other"
    other.mkdir(parents=True)
    (other / "gemini-extension.json").write_text('{"name": "other", "version": "1.0.0"}')
    (extensions / "extension-enablement.json").write_text('{"other": {"overrides": ["/x/*"]}}')
    before = snapshot(home)
    assert reins(*install_args("gemini"))[0] == 0
    hooks_file = extension(home) / "hooks" / "hooks.json"
    hooks_file.write_text(hooks_file.read_text().replace("10000", "20000"))  # edited since
    code, out, _ = reins("uninstall", "gemini")
    assert code == 0 and f"removed {hooks_file} (Reins created it)" in out
    assert snapshot(home) == before
    assert not extension(home).exists() and other.is_dir()


def test_gateway_still_goes_to_the_users_settings_and_dotenv(home: Path, reins) -> None:
    assert reins(*install_args("gemini", "--gateway", "http://127.0.0.1:8787"))[0] == 0
    settings = json.loads((home / ".gemini" / "settings.json").read_text())
    assert settings == {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    assert "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8787" in (home / ".gemini" / ".env").read_text()
    assert hooks_of(home)["BeforeTool"]
    assert reins("uninstall", "gemini")[0] == 0
    assert not (home / ".gemini").exists()


@pytest.mark.parametrize(
    ("rules", "disabled_by"),
    [
        ([], None),
        (["!<home>/*"], "!<home>/*"),  # `gemini extensions disable reins` (user scope)
        (["!<project>/*"], "!<project>/*"),  # ... --scope workspace
        (["!<project>"], None),  # without * only that folder (with a trailing slash) counts
        (["!<project>/"], "!<project>/"),
        (["!<home>/*", "<project>/*"], None),  # the last matching rule wins
        (["<project>/*", "!<home>/*"], "!<home>/*"),
        (["!/elsewhere/*"], None),
    ],
)
def test_disabling_rule_reads_extension_enablement_as_gemini_does(
    tmp_path: Path, rules: list[str], disabled_by: str | None
) -> None:
    home, project = tmp_path / "h", tmp_path / "h" / "work" / "app"
    filled = [
        rule.replace("<home>", str(home)).replace("<project>", str(project)) for rule in rules
    ]
    path = home / ".gemini" / "extensions" / "extension-enablement.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"reins": {"overrides": filled}, "other": {"overrides": []}}))
    found = gemini_extension.disabling_rule(project, {"GEMINI_CLI_HOME": str(home)})
    if disabled_by is None:
        assert found is None
    else:
        expected = disabled_by.replace("<home>", str(home)).replace("<project>", str(project))
        assert found == (path, expected)


def test_an_unreadable_enablement_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / ".gemini" / "extensions" / "extension-enablement.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"reins": {"overrides": "!/*"}}')
    with pytest.raises(ValueError, match=r"reins\.overrides is not a list of strings"):
        gemini_extension.disabling_rule(tmp_path, {"GEMINI_CLI_HOME": str(tmp_path)})


def doctor_lines(reins, level: str) -> tuple[int, list[str]]:
    code, out, _ = reins("doctor", "gemini")
    return code, [line for line in out.splitlines() if line.startswith(f"[{level:>4}] gemini")]


def test_doctor_passes_a_healthy_extension_install(home: Path, reins, live) -> None:
    assert reins("install", "gemini", *live)[0] == 0
    code, out, _ = reins("doctor", "gemini")
    assert code == 0, out
    assert f"[  ok] gemini extension: {extension(home)}: Gemini CLI runs its hooks here" in out
    assert "[  ok] gemini extension: " in out and "5 Reins hooks" in out
    assert "[  ok] gemini event: synthetic PreToolUse answered" in out


def gemini_settings(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


BREAKAGES = {
    "missing": lambda home, project: (extension(home) / "hooks" / "hooks.json").unlink(),
    "altered": lambda home, project: (extension(home) / "gemini-extension.json").write_text(
        '{"name": "reins", "version": "9"}'
    ),
    "disabled-user": lambda home, project: gemini_settings(
        home / ".gemini" / "extensions" / "extension-enablement.json",
        {"reins": {"overrides": [f"!{home}/*", f"!{project}/*"]}},
    ),
    "not-allowed": lambda home, project: gemini_settings(
        project / ".gemini" / "settings.json", {"security": {"allowedExtensions": ["^x$"]}}
    ),
    "dotenv-home": lambda home, project: (
        gemini_settings(project / ".gemini" / ".env", {})
        or (project / ".gemini" / ".env").write_text(f"GEMINI_CLI_HOME={project}\n")
    ),
}


@pytest.mark.parametrize(
    ("breakage", "level", "says"),
    [
        ("missing", "FAIL", "hooks.json is missing"),
        ("altered", "FAIL", "gemini-extension.json changed since `reins install`"),
        ("disabled-user", "FAIL", "as `gemini extensions disable reins` writes"),
        ("not-allowed", "WARN", "is missing, so Gemini CLI refuses to start"),
        ("dotenv-home", "FAIL", "sets GEMINI_CLI_HOME="),
    ],
)
def test_doctor_flags_what_keeps_gemini_from_running_the_extension(
    home: Path, reins, live, breakage: str, level: str, says: str
) -> None:
    assert reins("install", "gemini", *live)[0] == 0
    project = Path.cwd()
    BREAKAGES[breakage](home, project)
    code, lines = doctor_lines(reins, level)
    assert code == (1 if level == "FAIL" else 0), lines
    assert any(
        line.startswith(f"[{level:>4}] gemini extension:") and says in line for line in lines
    )
    if breakage == "missing":
        return  # no Reins hook left at all: nothing more to say
    # With the extension not running, an untrusted folder is a finding again.
    trust = home / ".gemini" / "trustedFolders.json"
    trust.write_text(json.dumps({str(project): "DO_NOT_TRUST"}))
    _, lines = doctor_lines(reins, "FAIL")
    assert any("gemini folder trust:" in line for line in lines), lines


def test_doctor_flags_an_allow_list_without_the_extension(home: Path, reins, live) -> None:
    assert reins("install", "gemini", *live)[0] == 0
    source = extension(home) / ".gemini-extension-install.json"
    source.write_text(json.dumps({"source": "/opt/other", "type": "local"}))
    user = home / ".gemini" / "settings.json"
    gemini_settings(user, {"security": {"allowedExtensions": ["^/opt/other$"]}})
    assert reins("doctor", "gemini")[0] == 0
    gemini_settings(user, {"security": {"allowedExtensions": ["^/opt/mine$"]}})
    code, lines = doctor_lines(reins, "FAIL")
    assert code == 1
    assert any("no pattern matches /opt/other, so Gemini CLI skips" in line for line in lines)


@pytest.mark.parametrize("value", ["", "<home>"])
def test_a_dotenv_gemini_cli_home_that_keeps_the_extension_in_view_is_fine(
    home: Path, reins, live, value: str
) -> None:
    assert reins("install", "gemini", *live)[0] == 0
    dotenv = Path.cwd() / ".gemini" / ".env"
    dotenv.parent.mkdir()
    dotenv.write_text(f"GEMINI_CLI_HOME={value.replace('<home>', str(home))}\n")
    code, out, _ = reins("doctor", "gemini")
    assert code == 0 and "GEMINI_CLI_HOME" not in out, out
