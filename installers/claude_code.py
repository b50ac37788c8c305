"""Claude Code: Reins hooks (command or http mode) and gateway variables in ``settings.json``.

Command mode runs the local hook client for every event (offline-capable: cached bundle, spool).
Http mode lets Claude Code POST straight to the server (no local process; no offline decisions;
SessionStart stays a command hook because Claude Code has no http SessionStart). Handlers use
the exec form (``args``) when the installed Claude Code knows it (2.1.139+) and
``onFailure: "block"`` for fail-closed when it knows that (2.1.295+).
"""

from __future__ import annotations

from installers import config, env_block, hook_entries, jsonfile
from installers.client_files import hook_command, hook_shell_command, needs_home_env
from installers.records import FileEdit

EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd")
TOOL_EVENTS = ("PreToolUse", "PostToolUse")
ARGS_SINCE = (2, 1, 139)
ON_FAILURE_SINCE = (2, 1, 295)
ALLOW_LISTS = ("allowedHttpHookUrls", "httpHookAllowedEnvVars")


def command_handler(options: config.Options, python: str, version: tuple | None) -> dict:
    argv = hook_command(options.home, "claude-code", python)
    if version is not None and version >= ARGS_SINCE and not needs_home_env(options.home):
        handler = {"type": "command", "command": argv[0], "args": argv[1:]}
    else:
        handler = {
            "type": "command",
            "command": hook_shell_command(options.home, "claude-code", python),
        }
    handler["timeout"] = config.HOOK_TIMEOUT_S
    return handler


def http_handler(options: config.Options) -> dict:
    headers = {"Authorization": f"Bearer ${config.TOKEN_ENV}"}
    if options.agent:
        headers["X-Reins-Agent"] = options.agent
    return {
        "type": "http",
        "url": f"{options.server}/v1/hooks/claude-code",
        "timeout": config.HTTP_HOOK_TIMEOUT_S,
        "headers": headers,
        "allowedEnvVars": [config.TOKEN_ENV],
    }


def groups(options: config.Options, python: str, version: tuple | None) -> dict:
    """``{event: [group]}`` of the Reins hooks for these options."""
    result = {}
    for event in EVENTS:
        if options.mode == "http" and event != "SessionStart":
            handler = http_handler(options)
        else:
            handler = command_handler(options, python, version)
        if options.fail_mode == "closed" and version is not None and version >= ON_FAILURE_SINCE:
            handler["onFailure"] = "block"
        group = {"matcher": "*"} if event in TOOL_EVENTS else {}
        group["hooks"] = [handler]
        result[event] = [group]
    return result


def env_values(options: config.Options) -> dict:
    values = {}
    if options.mode == "http":
        values[config.TOKEN_ENV] = options.token
    if options.gateway:
        values["ANTHROPIC_BASE_URL"] = options.gateway
        values["ANTHROPIC_AUTH_TOKEN"] = options.token
        values["ANTHROPIC_CUSTOM_HEADERS"] = f"X-Reins-Agent: {options.agent or 'interactive'}"
    return values


def _append_allowed(settings: dict, options: config.Options, extra: dict) -> dict:
    """When the user restricts http hooks, let ours through (never add a restriction)."""
    if options.mode != "http":
        return settings
    result = dict(settings)
    wanted = {
        "allowedHttpHookUrls": f"{options.server}/*",
        "httpHookAllowedEnvVars": config.TOKEN_ENV,
    }
    for key, value in wanted.items():
        if isinstance(result.get(key), list) and value not in result[key]:
            result[key] = [*result[key], value]
            added = extra.setdefault("appended", {}).setdefault(key, [])
            if value not in added:
                added.append(value)
    return result


def _remove_allowed(settings: dict, extra: dict) -> dict:
    result = dict(settings)
    for key, values in extra.get("appended", {}).items():
        if isinstance(result.get(key), list):
            result[key] = [item for item in result[key] if item not in values]
    return result


def plan(
    options: config.Options, extra: dict, python: str, version: tuple | None
) -> list[FileEdit]:
    """The one file Claude Code reads for this scope, with Reins merged in."""
    path = config.claude_settings(options.scope, options.project)

    def add(settings: dict) -> dict:
        settings = hook_entries.merge(settings, groups(options, python, version))
        settings = _append_allowed(settings, options, extra)
        return env_block.set_values(settings, env_values(options), extra)

    def remove(settings: dict) -> dict:
        settings = _remove_allowed(hook_entries.remove(settings), extra)
        return env_block.restore(settings, extra)

    # The token lands in ``env``: keep the file private (managed files must stay readable).
    private = bool(env_values(options)) and options.scope != "managed"
    return [jsonfile.edit(path, add, remove, 0o600 if private else 0o644, private)]
