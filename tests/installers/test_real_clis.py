"""Installs the real CLIs run as written: a client outside ``~/.reins`` (``REINS_HOME=`` prefix).

Managed and ``--reins-home`` installs put ``REINS_HOME=<dir>`` in front of the hook command, so it
only works if the harness runs the command through a shell. These runs prove it for Codex (also
through the trust the installer wrote, without the bypass flag) and Claude Code. They reuse the
e2e suite's CLI copies (installed on first use) and fake model servers; skipped only without npm.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from installers.installation import uninstall
from tests.e2e.clis import (
    Clis,
    ensure_clis,
    npm_available,
    run_claude,
    run_codex,
    write_codex_provider,
)
from tests.e2e.conftest import DENIED_RULE, DENIED_TEMPLATE, rule_reason
from tests.e2e.fake_upstream import FakeAnthropic, FakeResponses
from tests.installers.conftest import snapshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def clis() -> Clis:
    """The pinned CLIs, installed on first use like the e2e suite's (skipped only without npm:
    a skip decided at collection time would skip on every clean clone)."""
    if not npm_available():
        pytest.skip("npm is not installed: the real-CLI installer tests need it")
    return ensure_clis()


@pytest.fixture
def machine(tmp_path: Path, server_factory, token_factory, reins, monkeypatch, clis: Clis):
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir(exist_ok=True)
    project.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CODEX_HOME", str(home / ".codex"))
    monkeypatch.setenv("REINS_CODEX_BIN", str(clis.codex))
    monkeypatch.setenv("REINS_CLAUDE_BIN", str(clis.claude))
    monkeypatch.delenv("REINS_HOME", raising=False)
    monkeypatch.chdir(project)
    server = server_factory(db=tmp_path / "live.db")
    token = token_factory(server.db, "dev", "developer")

    def install(harness: str) -> None:
        args = ["install", harness, "--server", server.url, "--token", token]
        code, _, err = reins(*args, "--reins-home", str(tmp_path / "elsewhere"))
        assert code == 0, err

    return home, project, install, clis


def test_codex_runs_the_trusted_hook_from_a_custom_home(machine, tmp_path: Path) -> None:
    home, project, install, clis = machine
    proof = tmp_path / "proof"
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        write_codex_provider(home / ".codex", model.url)
        before = snapshot(home)
        install("codex")
        hooks = (home / ".codex" / "hooks.json").read_text()
        assert f"REINS_HOME={tmp_path / 'elsewhere'} " in hooks
        run = run_codex(clis, home, home / ".codex", project, "do it")
        outputs = model.tool_outputs()
    assert not proof.exists(), run.describe()
    assert "hook: PreToolUse Blocked" in run.stderr, run.describe()
    assert rule_reason(DENIED_RULE) in outputs[0]
    assert (tmp_path / "elsewhere" / "reins_hook.py").is_file()
    assert not (home / ".reins").exists()
    uninstall("codex", "user", project, tmp_path / "elsewhere")
    after = {k: v for k, v in snapshot(home).items() if k in before}
    assert after == before  # Codex adds its own state files; ours are restored byte for byte
    assert not (home / ".codex" / "hooks.json").exists()


def test_claude_code_runs_the_hook_from_a_custom_home(machine, tmp_path: Path) -> None:
    home, project, install, clis = machine
    proof = tmp_path / "proof"
    with FakeAnthropic(DENIED_TEMPLATE.format(proof=proof)) as model:
        install("claude-code")
        run = run_claude(clis, home, project, model.url, "do it")
    assert not proof.exists(), run.describe()
    assert run.json()["permission_denials"], run.describe()
