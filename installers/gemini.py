"""Gemini CLI: Reins hooks in the extension ``reins`` (user scope) or ``settings.json``, and the
gateway in ``.gemini/.env``.

User scope writes the hooks as the Gemini extension ``reins`` (``gemini_extension``): Gemini CLI
0.61.0 runs settings-file hooks only in folders it trusts, extension hooks in every folder. The
user's ``settings.json`` keeps only what the gateway needs, and a reinstall over an older install
takes the Reins hooks out of it (never anyone else's), so they do not run twice. Project and
managed scopes write the hooks into that scope's ``settings.json``.

Hooks: BeforeTool / AfterTool / BeforeAgent / SessionStart / SessionEnd, command type only,
timeout in MILLISECONDS. The gateway needs environment variables (Gemini settings have no env
block); Gemini CLI loads ``.gemini/.env``, so ``GOOGLE_GEMINI_BASE_URL`` and ``GEMINI_API_KEY``
(= the Reins token, sent as ``x-goog-api-key``) go there, with ``GEMINI_CLI_CUSTOM_HEADERS``
carrying ``X-Reins-Agent``. A variable already exported in the shell wins over ``.env``. The
gateway also needs ``security.auth.selectedType`` in ``settings.json`` (see ``AUTH_TYPE``).

A managed install (``/etc/gemini-cli/settings.json``) also keeps the hooks on against the other
settings files, as the real Gemini CLI 0.61.0 shows in ``tests/e2e/test_gemini_hooks_tamper.py``:
system settings win for ``hooksConfig.enabled``, so it pins that to true; ``hooksConfig.disabled``
is a union over all files that matches a hook's ``name`` (its ``command`` only when it has no
name), so the managed hooks get a name a repository cannot guess instead of ``reins``.

Folder trust: Gemini CLI 0.61.0 registers every hook of every settings file (system ones
included) as a *project* hook, and runs none of them in a folder it does not trust (folder trust
is on by default; a folder the user declined, or never answered for, is untrusted), as
``tests/e2e/test_gemini_folder_trust.py`` shows. A managed install with ``--trust-all-folders``
also pins ``security.folderTrust.enabled: false``: the system value wins over the user's, and
every folder then counts as trusted. That is the admin's choice, never the default: it also
switches off Gemini's own protection (a repository's settings, MCP servers and ``.env`` load
without asking; README, "Gemini CLI folder trust").
"""

from __future__ import annotations

import os
import secrets

from installers import config, gemini_extension, hook_entries, jsonfile
from installers.client_files import InstallError, hook_shell_command
from installers.records import FileEdit

EVENTS = ("SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "SessionEnd")
# Gemini CLI 0.61.0 reads GOOGLE_GEMINI_BASE_URL as the auth type "gateway" and then refuses it
# ("Invalid auth method selected", exit 41) unless the settings name one. With "gemini-api-key"
# it still uses the base URL and sends GEMINI_API_KEY as x-goog-api-key.
AUTH_TYPE = "gemini-api-key"
# Settings Reins sets besides hooks: memory name in ``extra`` -> (key path, value).
PINNED = {
    "auth_type": (("security", "auth", "selectedType"), AUTH_TYPE),  # with --gateway
    "hooks_enabled": (("hooksConfig", "enabled"), True),  # managed: beats workspace and user
    # managed --trust-all-folders: an untrusted folder runs no hooks at all, so none may be
    "folder_trust_off": (("security", "folderTrust", "enabled"), False),
}
HOOK_NAME = "reins"


def hook_name(options: config.Options, extra: dict) -> str:
    """``reins`` (project scope), or for a managed or user (extension) install a name kept across
    reinstalls that no repository can guess (a workspace's ``hooksConfig.disabled``, which
    matches extension hooks too, cannot be overridden, only missed)."""
    if options.scope == "project":
        return HOOK_NAME
    return extra.setdefault("hook_name", f"{HOOK_NAME}-{secrets.token_hex(8)}")


def groups(options: config.Options, python: str, name: str) -> dict:
    command = hook_shell_command(options.home, "gemini", python)
    handler = {
        "type": "command",
        "name": name,
        "command": command,
        "timeout": config.HOOK_TIMEOUT_S * 1000,
    }
    return {event: [{"hooks": [dict(handler)]}] for event in EVENTS}


def set_dotenv(text: str, values: dict, extra: dict) -> str:
    """``text`` (a ``.env`` file) with ``NAME=value`` lines for ``values``; old lines remembered."""
    if not values:
        return text
    lines = text.splitlines()
    memory = extra.setdefault("dotenv", {})
    for name, value in values.items():
        line = f"{name}={value}"
        index = next(
            (i for i, old in enumerate(lines) if old.split("=", 1)[0].strip() == name), None
        )
        if name not in memory:
            memory[name] = {"before": None if index is None else lines[index], "set": line}
        if index is None:
            lines.append(line)
        else:
            lines[index] = line
    return "\n".join(lines) + "\n" if lines else ""


def restore_dotenv(text: str, extra: dict) -> str:
    """``text`` with each line Reins set put back (or removed), when still Reins' line."""
    memory = extra.get("dotenv", {})
    lines = text.splitlines()
    result = []
    for line in lines:
        name = line.split("=", 1)[0].strip()
        remembered = memory.get(name)
        if remembered is None or line != remembered["set"]:
            result.append(line)
        elif remembered["before"] is not None:
            result.append(remembered["before"])
    ending = "\n" if text.endswith("\n") or not lines else ""
    return "\n".join(result) + ending if result else ""


def set_setting(settings: dict, keys: tuple[str, ...], value: object, memory: dict) -> dict:
    """``settings`` with ``value`` at the nested ``keys`` (objects made as needed, key order kept);
    the value it replaces is remembered in ``memory`` the first time."""
    head, *rest = keys
    node = dict(settings)
    if rest:
        child = node.get(head)
        node[head] = set_setting(
            child if isinstance(child, dict) else {}, tuple(rest), value, memory
        )
    else:
        memory.setdefault("before", node.get(head))
        memory.setdefault("set", value)
        node[head] = value
    return node


def restore_setting(settings: dict, keys: tuple[str, ...], memory: dict) -> dict:
    """``settings`` with the value ``set_setting`` put at ``keys`` taken back (when it is still
    that value); objects left empty are dropped."""
    if "set" not in memory:
        return settings
    head, *rest = keys
    if head not in settings:
        return settings
    if rest:
        if not isinstance(settings[head], dict):
            return settings
        value = restore_setting(settings[head], tuple(rest), memory)
        if value is settings[head]:
            return settings
        keep = bool(value)
    elif settings[head] != memory["set"]:
        return settings
    else:
        value, keep = memory["before"], memory["before"] is not None
    node = dict(settings)
    if keep:
        node[head] = value
    else:
        del node[head]
    return node


def _settings_edit(options: config.Options, extra: dict, wanted: dict | None) -> FileEdit:
    """The scope's ``settings.json``: the hooks (``wanted``; None: none, and older Reins hooks
    taken out) and the pinned settings."""
    path = config.gemini_settings(options.scope, options.project)
    pinned = ["auth_type"] if options.gateway else []
    if options.scope == "managed":
        pinned.append("hooks_enabled")
    if options.trust_all_folders:  # managed only (config.validate)
        pinned.append("folder_trust_off")

    def add(settings: dict) -> dict:
        if wanted is not None:
            settings = hook_entries.merge(settings, wanted)
        for memo, (keys, value) in PINNED.items():
            if memo in pinned:
                settings = set_setting(settings, keys, value, extra.setdefault(memo, {}))
            elif memo in extra:  # pinned by an earlier install, not asked for now: give it back
                settings = restore_setting(settings, keys, extra.pop(memo))
        return settings

    def remove(settings: dict) -> dict:
        if hook_entries.reins_handlers(settings) and wanted is None:
            extra["moved_hooks"] = str(path)  # an older install's: the install says so
        settings = hook_entries.remove(settings)
        for memo, (keys, _) in PINNED.items():
            settings = restore_setting(settings, keys, extra.get(memo, {}))
        return settings

    return jsonfile.edit(path, add, remove)


def _dotenv_edit(options: config.Options, extra: dict) -> FileEdit:
    values = {}
    if options.gateway:
        values = {
            "GOOGLE_GEMINI_BASE_URL": options.gateway,
            "GEMINI_API_KEY": options.token,
            "GEMINI_CLI_CUSTOM_HEADERS": f"X-Reins-Agent: {options.agent or 'interactive'}",
        }
    return FileEdit(
        config.gemini_env(options.scope, options.project),
        lambda text: set_dotenv(restore_dotenv(text, extra), values, extra),
        lambda text: restore_dotenv(text, extra),
        0o600,
        private=True,
    )


def plan(options: config.Options, extra: dict, python: str) -> list[FileEdit]:
    if options.gateway and options.scope == "managed":
        raise InstallError(
            "--gateway with --scope managed is not supported for Gemini CLI: set"
            " GOOGLE_GEMINI_BASE_URL in the system environment instead"
        )
    extra.pop("moved_hooks", None)
    wanted = groups(options, python, hook_name(options, extra))
    if options.scope == "user":
        edits = gemini_extension.edits(os.environ, wanted)
        settings = config.gemini_settings(options.scope, options.project)
        if settings.exists() or options.gateway or any(memo in extra for memo in PINNED):
            edits.append(_settings_edit(options, extra, None))  # else there is nothing to do
    else:
        edits = [_settings_edit(options, extra, wanted)]
    if options.gateway or extra.get("dotenv"):
        # Also without --gateway when an earlier install set it: that edit must be taken back.
        edits.append(_dotenv_edit(options, extra))
    return edits


def install_lines(extra: dict) -> list[str]:
    """What the install output adds for Gemini CLI (the hooks moved out of ``settings.json``)."""
    moved = extra.pop("moved_hooks", None)
    if not moved:
        return []
    return [
        f"moved the Reins hooks out of {moved} into the Gemini extension"
        f" {gemini_extension.NAME!r} (so they do not run twice; other hooks there are kept)"
    ]
