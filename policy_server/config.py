"""Reins settings: declared once, read from flags, environment and one YAML file, validated.

Precedence: command-line flag > environment variable > config file > default. Every error
names the setting, the bad value, where it came from and how to fix it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping, Sequence
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


# Goes verbatim into the served install.sh, inside single quotes: letters, digits and URL
# punctuation only, never a quote, space, backslash or ``$``.
_PUBLIC_URL = re.compile(
    r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?"
    r"(/[A-Za-z0-9._~/-]*)?"
)


def check_public_url(value: Any) -> str:
    """An http(s) URL safe to embed in a shell script, without a trailing slash."""
    url = str(value).strip()
    if not _PUBLIC_URL.fullmatch(url):
        raise ValueError(
            "not an http:// or https:// URL made of a host, an optional port and an optional path"
        )
    return url.rstrip("/")


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
    Setting(
        "public_url",
        check_public_url,
        None,
        "REINS_PUBLIC_URL",
        "the URL developer machines reach the server at, e.g. https://reins.example.com "
        "(default: taken from each request's Host / X-Forwarded-* headers)",
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
    return resolve(SETTINGS, flags, environ, from_file, str(config_path))


def resolve(
    settings: Sequence[Setting],
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    from_file: Mapping[str, Any],
    file_label: str,
    prefix: str = "",
) -> dict[str, Any]:
    """Each setting from its flag (None = not given), else its environment variable, else
    ``from_file``, else its default; converted, or a ``ConfigError`` naming it and the fix.
    Every package's settings (``scheduler:``, ``gateway:`` sections) resolve through here."""
    values: dict[str, Any] = {}
    for setting in settings:
        if flags.get(setting.name) is not None:
            raw, origin = flags[setting.name], f"--{setting.name.replace('_', '-')}"
        elif setting.env in environ:
            raw, origin = environ[setting.env], setting.env
        elif setting.name in from_file:
            raw, origin = from_file[setting.name], file_label
        else:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.kind(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"Config '{prefix}{setting.name}' has value {raw!r} (from {origin}): {exc}. "
                f"Fix: set it to {setting.help}."
            ) from None
    return values


def read_section(path: Path, section: str, settings: Sequence[Setting]) -> dict[str, Any]:
    """The ``section:`` mapping of the config file at ``path`` ({} when absent); unknown keys in
    it are an error listing the known ones."""
    found = _load_yaml(path).get(section)
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise ConfigError(f"Config file {path}: `{section}:` must be a mapping of settings")
    known = [s.name for s in settings]
    unknown = sorted(set(found) - set(known))
    if unknown:
        raise ConfigError(
            f"Config file {path}: unknown {section} setting(s) {unknown}. Known: {', '.join(known)}."
        )
    return found


def _read_file(path: Path) -> dict[str, Any]:
    data = _load_yaml(path)
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


def _load_yaml(path: Path) -> dict[str, Any]:
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
    return data
