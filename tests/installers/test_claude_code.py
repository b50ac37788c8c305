"""``reins install claude-code``: merge into settings.json without losing anything, and undo it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.installers.conftest import install_args, snapshot

USER_SETTINGS = """{
\t"model": "opus",
\t"permissions": {"allow": ["Bash(ls:*)"], "deny": []},
\t"hooks": {
\t\t"PreToolUse": [
\t\t\t{"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/my-check.sh"}]}
\t\t]
\t},
\t"env": {"FOO": "bär"},
\t"zzz_last_key": true
}"""


def settings_file(home: Path) -> Path:
    path = home / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def reins_commands(settings: dict, event: str) -> list[str]:
    return [
        " ".join([h.get("command", ""), *h.get("args", [])]) if h["type"] == "command" else h["url"]
        for group in settings["hooks"].get(event, [])
        for h in group["hooks"]
        if "reins_hook.py" in json.dumps(h) or "/v1/hooks/" in json.dumps(h)
    ]


def test_merge_keeps_user_keys_hooks_order_and_tab_indent(home: Path, reins) -> None:
    path = settings_file(home)
    path.write_text(USER_SETTINGS, encoding="utf-8")
    code, out, err = reins(*install_args("claude-code"))
    assert code == 0, err
    text = path.read_text(encoding="utf-8")
    merged = json.loads(text)
    assert list(merged)[:3] == ["model", "permissions", "hooks"]
    assert list(merged)[-2:] == ["env", "zzz_last_key"]
    assert merged["permissions"] == {"allow": ["Bash(ls:*)"], "deny": []}
    assert merged["env"] == {"FOO": "bär"}
    first = merged["hooks"]["PreToolUse"][0]
    assert first == {
        "matcher": "Bash",
        "hooks": [{"type": "command", "command": "~/bin/my-check.sh"}],
    }
    assert '\n\t"model"' in text and "bär" in text and not text.endswith("\n")
    for event in (
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Stop",
        "SessionEnd",
    ):
        (command,) = reins_commands(merged, event)
        assert f"-I -S {home}/.reins/reins_hook.py claude-code" in command
        assert "shims" not in command
    assert "tok-123" not in text and "tok-123" not in out


def test_install_twice_equals_once_and_uninstall_restores_bytes(home: Path, reins) -> None:
    path = settings_file(home)
    path.write_text(USER_SETTINGS, encoding="utf-8")
    path.chmod(0o640)
    before = snapshot(home)
    assert reins(*install_args("claude-code", "--gateway", "http://127.0.0.1:8787"))[0] == 0
    once = path.read_bytes()
    assert reins(*install_args("claude-code", "--gateway", "http://127.0.0.1:8787"))[0] == 0
    assert path.read_bytes() == once
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the token while installed
    code, out, _ = reins("uninstall", "claude-code")
    assert code == 0 and "byte for byte" in out
    assert snapshot(home) == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not (home / ".reins").exists()


def test_uninstall_after_user_edit_removes_only_reins(home: Path, reins) -> None:
    path = settings_file(home)
    path.write_text(USER_SETTINGS, encoding="utf-8")
    assert reins(*install_args("claude-code", "--gateway", "http://127.0.0.1:8787"))[0] == 0
    edited = json.loads(path.read_text())
    edited["theme"] = "dark"
    edited["env"]["ANTHROPIC_BASE_URL"] = "https://my.own.proxy"  # changed by the user: kept
    path.write_text(json.dumps(edited, indent=2))
    code, out, _ = reins("uninstall", "claude-code")
    assert code == 0 and "removed only the Reins entries" in out
    after = json.loads(path.read_text())
    assert after["theme"] == "dark"
    assert after["env"] == {"FOO": "bär", "ANTHROPIC_BASE_URL": "https://my.own.proxy"}
    assert after["hooks"] == {"PreToolUse": json.loads(USER_SETTINGS)["hooks"]["PreToolUse"]}


def test_missing_settings_file_is_created_and_removed_again(home: Path, reins) -> None:
    assert reins(*install_args("claude-code"))[0] == 0
    path = home / ".claude" / "settings.json"
    assert json.loads(path.read_text())["hooks"]["PreToolUse"][0]["matcher"] == "*"
    assert reins("uninstall", "claude-code")[0] == 0
    assert not path.exists() and not (home / ".claude").exists()


def test_gateway_sets_env_with_agent_header(home: Path, reins) -> None:
    args = install_args(
        "claude-code", "--gateway", "http://127.0.0.1:8787/t/acme", "--agent", "ci-bot"
    )
    assert reins(*args)[0] == 0
    env = json.loads((home / ".claude" / "settings.json").read_text())["env"]
    assert env == {
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:8787/t/acme",
        "ANTHROPIC_AUTH_TOKEN": "tok-123",
        "ANTHROPIC_CUSTOM_HEADERS": "X-Reins-Agent: ci-bot",
    }


def test_http_mode_uses_header_from_allowed_env_var(home: Path, reins) -> None:
    path = settings_file(home)
    path.write_text('{"allowedHttpHookUrls": ["https://other/*"], "httpHookAllowedEnvVars": []}')
    assert reins(*install_args("claude-code", "--mode", "http", "--agent", "dev1"))[0] == 0
    settings = json.loads(path.read_text())
    (handler,) = settings["hooks"]["PreToolUse"][0]["hooks"]
    assert handler["type"] == "http"
    assert handler["url"] == "http://127.0.0.1:9/v1/hooks/claude-code"
    assert handler["headers"] == {"Authorization": "Bearer $REINS_TOKEN", "X-Reins-Agent": "dev1"}
    assert handler["allowedEnvVars"] == ["REINS_TOKEN"]
    assert "onFailure" not in handler  # Claude Code version unknown
    assert settings["env"]["REINS_TOKEN"] == "tok-123"
    # SessionStart has no http hooks in Claude Code: it stays a command hook.
    assert settings["hooks"]["SessionStart"][0]["hooks"][0]["type"] == "command"
    assert settings["allowedHttpHookUrls"] == ["https://other/*", "http://127.0.0.1:9/*"]
    assert settings["httpHookAllowedEnvVars"] == ["REINS_TOKEN"]
    assert reins("uninstall", "claude-code")[0] == 0
    assert json.loads(path.read_text()) == {
        "allowedHttpHookUrls": ["https://other/*"],
        "httpHookAllowedEnvVars": [],
    }


@pytest.mark.parametrize(
    ("version", "exec_form", "on_failure"),
    [("2.1.100", False, False), ("2.1.197", True, False), ("2.1.295", True, True)],
)
def test_claude_code_version_decides_args_and_on_failure(
    home: Path, reins, fake_cli, version: str, exec_form: bool, on_failure: bool
) -> None:
    fake_cli("claude", f"{version} (Claude Code)")
    assert reins(*install_args("claude-code", "--fail-mode", "closed"))[0] == 0
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    (handler,) = settings["hooks"]["PreToolUse"][0]["hooks"]
    assert ("args" in handler) is exec_form
    assert (handler.get("onFailure") == "block") is on_failure
    if exec_form:
        assert handler["args"][-2:] == [f"{home}/.reins/reins_hook.py", "claude-code"]


@pytest.mark.parametrize(("version", "warned"), [("2.1.197", True), ("2.1.295", False)])
def test_http_mode_that_cannot_fail_closed_says_so(
    home: Path, reins, fake_cli, version: str, warned: bool
) -> None:
    fake_cli("claude", f"{version} (Claude Code)")
    code, out, _ = reins(*install_args("claude-code", "--mode", "http", "--fail-mode", "closed"))
    assert code == 0 and ("cannot fail closed" in out) is warned


def test_project_and_managed_scopes_write_their_own_files(
    home: Path, tmp_path: Path, reins
) -> None:
    project = tmp_path / "project"
    assert reins(*install_args("claude-code", "--scope", "project"))[0] == 0
    assert (project / ".claude" / "settings.json").is_file()
    assert reins(*install_args("claude-code", "--scope", "managed"))[0] == 0
    managed = tmp_path / "root" / "etc" / "claude-code" / "managed-settings.json"
    command = json.loads(managed.read_text())["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    managed_home = tmp_path / "root" / "opt" / "reins"
    assert command.startswith(f"REINS_HOME={managed_home} ")
    assert (managed_home / "reins_hook.py").is_file()
    assert reins("uninstall", "claude-code", "--scope", "managed")[0] == 0
    assert not managed.exists()
    assert (project / ".claude" / "settings.json").is_file()  # the project install stays


def test_comments_in_json_are_refused_not_lost(home: Path, reins) -> None:
    path = settings_file(home)
    path.write_text('{\n  // my comment\n  "model": "opus"\n}\n')
    code, _, err = reins(*install_args("claude-code"))
    assert code == 2 and "comments" in err
    assert path.read_text() == '{\n  // my comment\n  "model": "opus"\n}\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "reins.example:8700"], "--server 'reins.example:8700' is not a URL"),
        (["--mode", "http", "--gateway", "nope"], "--gateway 'nope' is not a URL"),
        (["--agent", "bad name"], "--agent 'bad name'"),
    ],
)
def test_bad_input_is_a_clear_error(home: Path, reins, args: list[str], message: str) -> None:
    code, _, err = reins("install", "claude-code", "--token", "t", "--server", "http://x:1", *args)
    assert code == 2 and message in err
    assert not (home / ".claude").exists()


@pytest.mark.parametrize(
    "content", ['{"hooks": []}', '{"hooks": {"PreToolUse": {"matcher": "*"}}}', "[1, 2]"]
)
def test_shapes_reins_cannot_merge_into_are_refused(home: Path, reins, content: str) -> None:
    path = settings_file(home)
    path.write_text(content)
    code, _, err = reins(*install_args("claude-code"))
    assert code == 2 and str(path) in err and "Traceback" not in err
    assert path.read_text() == content
