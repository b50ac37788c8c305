"""The Reins plugin bundle (``hooks/`` + the repo-root marketplace) loaded by the real CLIs.

A plugin user runs the one-line installer with ``--client-only`` (config and token, no harness
settings), then adds this repository as a marketplace and installs ``reins@reins``. Claude Code
then enforces at once. Codex 0.171 loads the same bundle through ``.codex-plugin/plugin.json``
but, like every non-managed hook, skips it silently until it is trusted; trusting it the way the
``/hooks`` screen does (``config/batchWrite`` of the ``currentHash`` that ``hooks/list`` reports)
makes it enforce, without the bypass flag.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from .clis import REPO
from .conftest import DENIED_RULE, DENIED_TEMPLATE, rule_reason
from .fake_upstream import FakeAnthropic, FakeResponses

pytestmark = pytest.mark.e2e


def run(machine, *argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        list(argv),
        cwd=machine.project,
        env={**machine.env(), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"$ {' '.join(argv)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def client_only(machine, reins) -> None:
    """The plugin's prerequisite: ~/.reins with the server URL and token, no harness settings."""
    line = f"curl -fsSL {reins.url}/install.sh | sh -s -- --token {reins.developer} --client-only"
    run(machine, "sh", "-c", line)
    assert (machine.reins_home / "config.json").is_file()


def test_claude_code_validates_and_enforces_the_plugin_from_the_marketplace(reins, machine):
    claude = str(machine.clis.claude)
    for target in (REPO / "hooks", REPO):  # the plugin, then the marketplace
        checked = run(machine, claude, "plugin", "validate", "--strict", str(target))
        assert "Validation passed" in checked.stdout + checked.stderr
    client_only(machine, reins)
    run(machine, claude, "plugin", "marketplace", "add", str(REPO))
    run(machine, claude, "plugin", "install", "reins@reins")
    settings = json.loads(machine.claude_settings.read_text())
    assert settings["enabledPlugins"] == {"reins@reins": True}
    assert "hooks" not in settings  # the hooks come from the plugin, not from settings.json

    proof = machine.proof()
    with FakeAnthropic(DENIED_TEMPLATE.format(proof=proof)) as model:
        result = machine.claude(model.url)
        tool_results = model.tool_results()

    assert not proof.exists(), result.describe()
    assert [rule_reason(DENIED_RULE) in r["content"] for r in tool_results] == [True]
    session = result.json()["session_id"]
    events = {row["hook_event"] for row in reins.audit(session=session)}
    assert {"SessionStart", "UserPromptSubmit", "PreToolUse"} <= events


def hooks_rpc(machine, requests: list[dict], wanted: int) -> dict:
    """Send JSON-RPC ``requests`` to ``codex app-server`` and return the reply with id ``wanted``."""
    env = {**machine.env(), "LANG": "C.UTF-8"}
    process = subprocess.Popen(
        [str(machine.clis.codex), "app-server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=machine.project,
        env=env,
        text=True,
    )
    hello = [
        {
            "id": 1,
            "method": "initialize",
            "params": {"clientInfo": {"name": "reins", "version": "1"}},
        },
        {"method": "initialized"},
    ]
    try:
        for message in hello + requests:
            process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            message = json.loads(line)
            if message.get("id") == wanted:
                return message
        raise AssertionError(f"codex app-server gave no reply {wanted}")
    finally:
        process.kill()
        process.wait(timeout=10)


def plugin_hooks(machine) -> list[dict]:
    listing = {"id": 2, "method": "hooks/list", "params": {"cwds": [str(machine.project)]}}
    reply = hooks_rpc(machine, [listing], 2)
    hooks = [h for entry in reply["result"]["data"] for h in entry["hooks"]]
    return [h for h in hooks if h.get("pluginId") == "reins@reins"]


def test_codex_loads_the_plugin_and_enforces_once_its_hooks_are_trusted(reins, machine):
    codex = str(machine.clis.codex)
    client_only(machine, reins)
    proof = machine.proof()
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        machine.codex_provider(model.url)
        run(machine, codex, "plugin", "marketplace", "add", str(REPO))
        run(machine, codex, "plugin", "add", "reins@reins")
        hooks = plugin_hooks(machine)
        assert {h["trustStatus"] for h in hooks} == {"untrusted"}
        assert all(h["command"].endswith('/reins_hook.py" codex') for h in hooks)

        untrusted = machine.codex()  # the plugin is enabled but its hooks are skipped silently
        assert proof.exists(), untrusted.describe()
        os.unlink(proof)

        # What the /hooks review screen does: write back each hook's currentHash.
        state = {h["key"]: {"trusted_hash": h["currentHash"]} for h in hooks}
        edit = {"keyPath": "hooks.state", "value": state, "mergeStrategy": "upsert"}
        write = {
            "id": 3,
            "method": "config/batchWrite",
            "params": {
                "edits": [edit],
                "filePath": None,
                "expectedVersion": None,
                "reloadUserConfig": True,
            },
        }
        assert hooks_rpc(machine, [write], 3)["result"]["status"] == "ok"
        assert {h["trustStatus"] for h in plugin_hooks(machine)} == {"trusted"}
        config = (machine.codex_home / "config.toml").read_text()
        assert "trusted_content_hash" in config  # plugin hooks also pin the plugin's files

        trusted = machine.codex()
        outputs = model.tool_outputs()

    assert "--dangerously-bypass-hook-trust" not in trusted.argv
    assert not proof.exists(), trusted.describe()
    assert rule_reason(DENIED_RULE) in outputs[-1]
    denied = [r for r in reins.audit(decision="deny") if r["harness"] == "codex"]
    assert [r["hook_event"] for r in denied] == ["PreToolUse"]
