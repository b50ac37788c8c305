"""The plugin bundle in ``hooks/`` and the repo-root marketplace, checked against the documented
formats (JSON Schemas in ``schemas/``, written from the Claude Code and Codex docs) and against
each other: same name and version everywhere, hook commands that run the bundled client for the
right harness, the same events ``reins install`` registers. The real CLIs load the bundle in
``tests/e2e/test_plugin.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from installers import claude_code, codex

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "hooks"
SCHEMAS = Path(__file__).parent / "schemas"
MARKETPLACE = ROOT / ".claude-plugin" / "marketplace.json"
MANAGED = ROOT / "installers" / "managed-settings.json"

CLAUDE_EVENTS = [
    "SessionStart", "SessionEnd", "UserPromptSubmit", "PreToolUse", "PostToolUse",
    "PostToolUseFailure", "PermissionRequest", "Notification", "Stop", "SubagentStart",
    "SubagentStop", "PreCompact",
]  # fmt: skip
CODEX_EVENTS = [
    "SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse",
    "PreCompact", "PostCompact", "SubagentStart", "SubagentStop", "Stop", "SessionEnd",
]  # fmt: skip
# harness -> (manifest folder, plugin-root variable, events it knows, handler keys beyond the
# common ones: Claude Code also has args/async/if, Codex has no args and no http type).
HARNESSES = {
    "claude-code": (".claude-plugin", "${CLAUDE_PLUGIN_ROOT}", CLAUDE_EVENTS, {"args", "async"}),
    "codex": (".codex-plugin", "${PLUGIN_ROOT}", CODEX_EVENTS, set()),
}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def validate(instance: Any, schema: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(instance), key=lambda e: e.path
    )
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


def manifest(harness: str) -> dict:
    return load(PLUGIN / HARNESSES[harness][0] / "plugin.json")


def hooks_file(harness: str) -> Path:
    return PLUGIN / manifest(harness)["hooks"]


def hooks_schema(harness: str) -> dict:
    _, _, events, extra_keys = HARNESSES[harness]
    schema = load(SCHEMAS / "hooks-config.schema.json")
    schema["$defs"]["event"] = {"enum": events}
    handler = schema["$defs"]["handler"]
    allowed = set(handler["properties"]) | extra_keys
    handler["propertyNames"] = {"enum": sorted(allowed)}
    return schema


def handlers(harness: str) -> list[tuple[str, dict]]:
    data = load(hooks_file(harness))
    return [
        (event, handler)
        for event, groups in data["hooks"].items()
        for group in groups
        for handler in group["hooks"]
    ]


def test_claude_plugin_manifest_matches_the_documented_format() -> None:
    validate(manifest("claude-code"), load(SCHEMAS / "claude-plugin.schema.json"))


def test_codex_plugin_manifest_matches_the_documented_format() -> None:
    validate(manifest("codex"), load(SCHEMAS / "codex-plugin.schema.json"))


@pytest.mark.parametrize("harness", HARNESSES)
def test_hooks_files_match_the_documented_format(harness: str) -> None:
    validate(load(hooks_file(harness)), hooks_schema(harness))


def test_marketplace_matches_the_documented_format_and_points_at_the_plugin() -> None:
    market = load(MARKETPLACE)
    validate(market, load(SCHEMAS / "claude-marketplace.schema.json"))
    [entry] = market["plugins"]
    assert (ROOT / entry["source"]).resolve() == PLUGIN
    for harness in HARNESSES:
        assert manifest(harness)["name"] == entry["name"] == "reins"
        assert manifest(harness)["version"] == entry["version"]


def test_schemas_catch_what_the_docs_forbid() -> None:
    """The schemas are not vacuous: each rejects a mistake the CLIs reject or silently drop."""
    bad = [
        (dict(manifest("claude-code"), name="Reins Plugin"), "claude-plugin"),
        (dict(manifest("claude-code"), hooks="../outside.json"), "claude-plugin"),
        (dict(manifest("claude-code"), hook="./hooks.json"), "claude-plugin"),
        (dict(manifest("codex"), hooks="codex-hooks.json"), "codex-plugin"),
        (
            {"name": "reins", "plugins": [{"name": "reins", "source": "./hooks"}]},
            "claude-marketplace",
        ),
    ]
    for instance, name in bad:
        with pytest.raises(AssertionError):
            validate(instance, load(SCHEMAS / f"{name}.schema.json"))
    codex_hooks = load(hooks_file("codex"))
    for broken in (
        dict(codex_hooks, **{"$schema": "x"}),  # Codex rejects the whole file
        {"hooks": {"BeforeTool": codex_hooks["hooks"]["PreToolUse"]}},  # Gemini's name
        {"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "args": []}]}]}},
    ):
        with pytest.raises(AssertionError):
            validate(broken, hooks_schema("codex"))


@pytest.mark.parametrize("harness", HARNESSES)
def test_every_handler_runs_the_bundled_client_for_its_harness(harness: str) -> None:
    variable = HARNESSES[harness][1]
    found = handlers(harness)
    assert found
    for event, handler in found:
        assert handler["command"] == f'python3 -I -S "{variable}/reins_hook.py" {harness}', event
        assert 0 < handler["timeout"] <= 30
    assert (PLUGIN / "reins_hook.py").is_file()


@pytest.mark.parametrize(
    ("harness", "installed"), [("claude-code", claude_code.EVENTS), ("codex", codex.EVENTS)]
)
def test_plugin_covers_the_same_events_as_reins_install(harness: str, installed: tuple) -> None:
    assert sorted({event for event, _ in handlers(harness)}) == sorted(installed)


@pytest.mark.parametrize("harness", HARNESSES)
def test_hook_command_line_runs_and_answers_json(harness: str, tmp_path: Path) -> None:
    """The command string, run by a shell as the harnesses do, with no ~/.reins yet: the client
    still answers with one JSON object and exit 0 (fail open, nothing configured)."""
    command = handlers(harness)[0][1]["command"]
    python_dir = str(Path(sys.executable).parent)
    env = {
        "HOME": str(tmp_path),
        "REINS_HOME": str(tmp_path / "reins"),
        "PATH": f"{python_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "CLAUDE_PLUGIN_ROOT": str(PLUGIN),
        "PLUGIN_ROOT": str(PLUGIN),
    }
    payload = {"hook_event_name": "SessionStart", "session_id": "s", "cwd": str(tmp_path)}
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        input=json.dumps(payload),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), dict), done.stdout


def test_managed_settings_force_enable_the_plugin_of_the_marketplace() -> None:
    settings = load(MANAGED)
    validate(settings, load(SCHEMAS / "claude-managed-settings.schema.json"))
    market = load(MARKETPLACE)
    plugin_id = f"{manifest('claude-code')['name']}@{market['name']}"
    assert settings["enabledPlugins"] == {plugin_id: True}
    assert market["name"] in settings["extraKnownMarketplaces"]
    assert settings["allowManagedHooksOnly"] is True
