"""``reins install gemini``: the five hook events (timeouts in ms) and the gateway in .gemini/.env."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installers import gemini
from tests.installers.conftest import install_args, snapshot

USER_SETTINGS = (
    '{"security": {"auth": {"selectedType": "gemini-api-key"}}, "ui": {"theme": "GitHub"}}'
)


def gemini_dir(home: Path) -> Path:
    folder = home / ".gemini"
    folder.mkdir(exist_ok=True)
    return folder


def test_hooks_for_the_five_events_with_millisecond_timeouts(home: Path, reins) -> None:
    # User scope: the hooks go into the extension reins (tests/installers/test_gemini_extension.py)
    # and the user's settings.json is left alone.
    folder = gemini_dir(home)
    (folder / "settings.json").write_text(USER_SETTINGS)
    assert reins(*install_args("gemini"))[0] == 0
    assert (folder / "settings.json").read_text() == USER_SETTINGS
    hooks = json.loads((folder / "extensions" / "reins" / "hooks" / "hooks.json").read_text())
    assert sorted(hooks["hooks"]) == sorted(
        ["BeforeTool", "AfterTool", "BeforeAgent", "SessionStart", "SessionEnd"]
    )
    (handler,) = hooks["hooks"]["BeforeTool"][0]["hooks"]
    assert handler["timeout"] == 10000 and handler["name"].startswith("reins-")
    assert handler["command"].endswith(f"{home}/.reins/reins_hook.py gemini")


def test_gateway_goes_to_dotenv_and_is_taken_back(home: Path, reins) -> None:
    folder = gemini_dir(home)
    (folder / "settings.json").write_text(USER_SETTINGS)
    (folder / ".env").write_text("# mine\nGEMINI_API_KEY=real-key\nOTHER=1\n")
    before = snapshot(home)
    assert reins(*install_args("gemini", "--gateway", "http://127.0.0.1:8787"))[0] == 0
    assert (folder / ".env").read_text() == (
        "# mine\nGEMINI_API_KEY=tok-123\nOTHER=1\nGOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8787\n"
        "GEMINI_CLI_CUSTOM_HEADERS=X-Reins-Agent: interactive\n"
    )
    assert (folder / ".env").stat().st_mode & 0o077 == 0
    assert reins(*install_args("gemini"))[0] == 0  # reinstall without --gateway
    assert (folder / ".env").read_text() == "# mine\nGEMINI_API_KEY=real-key\nOTHER=1\n"
    assert reins("uninstall", "gemini")[0] == 0
    assert snapshot(home) == before


def test_gateway_sets_the_auth_type_gemini_cli_needs_and_takes_it_back(home: Path, reins) -> None:
    # Without it Gemini CLI 0.61.0 exits 41 "Invalid auth method selected" (tests/e2e).
    folder = gemini_dir(home)
    (folder / "settings.json").write_text('{"ui": {"theme": "GitHub"}}\n')
    before = snapshot(home)
    assert reins(*install_args("gemini", "--gateway", "http://127.0.0.1:8787"))[0] == 0
    settings = json.loads((folder / "settings.json").read_text())
    assert settings["security"] == {"auth": {"selectedType": "gemini-api-key"}}
    assert reins(*install_args("gemini", "--gateway", "http://127.0.0.1:8787"))[0] == 0
    assert reins(*install_args("gemini"))[0] == 0  # reinstall without --gateway
    assert "security" not in json.loads((folder / "settings.json").read_text())
    assert reins("uninstall", "gemini")[0] == 0
    assert snapshot(home) == before


def test_gateway_with_managed_scope_is_a_clear_error(home: Path, reins) -> None:
    code, _, err = reins(*install_args("gemini", "--scope", "managed", "--gateway", "http://g:1"))
    assert code == 2 and "GOOGLE_GEMINI_BASE_URL" in err


@pytest.mark.parametrize("scope", ["project", "managed"])
def test_other_scopes(home: Path, tmp_path: Path, reins, scope: str) -> None:
    assert reins(*install_args("gemini", "--scope", scope))[0] == 0
    path = {
        "project": tmp_path / "project" / ".gemini" / "settings.json",
        "managed": tmp_path / "root" / "etc" / "gemini-cli" / "settings.json",
    }[scope]
    assert json.loads(path.read_text())["hooks"]["BeforeTool"]
    assert reins("uninstall", "gemini", "--scope", scope)[0] == 0
    assert not path.exists()


def system_settings(tmp_path: Path, text: str) -> Path:
    """The staged managed (system) settings file, holding ``text`` as an admin left it."""
    path = tmp_path / "root" / "etc" / "gemini-cli" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_managed_install_pins_hooks_on_under_a_name_no_repository_can_guess(
    home: Path, tmp_path: Path, reins
) -> None:
    # Gemini CLI 0.61.0: system settings win for hooksConfig.enabled, but hooksConfig.disabled is
    # a union over all files that matches a hook's name (tests/e2e/test_gemini_hooks_tamper.py).
    path = system_settings(
        tmp_path, '{"hooksConfig": {"enabled": false, "notifications": false}}\n'
    )
    before = path.read_bytes()
    assert reins(*install_args("gemini", "--scope", "managed"))[0] == 0
    settings = json.loads(path.read_text())
    assert settings["hooksConfig"] == {"enabled": True, "notifications": False}
    names = {h["name"] for groups in settings["hooks"].values() for h in groups[0]["hooks"]}
    (name,) = names
    assert name.startswith("reins-") and len(name) == len("reins-") + 16
    assert reins(*install_args("gemini", "--scope", "managed"))[0] == 0  # reinstall keeps it
    assert json.loads(path.read_text())["hooks"]["BeforeTool"][0]["hooks"][0]["name"] == name
    assert reins("uninstall", "gemini", "--scope", "managed")[0] == 0
    assert path.read_bytes() == before


def test_trust_all_folders_switches_folder_trust_off_and_uninstall_gives_it_back(
    home: Path, tmp_path: Path, reins
) -> None:
    # Gemini CLI 0.61.0 runs no hook at all in an untrusted folder, system hooks included, and
    # the system value of security.folderTrust.enabled beats the user's
    # (tests/e2e/test_gemini_folder_trust.py). Switching it off is the admin's choice.
    path = system_settings(
        tmp_path, '{"security": {"folderTrust": {"enabled": true}, "blockGitExtensions": true}}'
    )
    before = path.read_bytes()
    assert reins(*install_args("gemini", "--scope", "managed"))[0] == 0  # not by default
    assert json.loads(path.read_text())["security"]["folderTrust"] == {"enabled": True}
    managed = ("gemini", "--scope", "managed", "--trust-all-folders")
    assert reins(*install_args(*managed))[0] == 0
    security = json.loads(path.read_text())["security"]
    assert security == {"folderTrust": {"enabled": False}, "blockGitExtensions": True}
    assert reins(*install_args("gemini", "--scope", "managed"))[0] == 0  # asked no more: undone
    assert json.loads(path.read_text())["security"]["folderTrust"] == {"enabled": True}
    assert reins(*install_args(*managed))[0] == 0
    assert reins("uninstall", "gemini", "--scope", "managed")[0] == 0
    assert path.read_bytes() == before


def test_trust_all_folders_is_refused_outside_a_managed_gemini_install(reins) -> None:
    for harness, *scope in (("gemini",), ("codex", "--scope", "managed")):
        code, _, err = reins(*install_args(harness, *scope, "--trust-all-folders"))
        assert code != 0 and "--trust-all-folders is for" in err, err


def test_managed_uninstall_after_an_edit_gives_the_admins_switch_back(
    home: Path, tmp_path: Path, reins
) -> None:
    path = system_settings(tmp_path, '{"hooksConfig": {"enabled": false}}\n')
    assert reins(*install_args("gemini", "--scope", "managed"))[0] == 0
    settings = json.loads(path.read_text())
    path.write_text(json.dumps({**settings, "ui": {"theme": "GitHub"}}))  # edited since
    assert reins("uninstall", "gemini", "--scope", "managed")[0] == 0
    assert json.loads(path.read_text()) == {
        "hooksConfig": {"enabled": False},
        "ui": {"theme": "GitHub"},
    }


def test_user_and_project_installs_leave_hooks_config_alone(home: Path, reins) -> None:
    # Workspace settings beat user settings for hooksConfig.enabled: pinning it there would be
    # theatre. Only a managed install can keep the hooks on (README, Scopes).
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text("{}")
    for scope in ("user", "project"):
        assert reins(*install_args("gemini", "--scope", scope))[0] == 0
    assert json.loads((home / ".gemini" / "settings.json").read_text()) == {}
    project = json.loads((Path.cwd() / ".gemini" / "settings.json").read_text())
    assert "hooksConfig" not in project
    assert project["hooks"]["BeforeTool"][0]["hooks"][0]["name"] == "reins"


@pytest.mark.parametrize(
    ("settings", "after", "restored"),
    [
        ({}, {"a": {"b": True}}, {}),
        (
            {"a": {"b": False, "c": 1}, "d": 2},
            {"a": {"b": True, "c": 1}, "d": 2},
            {"a": {"b": False, "c": 1}, "d": 2},
        ),
        ({"a": {"b": True}}, {"a": {"b": True}}, {"a": {"b": True}}),
        # Not an object: replaced, and not brought back (uninstall restores the bytes instead).
        ({"a": "text"}, {"a": {"b": True}}, {}),
    ],
)
def test_set_setting_is_taken_back_by_restore_setting(
    settings: dict, after: dict, restored: dict
) -> None:
    memory: dict = {}
    changed = gemini.set_setting(settings, ("a", "b"), True, memory)
    assert changed == after and list(changed) == list(after)
    assert gemini.restore_setting(changed, ("a", "b"), memory) == restored


def test_restore_setting_keeps_a_value_changed_since() -> None:
    memory: dict = {}
    changed = gemini.set_setting({"a": {"b": False}}, ("a", "b"), True, memory)
    changed["a"]["b"] = "mine"
    assert gemini.restore_setting(changed, ("a", "b"), memory) == {"a": {"b": "mine"}}
    assert gemini.restore_setting({"x": 1}, ("a", "b"), {}) == {"x": 1}
