"""Gemini CLI: Reins hooks in ``settings.json`` and the gateway in ``.gemini/.env``.

Hooks: BeforeTool / AfterTool / BeforeAgent / SessionStart / SessionEnd, command type only,
timeout in MILLISECONDS. The gateway needs environment variables (Gemini settings have no env
block); Gemini CLI loads ``.gemini/.env``, so ``GOOGLE_GEMINI_BASE_URL`` and ``GEMINI_API_KEY``
(= the Reins token, sent as ``x-goog-api-key``) go there, with ``GEMINI_CLI_CUSTOM_HEADERS``
carrying ``X-Reins-Agent``. A variable already exported in the shell wins over ``.env``. The
gateway also needs ``security.auth.selectedType`` in ``settings.json`` (see ``AUTH_TYPE``).
"""

from __future__ import annotations

from installers import config, hook_entries, jsonfile
from installers.client_files import InstallError, hook_shell_command
from installers.records import FileEdit

EVENTS = ("SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "SessionEnd")
# Gemini CLI 0.61.0 reads GOOGLE_GEMINI_BASE_URL as the auth type "gateway" and then refuses it
# ("Invalid auth method selected", exit 41) unless the settings name one. With "gemini-api-key"
# it still uses the base URL and sends GEMINI_API_KEY as x-goog-api-key.
AUTH_TYPE = "gemini-api-key"


def groups(options: config.Options, python: str) -> dict:
    command = hook_shell_command(options.home, "gemini", python)
    handler = {
        "type": "command",
        "name": "reins",
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


def set_auth_type(settings: dict, extra: dict) -> dict:
    """``settings`` with ``security.auth.selectedType`` = ``AUTH_TYPE``; the old value remembered."""
    security = settings.get("security")
    security = dict(security) if isinstance(security, dict) else {}
    auth = dict(security["auth"]) if isinstance(security.get("auth"), dict) else {}
    extra.setdefault("auth_type", {"before": auth.get("selectedType"), "set": AUTH_TYPE})
    auth["selectedType"] = AUTH_TYPE
    return {**settings, "security": {**security, "auth": auth}}


def restore_auth_type(settings: dict, extra: dict) -> dict:
    """``settings`` with the auth type Reins set put back as it was (when still Reins' value)."""
    memory = extra.get("auth_type")
    security = settings.get("security")
    auth = security.get("auth") if isinstance(security, dict) else None
    if not memory or not isinstance(auth, dict) or auth.get("selectedType") != memory["set"]:
        return settings
    auth = {k: v for k, v in auth.items() if k != "selectedType"}
    if memory["before"] is not None:
        auth["selectedType"] = memory["before"]
    security = {k: v for k, v in security.items() if k != "auth"} | ({"auth": auth} if auth else {})
    rest = {k: v for k, v in settings.items() if k != "security"}
    return {**settings, "security": security} if security else rest


def plan(options: config.Options, extra: dict, python: str) -> list[FileEdit]:
    wanted = groups(options, python)
    path = config.gemini_settings(options.scope, options.project)

    def add(settings: dict) -> dict:
        settings = hook_entries.merge(settings, wanted)
        return set_auth_type(settings, extra) if options.gateway else settings

    def remove(settings: dict) -> dict:
        return restore_auth_type(hook_entries.remove(settings), extra)

    edits = [jsonfile.edit(path, add, remove)]
    if options.gateway and options.scope == "managed":
        raise InstallError(
            "--gateway with --scope managed is not supported for Gemini CLI: set"
            " GOOGLE_GEMINI_BASE_URL in the system environment instead"
        )
    if options.gateway or extra.get("dotenv"):
        # Also without --gateway when an earlier install set it: that edit must be taken back.
        values = {}
        if options.gateway:
            values = {
                "GOOGLE_GEMINI_BASE_URL": options.gateway,
                "GEMINI_API_KEY": options.token,
                "GEMINI_CLI_CUSTOM_HEADERS": f"X-Reins-Agent: {options.agent or 'interactive'}",
            }
        edits.append(
            FileEdit(
                config.gemini_env(options.scope, options.project),
                lambda text: set_dotenv(restore_dotenv(text, extra), values, extra),
                lambda text: restore_dotenv(text, extra),
                0o600,
                private=True,
            )
        )
    return edits
