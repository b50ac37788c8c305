"""Reins settings: declared once, read from flags, environment and one YAML file, validated.

Precedence: command-line flag > environment variable > config file > default. Every error
names the setting, the bad value, where it came from and how to fix it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A setting that cannot be used; the message says which, why and the fix."""


@dataclass(frozen=True)
class Setting:
    name: str
    kind: Callable[[Any], Any]
    default: Any
    env: str
    help: str


def _port(value: Any) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError("not between 0 and 65535")
    return port


def _choice(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"not one of {', '.join(choices)}")
        return str(value)

    return check


def _workers(value: Any) -> int:
    workers = int(value)
    if not 1 <= workers <= 64:
        raise ValueError("not between 1 and 64")
    return workers


SETTINGS: tuple[Setting, ...] = (
    Setting("config", str, None, "REINS_CONFIG", "YAML config file"),
    Setting("db", str, "var/reins.db", "REINS_DB", "the store: a SQLite file path"),
    Setting(
        "policies", str, None, "REINS_POLICIES", "policy directory (default: the bundled policies/)"
    ),
    Setting("host", str, "127.0.0.1", "REINS_HOST", "address the server listens on"),
    Setting("port", _port, 8700, "REINS_PORT", "port the server listens on"),
    Setting(
        "workers",
        _workers,
        None,
        "REINS_WORKERS",
        "server worker processes (default: one per core)",
    ),
    Setting(
        "fail_mode",
        _choice("auto", "open", "closed"),
        "auto",
        "REINS_FAIL_MODE",
        "what a hook is told when its event cannot be audited: auto (closed for scheduled runs), open or closed",
    ),
    Setting(
        "log_level",
        _choice("debug", "info", "warning", "error"),
        "info",
        "REINS_LOG_LEVEL",
        "server log level",
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def load(
    flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Resolve every setting. ``flags`` holds command-line values (None = not given)."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    environ = os.environ if environ is None else environ
    config_path = flags.get("config") or environ.get("REINS_CONFIG")
    from_file = _read_file(Path(config_path)) if config_path else {}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in flags:
            raw, origin = flags[setting.name], f"--{setting.name}"
        elif setting.env in environ:
            raw, origin = environ[setting.env], setting.env
        elif setting.name in from_file:
            raw, origin = from_file[setting.name], f"{config_path}"
        else:
            values[setting.name] = setting.default
            continue
        values[setting.name] = _convert(setting, raw, origin)
    return values


def _convert(setting: Setting, raw: Any, origin: str) -> Any:
    try:
        return setting.kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"Config '{setting.name}' has value {raw!r} (from {origin}): {exc}. "
            f"Fix: set it to {setting.help}."
        ) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(
            f"Config file {path} not found. Fix: create it or drop --config/REINS_CONFIG."
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"Config file {path} must be a mapping of settings, got {type(data).__name__}."
        )
    for key in data:
        # Later packages own their own sections (gateway:, server:, ...).
        if key not in _BY_NAME and not isinstance(data[key], dict):
            close = difflib.get_close_matches(str(key), list(_BY_NAME), n=1)
            hint = (
                f" Did you mean '{close[0]}'?"
                if close
                else f" Known settings: {', '.join(_BY_NAME)}."
            )
            raise ConfigError(f"Config file {path}: unknown setting '{key}'.{hint}")
    return data
