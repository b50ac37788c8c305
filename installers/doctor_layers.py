"""What each harness will actually run: its hooks per settings layer, and Codex trust, for doctor.

Reads the managed, project and user settings of a harness (never writes), lists the Reins
handlers in each, and builds the harmless synthetic payload doctor sends.
"""

from __future__ import annotations

import time
from pathlib import Path

from installers import config, hook_entries, jsonfile
from installers.client_files import InstallError


def _settings(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        import tomlkit

        return tomlkit.parse(text).unwrap()
    return jsonfile.parse(text, path)


def effective_hooks(harness: str, project: Path) -> dict:
    """``{"layers": [(layer, description)], "handlers": [Reins handler, ...]}``, highest layer first."""
    layers, handlers, seen = [], [], {}
    for layer, path in config.layers(harness, project):
        if path.resolve() in seen:  # e.g. the project folder is the home folder
            layers.append((layer, f"{path}: same file as the {seen[path.resolve()]} layer"))
            continue
        seen[path.resolve()] = layer
        if not path.is_file():
            layers.append((layer, f"{path}: absent"))
            continue
        try:
            settings = _settings(path)
        except (InstallError, ValueError, OSError) as exc:
            layers.append((layer, f"{path}: unreadable ({exc})"))
            continue
        ours = hook_entries.reins_handlers(settings)
        events = sorted({event for event, _ in ours})
        total = sum(
            len(group.get("hooks", []))
            for groups in (settings.get("hooks") or {}).values()
            if isinstance(groups, list)
            for group in groups
            if isinstance(group, dict)
        )
        text = f"{path}: {len(ours)} Reins hooks ({', '.join(events) or 'none'}), {total - len(ours)} others"
        layers.append((layer, text))
        handlers.extend(handler for event, handler in ours if event in ("PreToolUse", "BeforeTool"))
    return {"layers": layers, "handlers": handlers}


def synthetic_payload(harness: str, project: Path) -> dict:
    """A harmless pre-tool event in the harness's own format (session ``reins-doctor``)."""
    common = {"session_id": "reins-doctor", "cwd": str(project), "transcript_path": ""}
    if harness == "gemini":
        return dict(
            common,
            hook_event_name="BeforeTool",
            timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            tool_name="run_shell_command",
            tool_input={"command": "echo reins doctor", "description": "reins doctor"},
        )
    payload = dict(
        common,
        hook_event_name="PreToolUse",
        tool_name="Bash",
        tool_input={"command": "echo reins doctor"},
        permission_mode="default",
    )
    if harness == "codex":
        payload.update(turn_id="reins-doctor", model="reins-doctor", tool_use_id="call_doctor")
    else:
        payload.update(prompt_id="reins-doctor", tool_use_id="toolu_doctor")
    return payload


def summary(answer: dict) -> str:
    """The decision in a harness answer, in a few words."""
    specific = answer.get("hookSpecificOutput") or {}
    decision = specific.get("permissionDecision") or answer.get("decision") or "no objection"
    reason = specific.get("permissionDecisionReason") or answer.get("reason") or ""
    return f"{decision}{': ' + reason if reason else ''}"
