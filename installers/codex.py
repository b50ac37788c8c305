"""Codex: Reins hooks in ``hooks.json`` (or managed ``requirements.toml``), their trust, the gateway.

- user / project scope: the hooks go to ``$CODEX_HOME/hooks.json`` / ``<project>/.codex/hooks.json``
  and their trust hashes, read from the real ``codex app-server``, to ``[hooks.state]`` in
  ``$CODEX_HOME/config.toml`` (only the Reins hooks are trusted, never the user's others);
- managed scope: ``/etc/codex/requirements.toml`` with ``[hooks] managed_dir``, the hook tables
  (managed hooks are trusted by Codex itself) and ``[features] hooks = true``: without that pin
  ``[features] hooks = false`` in the user's config, in a trusted project's ``.codex/config.toml``
  or on the command line (``--disable hooks``) switches every hook off, managed ones and
  ``allow_managed_hooks_only`` included; with it none of them can (Codex 0.171.0,
  ``tests/e2e/test_codex_hooks_switch.py``). Uninstall gives the old value back;
- ``--gateway``: ``[model_providers.reins]`` (``wire_api = "responses"``, token from
  ``$REINS_TOKEN`` via ``env_key``) and ``model_provider = "reins"`` in ``config.toml``.

Codex answers a deny only when it carries a non-empty reason; the hook client guarantees that.
TOML is edited with tomlkit so the user's comments, order and formatting survive.
"""

from __future__ import annotations

from pathlib import Path

import tomlkit

from installers import codex_toml, config, harness_cli, hook_entries, jsonfile
from installers.client_files import hook_shell_command
from installers.codex_trust import CodexMissing, list_hooks, reins_hooks
from installers.records import FileEdit

EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd")
PROVIDER = "reins"


# Codex 0.171 clamps a SessionEnd hook's timeout to 3 s and warns on every run otherwise.
SESSION_END_TIMEOUT_S = 3


def handler(options: config.Options, python: str, timeout: int = config.HOOK_TIMEOUT_S) -> dict:
    command = hook_shell_command(options.home, "codex", python)
    return {"type": "command", "command": command, "timeout": timeout}


def groups(options: config.Options, python: str) -> dict:
    """No matcher: Codex runs a matcher-less group for every tool, like ``*`` in Claude Code."""
    return {event: [{"hooks": [handler(options, python, timeout_for(event))]}] for event in EVENTS}


def timeout_for(event: str) -> int:
    if event == "SessionEnd":
        return min(config.HOOK_TIMEOUT_S, SESSION_END_TIMEOUT_S)
    return config.HOOK_TIMEOUT_S


def provider(options: config.Options) -> dict:
    return {
        "name": "Reins gateway",
        "base_url": f"{options.gateway}/v1",
        "wire_api": "responses",
        "env_key": config.TOKEN_ENV,
        "http_headers": {"X-Reins-Agent": options.agent or "interactive"},
        "env_http_headers": {"X-Reins-Run": "REINS_RUN"},
    }


def trust(options: config.Options, hooks_file: Path, extra: dict) -> dict:
    """``{key: hash}`` for the Reins hooks in ``hooks_file``, from the real Codex.

    Records in ``extra["trust"]`` what happened so the CLI can say it (codex missing, untrusted)."""
    codex = harness_cli.find("codex")
    if codex is None:
        extra["trust"] = {"status": "codex-missing"}
        return {}
    cwd = options.project if options.project.is_dir() else Path.home()
    try:
        seen = reins_hooks(list_hooks(codex, config.codex_home(), cwd), hooks_file.resolve())
    except CodexMissing:
        extra["trust"] = {"status": "codex-missing"}
        return {}
    hashes = {h["key"]: h["currentHash"] for h in seen if h.get("currentHash")}
    extra["trust"] = {"status": "trusted" if hashes else "not-listed", "keys": sorted(hashes)}
    return hashes


def pin_hooks_feature(doc: tomlkit.TOMLDocument, extra: dict) -> None:
    """``[features] hooks = true`` in requirements.toml, remembering the admin's value in ``extra``."""
    features = doc.get("features")
    if features is None:
        features = doc["features"] = tomlkit.table()
    before = features.get("hooks")
    extra.setdefault("features_hooks", {"before": before if isinstance(before, bool) else None})
    features["hooks"] = True


def unpin_hooks_feature(doc: tomlkit.TOMLDocument, extra: dict) -> None:
    """Give back the value ``pin_hooks_feature`` replaced, unless an admin changed it since."""
    memory = extra.pop("features_hooks", None)
    features = doc.get("features")
    if memory is None or features is None or features.get("hooks") is not True:
        return
    if memory["before"] is None:
        del features["hooks"]
        if not features:
            del doc["features"]
    else:
        features["hooks"] = memory["before"]


def _config_edit(options: config.Options, extra: dict, hooks_file: Path | None) -> FileEdit:
    path = config.codex_config(options.scope, options.project)

    def add(doc: tomlkit.TOMLDocument) -> None:
        if hooks_file is not None:
            hashes = trust(options, hooks_file, extra)
            codex_toml.set_trust(doc, hashes, extra)
        if options.gateway:
            codex_toml.set_provider(doc, PROVIDER, provider(options), extra)

    def remove(doc: tomlkit.TOMLDocument) -> None:
        codex_toml.remove_trust(doc, extra)
        codex_toml.remove_provider(doc, PROVIDER, extra)

    return codex_toml.edit(path, add, remove)


def plan(options: config.Options, extra: dict, python: str) -> list[FileEdit]:
    """hooks.json (or requirements.toml) first, then config.toml: trust needs the hooks on disk."""
    wanted = groups(options, python)
    if options.scope == "managed":
        path = config.codex_hooks_file("managed", options.project)

        def add_managed(doc: tomlkit.TOMLDocument) -> None:
            codex_toml.set_managed_hooks(doc, str(options.home), wanted)
            pin_hooks_feature(doc, extra)

        remove_hooks = codex_toml.remove_managed_hooks(str(options.home))

        def remove_managed(doc: tomlkit.TOMLDocument) -> None:
            remove_hooks(doc)
            unpin_hooks_feature(doc, extra)

        edits = [codex_toml.edit(path, add_managed, remove_managed)]
        if options.gateway or extra.get("provider"):  # also to take back an earlier --gateway
            edits.append(_config_edit(options, extra, None))
        return edits
    hooks_file = config.codex_hooks_file(options.scope, options.project)
    hooks_edit = jsonfile.edit(
        hooks_file, lambda s: hook_entries.merge(s, wanted), hook_entries.remove
    )
    return [hooks_edit, _config_edit(options, extra, hooks_file)]
