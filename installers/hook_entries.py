"""Merge Reins hook handlers into the event -> groups -> handlers shape, and take them out again.

Claude Code ``settings.json``, Codex ``hooks.json`` and Gemini CLI ``settings.json`` share this
shape: ``{"hooks": {"<Event>": [{"matcher": "...", "hooks": [<handler>, ...]}, ...]}}``. Reins
handlers are recognised by the hook client they run (``reins_hook.py``) or, for Claude Code http
hooks, by their ``/v1/hooks/`` URL. Our groups go at the END of each event's list so the user's
own groups keep their positions (Codex trust keys contain the group index). Pure functions.
"""

from __future__ import annotations

HOOK_FILE = "reins_hook.py"
HTTP_PATH = "/v1/hooks/"


def is_reins_handler(handler: object) -> bool:
    """True for a handler Reins installed (any version, any install location)."""
    if not isinstance(handler, dict):
        return False
    if handler.get("type") == "http":
        return HTTP_PATH in str(handler.get("url", ""))
    words = [str(handler.get("command", ""))] + [str(a) for a in handler.get("args") or []]
    return any(HOOK_FILE in word for word in words)


def strip(hooks: dict) -> dict:
    """``hooks`` (the value of the ``"hooks"`` key) without Reins handlers; emptied groups and
    events are dropped, everything else is kept as it was."""
    result = {}
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            result[event] = groups
            continue
        kept = []
        for group in groups:
            if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
                kept.append(group)
                continue
            handlers = [h for h in group["hooks"] if not is_reins_handler(h)]
            if len(handlers) == len(group["hooks"]):
                kept.append(group)
            elif handlers:
                kept.append(dict(group, hooks=handlers))
        if kept:
            result[event] = kept
    return result


def merge(settings: dict, groups: dict) -> dict:
    """``settings`` with Reins' ``groups`` (``{event: [group, ...]}``) replacing any older ones.

    Running it twice gives the same result as once. Keys other than ``hooks`` are untouched.
    """
    current = settings.get("hooks")
    if current is not None and not isinstance(current, dict):
        raise ValueError('"hooks" must be a JSON object')
    hooks = strip(current or {})
    for event, new_groups in groups.items():
        existing = hooks.get(event, [])
        if not isinstance(existing, list):
            raise ValueError(f'"hooks"."{event}" must be a list of matcher groups')
        hooks[event] = [*existing, *new_groups]
    merged = dict(settings)
    merged["hooks"] = hooks
    return merged


def remove(settings: dict) -> dict:
    """``settings`` without Reins handlers (and without ``hooks`` when nothing else is left)."""
    if not isinstance(settings.get("hooks"), dict):
        return settings
    result = dict(settings)
    hooks = strip(settings["hooks"])
    if hooks:
        result["hooks"] = hooks
    else:
        del result["hooks"]
    return result


def reins_handlers(settings: dict) -> list[tuple[str, dict]]:
    """``[(event, handler)]`` of the Reins handlers in ``settings``, for ``reins doctor``."""
    found = []
    hooks = settings.get("hooks")
    for event, groups in hooks.items() if isinstance(hooks, dict) else ():
        for group in groups if isinstance(groups, list) else []:
            for handler in group.get("hooks", []) if isinstance(group, dict) else []:
                if is_reins_handler(handler):
                    found.append((event, handler))
    return found
