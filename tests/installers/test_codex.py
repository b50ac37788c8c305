"""``reins install codex``: hooks.json, config.toml via tomlkit, trust from the real Codex, managed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomlkit

from installers.codex_trust import list_hooks
from tests.installers.conftest import install_args, real_cli, snapshot

USER_CONFIG = """# my Codex settings
model = "o3"  # the one I like
approval_policy = "on-request"

[profiles.fast]   # quick runs
model = "o4-mini"

[mcp_servers.docs]
command = "docs-server"
args = ["--port", "9000"]
"""

USER_HOOKS = """{
  "description": "my hooks",
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "/usr/local/bin/audit-bash", "timeout": 5}]}
    ]
  }
}
"""


def codex_home(home: Path) -> Path:
    folder = home / ".codex"
    folder.mkdir(exist_ok=True)
    return folder


def test_merge_keeps_user_hooks_and_toml_comments(home: Path, reins) -> None:
    folder = codex_home(home)
    (folder / "config.toml").write_text(USER_CONFIG)
    (folder / "hooks.json").write_text(USER_HOOKS)
    code, out, _ = reins(
        *install_args("codex", "--gateway", "http://127.0.0.1:8787", "--agent", "ci")
    )
    assert code == 0
    assert "NOT trusted yet" in out and "Install Codex" in out  # no codex binary on PATH
    hooks = json.loads((folder / "hooks.json").read_text())
    assert hooks["description"] == "my hooks"
    pre = hooks["hooks"]["PreToolUse"]
    assert (
        pre[0]["hooks"][0]["command"] == "/usr/local/bin/audit-bash"
    )  # still group 0: trust key kept
    assert pre[1] == {
        "hooks": [
            {
                "type": "command",
                "command": pre[1]["hooks"][0]["command"],
                "timeout": 10,
            }
        ]
    }
    assert pre[1]["hooks"][0]["command"].endswith(f"-I -S {home}/.reins/reins_hook.py codex")
    # Codex clamps SessionEnd hooks to 3 s (and warns each run when asked for more).
    assert hooks["hooks"]["SessionEnd"][-1]["hooks"][0]["timeout"] == 3
    text = (folder / "config.toml").read_text()
    assert text.startswith(USER_CONFIG.split("[profiles.fast]")[0].rstrip("\n"))
    assert "[profiles.fast]   # quick runs" in text and 'args = ["--port", "9000"]' in text
    config = tomlkit.parse(text).unwrap()
    assert config["model_provider"] == "reins"
    assert config["model_providers"]["reins"] == {
        "name": "Reins gateway",
        "base_url": "http://127.0.0.1:8787/v1",
        "wire_api": "responses",
        "env_key": "REINS_TOKEN",
        "http_headers": {"X-Reins-Agent": "ci"},
        "env_http_headers": {"X-Reins-Run": "REINS_RUN"},
    }
    assert "tok-123" not in text


def test_twice_equals_once_and_uninstall_restores_bytes(home: Path, reins) -> None:
    folder = codex_home(home)
    (folder / "config.toml").write_text(USER_CONFIG)
    (folder / "hooks.json").write_text(USER_HOOKS)
    before = snapshot(home)
    args = install_args("codex", "--gateway", "http://127.0.0.1:8787")
    assert reins(*args)[0] == 0
    once = snapshot(home)
    assert reins(*args)[0] == 0
    assert snapshot(home) == once
    assert reins("uninstall", "codex")[0] == 0
    assert snapshot(home) == before


def test_dropping_the_gateway_on_reinstall_takes_the_provider_back(home: Path, reins) -> None:
    folder = codex_home(home)
    (folder / "config.toml").write_text('model_provider = "mine"\n' + USER_CONFIG)
    assert reins(*install_args("codex", "--gateway", "http://127.0.0.1:8787"))[0] == 0
    assert tomlkit.parse((folder / "config.toml").read_text())["model_provider"] == "reins"
    assert reins(*install_args("codex"))[0] == 0
    assert (folder / "config.toml").read_text() == 'model_provider = "mine"\n' + USER_CONFIG


def test_managed_scope_writes_requirements_toml(home: Path, tmp_path: Path, reins) -> None:
    requirements = tmp_path / "root" / "etc" / "codex" / "requirements.toml"
    requirements.parent.mkdir(parents=True)
    requirements.write_text("# org policy\nallow_managed_hooks_only = true\n")
    assert reins(*install_args("codex", "--scope", "managed"))[0] == 0
    doc = tomlkit.parse(requirements.read_text()).unwrap()
    managed_home = tmp_path / "root" / "opt" / "reins"
    assert doc["allow_managed_hooks_only"] is True
    assert doc["hooks"]["managed_dir"] == str(managed_home)
    assert Path(doc["hooks"]["managed_dir"]).is_dir()  # Codex requires it to exist
    command = doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert command.startswith(f"REINS_HOME={managed_home} ")
    assert command.endswith(f"{managed_home}/reins_hook.py codex")
    assert requirements.read_text().startswith("# org policy\n")
    assert not (home / ".codex").exists()  # managed hooks need no trust entries
    # Pinned: no config file or flag can switch the hooks off (tests/e2e/test_codex_hooks_switch.py)
    assert doc["features"] == {"hooks": True}
    assert reins("uninstall", "codex", "--scope", "managed")[0] == 0
    assert requirements.read_text() == "# org policy\nallow_managed_hooks_only = true\n"


def test_managed_uninstall_gives_the_admins_hooks_feature_back(home: Path, tmp_path: Path, reins):
    requirements = tmp_path / "root" / "etc" / "codex" / "requirements.toml"
    requirements.parent.mkdir(parents=True)
    requirements.write_text("[features]\nhooks = false  # off for now\nother = true\n")
    assert reins(*install_args("codex", "--scope", "managed"))[0] == 0
    assert reins(*install_args("codex", "--scope", "managed"))[0] == 0  # twice = once
    assert tomlkit.parse(requirements.read_text())["features"] == {"hooks": True, "other": True}
    requirements.write_text("# edited since\n" + requirements.read_text())
    assert reins("uninstall", "codex", "--scope", "managed")[0] == 0
    assert (
        requirements.read_text()
        == "# edited since\n[features]\nhooks = false  # off for now\nother = true\n"
    )


def test_mode_http_only_applies_to_claude_code(home: Path, reins) -> None:
    code, _, _ = reins(*install_args("codex"), "--mode", "http")
    assert code == 0  # Codex has no http hooks: it gets command hooks
    assert json.loads((home / ".codex" / "hooks.json").read_text())["hooks"]["PreToolUse"]


CODEX = real_cli("codex")


@pytest.mark.skipif(
    CODEX is None,
    reason="real codex CLI not installed (the e2e suite puts it in var/e2e-cli: run `make e2e` once)",
)
def test_trust_hashes_come_from_the_real_codex(home: Path, reins, monkeypatch) -> None:
    folder = codex_home(home)
    (folder / "hooks.json").write_text(USER_HOOKS)
    monkeypatch.setenv("REINS_CODEX_BIN", CODEX)
    project = Path.cwd()
    untrusted = list_hooks(CODEX, folder, project)
    assert [h["trustStatus"] for h in untrusted] == ["untrusted"]
    code, out, _ = reins(*install_args("codex"))
    assert code == 0 and "trusted 6 Codex hooks" in out
    seen = list_hooks(CODEX, folder, project)
    ours = [h for h in seen if "reins_hook.py" in h["command"]]
    assert sorted(h["eventName"] for h in ours) == sorted(
        ["sessionStart", "userPromptSubmit", "preToolUse", "postToolUse", "stop", "sessionEnd"]
    )
    assert all(h["trustStatus"] == "trusted" for h in ours)
    # The user's own untrusted hook stays untrusted: Reins trusts only what it installed.
    (mine,) = [h for h in seen if h["command"] == "/usr/local/bin/audit-bash"]
    assert mine["trustStatus"] == "untrusted"
    state = tomlkit.parse((folder / "config.toml").read_text())["hooks"]["state"]
    assert set(state) == {h["key"] for h in ours}
    assert reins("uninstall", "codex")[0] == 0
    assert (
        not (folder / "config.toml").exists()
        or "hooks.state" not in (folder / "config.toml").read_text()
    )


@pytest.mark.skipif(
    CODEX is None,
    reason="real codex CLI not installed (the e2e suite puts it in var/e2e-cli: run `make e2e` once)",
)
def test_project_hooks_are_trusted_once_codex_trusts_the_project(
    home: Path, reins, monkeypatch
) -> None:
    monkeypatch.setenv("REINS_CODEX_BIN", CODEX)
    project = Path.cwd()
    code, out, err = reins(*install_args("codex", "--scope", "project"))
    assert code == 0, err
    assert "Codex reads project hooks only in projects it trusts" in out
    assert (project / ".codex" / "hooks.json").is_file()
    config = codex_home(home) / "config.toml"
    assert not config.exists()  # nothing to trust yet: no empty file left behind
    config.write_text(f'[projects."{project}"]\ntrust_level = "trusted"\n')
    code, out, _ = reins(*install_args("codex", "--scope", "project"))
    assert code == 0 and "trusted 6 Codex hooks" in out
    ours = [
        h for h in list_hooks(CODEX, home / ".codex", project) if "reins_hook.py" in h["command"]
    ]
    assert len(ours) == 6 and {h["trustStatus"] for h in ours} == {"trusted"}
