"""``reins uninstall`` gives the user back their own files, byte for byte, and the guard is gone.

The user's settings are written with their own keys, hooks, comments and odd formatting first;
``reins install`` must merge into them (and the install must work: the real Claude Code is
blocked), and ``reins uninstall`` must restore every file exactly and remove what it created
(Codex's ``hooks.json`` did not exist before). Files the CLIs write for themselves (Codex state
databases created by the trust step, Claude Code backups) are theirs, not the installer's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import DENIED_TEMPLATE
from .fake_upstream import FakeAnthropic

pytestmark = pytest.mark.e2e

CLAUDE_SETTINGS = """{
    "model": "sonnet",
  "env": {"MY_OWN_VAR": "1"},
  "hooks": {
    "PreToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "true"}]}]
  }
}
"""

CODEX_CONFIG_EXTRA = """
# my own comment, keep it
[tui]
notifications = false   # trailing comment too
"""

HARNESS_FILES = {"settings.json", "settings.local.json", "hooks.json", "config.toml"}


def snapshot(machine) -> dict:
    """Every file under HOME as bytes, except Claude Code's own session state."""
    skip = {".claude.json", "projects", "sessions", "log", "shell-snapshots", "statsig", "todos"}
    files = {}
    for path in sorted(machine.home.rglob("*")):
        relative = path.relative_to(machine.home)
        if path.is_file() and not skip & set(relative.parts):
            files[str(relative)] = path.read_bytes()
    return files


def test_uninstall_restores_every_file_byte_for_byte(reins, machine):
    machine.claude_settings.parent.mkdir(parents=True)
    machine.claude_settings.write_text(CLAUDE_SETTINGS)
    config = machine.codex_provider("http://127.0.0.1:9")  # Codex is not run in this test
    config.write_text(config.read_text() + CODEX_CONFIG_EXTRA)
    before = snapshot(machine)

    machine.install("claude-code", reins)
    machine.install("codex", reins)
    installed = snapshot(machine)
    for name in (".claude/settings.json", ".codex/config.toml"):
        assert installed[name] != before[name], f"{name} was not configured"
    assert ".codex/hooks.json" in installed
    assert b"MY_OWN_VAR" in installed[".claude/settings.json"], "the user's keys were lost"
    assert b"# my own comment, keep it" in installed[".codex/config.toml"]

    proof = machine.proof()
    with FakeAnthropic(DENIED_TEMPLATE.format(proof=proof)) as model:
        machine.claude(model.url)
    assert not proof.exists(), "the installed hook did not block"

    machine.uninstall("claude-code")
    machine.uninstall("codex")
    after = snapshot(machine)
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert changed == [], f"not restored byte for byte: {changed}"
    created = (set(installed) - set(before)) & set(after)
    left = sorted(
        name
        for name in created
        if not name.startswith(".reins/")
        and ("reins" in name.lower() or Path(name).name in HARNESS_FILES)
    )
    assert left == [], f"uninstall left its files behind: {left}"

    with FakeAnthropic(DENIED_TEMPLATE.format(proof=proof)) as model:
        machine.claude(model.url)
    assert proof.exists(), "after uninstall, Reins still intercepts Claude Code"
