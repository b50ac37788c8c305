"""Set and restore variables in a settings ``env`` object (Claude Code ``settings.json``).

What was there before is remembered in the install record's ``extra["env"]`` as
``{name: {"before": value-or-None, "set": value}}``; restoring puts ``before`` back only when the
value is still the one Reins set, so a value the user changed since is left alone. Pure.
"""

from __future__ import annotations


def set_values(settings: dict, values: dict, extra: dict) -> dict:
    """``settings`` with ``env`` holding ``values``; the previous values are remembered."""
    if not values:
        return settings
    result = dict(settings)
    env = dict(result.get("env") or {})
    memory = extra.setdefault("env", {})
    if "env" not in settings:
        extra.setdefault("env_created", True)
    for name, value in values.items():
        if name not in memory:
            memory[name] = {"before": env.get(name), "set": value}
        env[name] = value
    result["env"] = env
    return result


def restore(settings: dict, extra: dict) -> dict:
    """``settings`` with every variable Reins set put back as it was (when still Reins' value)."""
    memory = extra.get("env", {})
    created = extra.get("env_created", False)
    if not memory or not isinstance(settings.get("env"), dict):
        return settings
    result = dict(settings)
    env = dict(result["env"])
    for name, remembered in memory.items():
        if env.get(name) != remembered["set"]:
            continue
        if remembered["before"] is None:
            del env[name]
        else:
            env[name] = remembered["before"]
    if env or not created:
        result["env"] = env
    else:
        del result["env"]
    return result
