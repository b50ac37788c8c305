"""What each harness will actually run: its hooks per settings layer, and Codex trust, for doctor.

Reads the managed, project and user settings of a harness (never writes), lists the Reins
handlers in each, finds the settings that would make Claude Code or Gemini CLI skip them (for
Codex, in the config layers the real Codex reports), and builds the harmless synthetic payload
doctor sends.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from installers import config, gemini_extension, hook_entries, jsonfile
from installers.client_files import InstallError


def _settings(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        import tomlkit

        return tomlkit.parse(text).unwrap()
    return jsonfile.parse(text, path)


def read_layers(harness: str, project: Path) -> list[tuple[str, Path, dict | None, str]]:
    """Each settings layer of ``harness``, highest first, as ``(layer, path, settings, note)``:
    ``settings`` is None when the file is absent, unreadable or an earlier layer's file (``note``
    says which). For Gemini CLI the hooks file of the extension ``reins`` comes last (it holds
    only ``hooks``; its ``hooksConfig`` would be ignored)."""
    layers, seen = [], {}
    paths = config.layers(harness, project)
    if harness == "gemini":  # a user-scope install's hooks: read as a layer, loaded last
        paths.append(("extension", gemini_extension.folder(os.environ) / gemini_extension.HOOKS))
    for layer, path in paths:
        if path.resolve() in seen:  # e.g. the project folder is the home folder
            layers.append((layer, path, None, f"same file as the {seen[path.resolve()]} layer"))
            continue
        seen[path.resolve()] = layer
        if not path.is_file():
            layers.append((layer, path, None, "absent"))
            continue
        try:
            layers.append((layer, path, _settings(path), ""))
        except (InstallError, ValueError, OSError) as exc:
            layers.append((layer, path, None, f"unreadable ({exc})"))
    return layers


def effective_hooks(harness: str, project: Path) -> dict:
    """``{"layers": [(layer, description)], "handlers": [Reins handler, ...]}``, highest layer first."""
    layers, handlers = [], []
    for layer, path, settings, note in read_layers(harness, project):
        if settings is None:
            layers.append((layer, f"{path}: {note}"))
            continue
        ours = hook_entries.reins_handlers(settings)
        events = sorted({event for event, _ in ours})
        hooks = settings.get("hooks")
        total = sum(
            len(group.get("hooks", []))
            for groups in (hooks.values() if isinstance(hooks, dict) else ())
            if isinstance(groups, list)
            for group in groups
            if isinstance(group, dict)
        )
        text = f"{path}: {len(ours)} Reins hooks ({', '.join(events) or 'none'}), {total - len(ours)} others"
        layers.append((layer, text))
        handlers.extend(handler for event, handler in ours if event in ("PreToolUse", "BeforeTool"))
    return {"layers": layers, "handlers": handlers}


def claude_disable_all_hooks(
    layers: list[tuple[str, Path, dict | None, str]],
) -> tuple[str, Path] | None:
    """The ``(layer, path)`` whose ``disableAllHooks: true`` Claude Code obeys; None when none.

    As read in the Claude Code 2.1.197 bundle (``tests/e2e/test_claude_hooks_switch.py`` shows a
    project file switching the hooks off and a local file switching them back on): settings merge
    user < project < local < managed and the highest layer that sets the key decides. True there
    switches off every hook but the managed ones (2.1.49+); true in the managed layer switches off
    the managed ones too. Claude Code compares with ``=== true`` and its schema wants a boolean:
    other values are skipped, so doctor errs towards a failure.
    """
    for layer, path, settings, _ in layers:  # highest first
        value = (settings or {}).get("disableAllHooks")
        if isinstance(value, bool):
            return (layer, path) if value else None
    return None


CODEX_HOOKS_KEYS = ("hooks", "codex_hooks")  # the feature's key, then its deprecated alias


def codex_hooks_feature(settings: dict) -> tuple[bool, dict | None, str]:
    """Whether Codex runs hooks at all, the layer that says so (None: the default, on) and the
    key it uses (``hooks`` or ``codex_hooks``).

    ``settings`` is Codex's own ``config/read`` answer (``codex_trust.read_state``): the merged
    ``config`` of the layers it loaded (a project's ``.codex/config.toml`` only when the project
    is trusted) and those ``layers``, highest first. As Codex 0.171.0 decides (checked with
    ``codex features list``): the merged ``features.hooks`` wins, from any layer, over the alias
    ``features.codex_hooks``, which counts only when ``hooks`` is set nowhere. A requirements pin
    (``[features] hooks = true`` in requirements.toml) outranks all of this; the caller checks it.
    """
    features = (settings.get("config") or {}).get("features") or {}
    for key in CODEX_HOOKS_KEYS:
        value = features.get(key)
        if not isinstance(value, bool):
            continue
        for layer in settings.get("layers") or []:
            if not layer.get("disabledReason") and _codex_features(layer).get(key) is value:
                return value, layer, key
        return value, None, key
    return True, None, "hooks"


def codex_skipped_switch_offs(settings: dict) -> list[dict]:
    """The layers Codex skipped (an untrusted project's) that would switch the hooks off once
    loaded: trusting the project, as Codex asks on its first interactive start, does that."""
    merged = (settings.get("config") or {}).get("features") or {}
    found = []
    for layer in settings.get("layers") or []:
        features = _codex_features(layer)
        hooks_set = "hooks" in features or isinstance(merged.get("hooks"), bool)
        key = "hooks" if hooks_set else "codex_hooks"  # hooks set anywhere outranks the alias
        if layer.get("disabledReason") and features.get(key) is False:
            found.append(layer)
    return found


def codex_profile_switch_offs(codex_home: Path) -> list[tuple[Path, str]]:
    """``(file, key)`` for each profile (``$CODEX_HOME/<name>.config.toml``, in effect only with
    ``codex --profile <name>``) that switches every hook off; unreadable files are skipped
    (Codex refuses to start with them)."""
    found = []
    for path in sorted(Path(codex_home).glob("*.config.toml")):
        try:
            features = _settings(path).get("features")
        except (InstallError, ValueError, OSError):
            continue
        features = features if isinstance(features, dict) else {}
        key = "hooks" if "hooks" in features else "codex_hooks"
        if features.get(key) is False:
            found.append((path, key))
    return found


def codex_layer_file(layer: dict) -> str:
    """The file of a ``config/read`` layer (or its kind, for a layer that is no file)."""
    name = layer.get("name") or {}
    if name.get("file"):
        return str(name["file"])
    if name.get("dotCodexFolder"):
        return str(Path(name["dotCodexFolder"]) / "config.toml")
    return str(name.get("type") or "unknown layer")


def _codex_features(layer: dict) -> dict:
    features = (layer.get("config") or {}).get("features")
    return features if isinstance(features, dict) else {}


def gemini_switch_offs(layers: list[tuple[str, Path, dict | None, str]]) -> list[tuple[str, str]]:
    """``(problem, fix)`` for each setting in ``layers`` (``read_layers``, of a managed file
    Gemini CLI loads) that makes Gemini CLI skip the Reins hooks; [] when none does.

    Gemini CLI 0.61.0 merges settings system > workspace > user, but ``hooksConfig.disabled`` is
    the union of all files and names a hook by its ``name`` (by its ``command`` only without a
    name), and a workspace ``hooks`` that is no object replaces the user's hooks (system hooks are
    merged after it). Workspace settings count only in trusted folders; this assumes trusted.
    Both ``hooksConfig`` keys also switch off the hooks of the extension ``reins`` (a user-scope
    install), which no workspace ``hooks`` can drop; its own file has no ``hooksConfig``.
    """
    loaded = [(layer, path, settings) for layer, path, settings, _ in layers if settings]
    configs = [(layer, path, s) for layer, path, s in loaded if layer != "extension"]
    problems = []
    for layer, path, settings in configs:  # highest first: the first layer that sets it wins
        enabled = _hooks_config(settings).get("enabled")
        if enabled is None:
            continue
        # Gemini reads "false" (any case) as false, and keeps other non-booleans, which then
        # count as JavaScript counts them (0 and "" are false; False == 0 here too).
        if enabled in (0, "") or str(enabled).lower() == "false":
            problems.append(
                (
                    f"{path} ({layer}) sets hooksConfig.enabled: {json.dumps(enabled)}, so"
                    " Gemini CLI runs no hooks at all",
                    "remove it; system settings win, so a managed install (`reins install gemini"
                    " --scope managed`, as root) keeps hooksConfig.enabled true",
                )
            )
        break
    names = {
        handler.get("name") or handler.get("command")
        for _, _, settings in loaded
        for _, handler in hook_entries.reins_handlers(settings)
    }
    for layer, path, settings in configs:
        disabled = _hooks_config(settings).get("disabled", [])
        for name in disabled if isinstance(disabled, list) else [disabled]:
            if name in names:
                problems.append(
                    (
                        f"{path} ({layer}) lists {name!r} in hooksConfig.disabled, so Gemini CLI"
                        " skips the Reins hooks of that name",
                        "remove that entry (no Gemini CLI setting overrides hooksConfig.disabled;"
                        " managed and user-scope installs name their hooks so that no repository"
                        " can guess it)",
                    )
                )
    by_layer = {layer: (path, settings) for layer, path, settings in loaded}
    path, workspace = by_layer.get("project", (None, {}))
    dropped = hook_entries.reins_handlers(by_layer.get("user", (None, {}))[1])
    kept = [
        handler
        for layer in ("managed", "extension")
        for handler in hook_entries.reins_handlers(by_layer.get(layer, (None, {}))[1])
    ]
    if "hooks" in workspace and not isinstance(workspace["hooks"], dict) and dropped and not kept:
        problems.append(
            (
                f'{path} (project) sets "hooks" to {json.dumps(workspace["hooks"])}, so Gemini'
                " CLI drops the hooks of the user settings, Reins' included",
                "remove it; managed hooks (`reins install gemini --scope managed`) survive it",
            )
        )
    return problems


def _hooks_config(settings: dict) -> dict:
    value = settings.get("hooksConfig")
    return value if isinstance(value, dict) else {}


def gemini_system_file_problem(path: Path) -> str:
    """Why Gemini CLI would skip its system settings file ``path`` ('' if it loads it): the file
    and every folder above it must be owned by root and not writable by group or others."""
    for item in [path, *path.parents]:
        try:
            stat = item.stat()
        except OSError as exc:
            return f"cannot check {item}: {exc}"
        if stat.st_uid != 0:
            return f"{item} is not owned by root"
        if stat.st_mode & 0o022:
            return f"{item} is writable by group or others (mode {stat.st_mode & 0o777:o})"
    return ""


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
