"""``reins doctor`` against a real ``reins serve``: what passes, what fails, and the fix it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installers import config, doctor
from tests.installers.conftest import install_args, real_cli


@pytest.fixture
def live(server_factory, token_factory, tmp_path: Path):
    server = server_factory(db=tmp_path / "live.db")
    return server, token_factory(server.db, "dev", "developer")


def test_healthy_install_passes_with_a_real_server(home: Path, reins, live) -> None:
    server, token = live
    code, out, _ = reins("install", "claude-code", "--server", server.url, "--token", token)
    # The bundle is cached at install: an outage before the first event is still decided.
    assert code == 0 and "policy bundle cached (revision " in out
    bundle = json.loads((home / ".reins" / "bundle.json").read_text())
    assert bundle["format"] == "reins-bundle/1" and bundle["rules"]
    code, out, _ = reins("doctor", "claude-code")
    assert code == 0, out
    assert f"[  ok] server: {server.url}/healthz -> 200" in out
    assert "[  ok] token: accepted by the server" in out
    assert "[  ok] claude-code user:" in out and "6 Reins hooks" in out
    assert "[  ok] claude-code event: synthetic PreToolUse answered" in out
    assert "[  ok] bundle:" in out
    assert token not in out
    assert out.rstrip().endswith("all checks passed")


def test_http_mode_event_goes_straight_to_the_server(home: Path, reins, live) -> None:
    server, token = live
    args = ["install", "claude-code", "--server", server.url, "--token", token, "--mode", "http"]
    assert reins(*args)[0] == 0
    code, out, _ = reins("doctor", "claude-code")
    assert code == 0, out
    assert "[  ok] claude-code event: http hook -> 200" in out


def test_bad_token_fails_with_the_fix(home: Path, reins, live) -> None:
    server, _ = live
    code, out, _ = reins("install", "gemini", "--server", server.url, "--token", "not-a-token")
    assert code == 0 and "WARNING: could not cache the policy bundle" in out and "401" in out
    code, out, _ = reins("doctor")
    assert code == 1
    assert "[FAIL] token: rejected: GET /v1/bundle -> 401" in out
    assert "fix: create one with `reins token create --user NAME --role developer`" in out
    assert "not-a-token" not in out


def test_server_down_and_missing_hooks_fail(home: Path, reins, live) -> None:
    server, token = live
    assert reins("install", "codex", "--server", server.url, "--token", token)[0] == 0
    server.stop()
    code, out, _ = reins("doctor", "claude-code")
    assert code == 1
    assert f"[FAIL] server: {server.url} unreachable" in out
    assert "[FAIL] claude-code hooks: no Reins hook in any layer" in out
    assert "fix: run `reins install claude-code --server URL --token T`" in out


def test_codex_without_the_cli_reports_trust_unknown(home: Path, reins, live) -> None:
    server, token = live
    assert reins("install", "codex", "--server", server.url, "--token", token)[0] == 0
    code, out, _ = reins("doctor", "codex")
    assert code == 1
    assert "[FAIL] codex trust: codex not found, trust state unknown" in out
    assert "[  ok] codex event: synthetic PreToolUse answered" in out


CODEX = real_cli("codex")


@pytest.mark.skipif(
    CODEX is None,
    reason="real codex CLI not installed (the e2e suite puts it in var/e2e-cli: run `make e2e` once)",
)
def test_codex_trust_state_is_checked_with_the_real_codex(
    home: Path, reins, live, monkeypatch
) -> None:
    server, token = live
    monkeypatch.setenv("REINS_CODEX_BIN", CODEX)
    assert reins("install", "codex", "--server", server.url, "--token", token)[0] == 0
    code, out, _ = reins("doctor", "codex")
    assert code == 0, out
    assert "[  ok] codex trust: all 6 Reins hooks trusted" in out
    # Changing a hook's command changes its hash: Codex would skip it silently. Doctor says so.
    hooks_file = home / ".codex" / "hooks.json"
    hooks = json.loads(hooks_file.read_text())
    hooks["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"] = 11
    hooks_file.write_text(json.dumps(hooks))
    code, out, _ = reins("doctor", "codex")
    assert code == 1
    assert "[FAIL] codex trust: 1 of 6 Reins hooks are NOT trusted" in out
    assert "fix: run `reins install codex ...` again" in out


def test_gemini_settings_that_switch_the_hooks_off_fail_with_the_fix(
    home: Path, tmp_path: Path, reins, live
) -> None:
    server, token = live
    assert reins("install", "gemini", "--server", server.url, "--token", token)[0] == 0
    assert reins("doctor", "gemini")[0] == 0
    workspace = tmp_path / "project" / ".gemini" / "settings.json"  # a cloned repository's
    workspace.parent.mkdir()
    # The user-scope hooks (the extension reins) have a name no repository can guess.
    hooks = home / ".gemini" / "extensions" / "reins" / "hooks" / "hooks.json"
    name = json.loads(hooks.read_text())["hooks"]["BeforeTool"][0]["hooks"][0]["name"]
    workspace.write_text('{"hooksConfig": {"disabled": ["reins"]}, "hooks": null}')
    assert reins("doctor", "gemini")[0] == 0
    off = {"hooksConfig": {"enabled": False, "disabled": ["reins", name]}}
    workspace.write_text(json.dumps(off))
    code, out, _ = reins("doctor", "gemini")
    assert code == 1
    assert (
        f"[FAIL] gemini hooks off: {workspace} (project) sets hooksConfig.enabled: false, so"
        " Gemini CLI runs no hooks at all" in out
    )
    assert "fix: remove it; system settings win, so a managed install" in out
    assert f"[FAIL] gemini hooks off: {workspace} (project) lists {name!r} in hooksConfig." in out
    assert "lists 'reins'" not in out
    workspace.write_text("// comments are fine for Gemini CLI\n{}")
    code, out, _ = reins("doctor", "gemini")
    assert code == 0 and f"[WARN] gemini hooks off: cannot tell whether {workspace}" in out


def test_a_managed_gemini_file_that_gemini_skips_fails(home: Path, tmp_path: Path, reins, live):
    server, token = live
    args = ["install", "gemini", "--scope", "managed", "--server", server.url, "--token", token]
    assert reins(*args)[0] == 0
    path = tmp_path / "root" / "etc" / "gemini-cli" / "settings.json"
    path.parent.chmod(0o775)  # group-writable (as /tmp is): Gemini CLI 0.61.0 ignores the file
    code, out, _ = reins("doctor", "gemini")
    assert code == 1 and f"[FAIL] gemini managed: Gemini CLI skips {path}: " in out
    assert "fix: make the file and every folder above it owned by root" in out


def test_claude_disable_all_hooks_in_the_project_fails_with_the_fix(
    home: Path, tmp_path: Path, reins, live
) -> None:
    server, token = live
    assert reins("install", "claude-code", "--server", server.url, "--token", token)[0] == 0
    shared = tmp_path / "project" / ".claude" / "settings.json"  # a cloned repository's
    shared.parent.mkdir()
    shared.write_text('{"disableAllHooks": true}')
    code, out, _ = reins("doctor", "claude-code")
    assert code == 1, out
    assert (
        f"[FAIL] claude-code hooks off: {shared} (project) sets disableAllHooks: true, so Claude"
        " Code runs none of the Reins hooks" in out
    )
    local = shared.parent / "settings.local.json"
    assert f'fix: remove it or override it with "disableAllHooks": false in {local}' in out
    assert "--scope managed" in out
    local.write_text('{"disableAllHooks": false}')
    code, out, _ = reins("doctor", "claude-code")
    assert code == 0 and "hooks off" not in out, out


@pytest.mark.parametrize(
    ("where", "level", "says"),
    [
        ("project", doctor.OK, "still runs managed hooks, Reins' included"),
        ("user", doctor.OK, "still runs managed hooks, Reins' included"),
        ("managed", doctor.FAIL, "runs no hooks at all, managed ones included"),
    ],
)
def test_managed_claude_hooks_are_immune_to_disable_all_hooks_but_in_managed_settings(
    home: Path, tmp_path: Path, reins, where: str, level: str, says: str
) -> None:
    assert reins(*install_args("claude-code", "--scope", "managed"))[0] == 0
    project = tmp_path / "project"
    path = config.claude_settings(where, project)
    settings = json.loads(path.read_text()) if path.exists() else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**settings, "disableAllHooks": True}))
    [check] = doctor.claude_checks(project)
    assert (check.level, check.name) == (level, "claude-code hooks off")
    assert check.detail.startswith(f"{path} ({where}) sets disableAllHooks: true")
    assert says in check.detail
