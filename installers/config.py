"""Installer settings: the options of ``reins install``, validated once, and where each file lives.

Every path the installers touch is computed here from the scope and the environment
(``HOME``, ``CODEX_HOME``, ``CLAUDE_CONFIG_DIR``, ``REINS_HOME``), so the harness modules never
guess. ``REINS_MANAGED_ROOT`` prefixes the system-wide (managed) locations such as
``/etc/codex/requirements.toml``; tests and image builders point it at a staging folder.
This module does no I/O besides reading the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from installers.client_files import FAIL_MODES, HARNESSES, InstallError, default_home

SCOPES = ("user", "project", "managed")
MODES = ("command", "http")
HOOK_TIMEOUT_S = (
    10  # the client gives up on the server after ~3 s; this only bounds a stuck interpreter
)
HTTP_HOOK_TIMEOUT_S = 5
TOKEN_ENV = "REINS_TOKEN"  # the env var Claude Code http hooks and the Codex gateway provider read
MANAGED_HOME = "/opt/reins"  # the client's home for managed installs (under REINS_MANAGED_ROOT)


@dataclass
class Options:
    """One ``reins install`` request, validated by :func:`validate`."""

    harness: str
    server: str
    token: str
    agent: str = ""
    scope: str = "user"
    mode: str = "command"
    fail_mode: str | None = None
    gateway: str | None = None
    python: str | None = None
    project: Path = field(default_factory=Path.cwd)
    reins_home: Path | None = None
    trust_all_folders: bool = False  # Gemini CLI, managed: pin folder trust off

    @property
    def home(self) -> Path:
        return client_home(self.scope, self.reins_home)


def client_home(scope: str, reins_home: Path | None = None) -> Path:
    """Where the hook client lives: ``--reins-home``, else ``/opt/reins`` (managed) or ``~/.reins``."""
    if reins_home is not None:
        return Path(reins_home).expanduser().resolve()
    if scope == "managed":
        return managed_path(MANAGED_HOME)
    return default_home().resolve()


def _check_url(flag: str, value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InstallError(
            f"{flag} {value!r} is not a URL; expected e.g. http://reins.example:8700"
        )
    return value.rstrip("/")


def validate(options: Options) -> Options:
    """Check every option and normalise URLs; raises ``InstallError`` naming the bad flag."""
    if options.harness not in HARNESSES:
        raise InstallError(
            f"unknown harness {options.harness!r}; use one of {', '.join(HARNESSES)}"
        )
    if options.scope not in SCOPES:
        raise InstallError(f"--scope {options.scope!r} must be one of {', '.join(SCOPES)}")
    if options.mode not in MODES:
        raise InstallError(f"--mode {options.mode!r} must be one of {', '.join(MODES)}")
    if options.mode == "http" and options.harness != "claude-code":
        raise InstallError(
            f"--mode http is Claude Code only; {options.harness} runs command hooks (drop --mode)"
        )
    if options.fail_mode is not None and options.fail_mode not in FAIL_MODES:
        raise InstallError(f"--fail-mode {options.fail_mode!r} must be one of open, closed")
    if options.trust_all_folders and (options.harness != "gemini" or options.scope != "managed"):
        raise InstallError(
            "--trust-all-folders is for `reins install gemini --scope managed` only (it pins"
            " Gemini CLI's folder trust off in the system settings); drop it"
        )
    options.server = _check_url("--server", options.server)
    if options.gateway is not None:
        options.gateway = _check_url("--gateway", options.gateway)
    if not options.token or any(c.isspace() for c in options.token):
        raise InstallError(
            "--token is empty or contains spaces; pass the token `reins token create` printed"
        )
    if options.agent and not all(c.isalnum() or c in "-_." for c in options.agent):
        raise InstallError(
            f"--agent {options.agent!r} may hold only letters, digits, '-', '_', '.'"
        )
    options.project = Path(options.project).expanduser().resolve()
    return options


def managed_path(path: str) -> Path:
    """A system-wide path, under ``$REINS_MANAGED_ROOT`` when set (staging, tests)."""
    root = os.environ.get("REINS_MANAGED_ROOT")
    return Path(root) / path.lstrip("/") if root else Path(path)


def codex_home() -> Path:
    env = os.environ.get("CODEX_HOME")
    return Path(env).expanduser() if env else Path.home() / ".codex"


def claude_settings(scope: str, project: Path) -> Path:
    if scope == "managed":
        return managed_path("/etc/claude-code/managed-settings.json")
    if scope == "project":
        return project / ".claude" / "settings.json"
    env = os.environ.get("CLAUDE_CONFIG_DIR")
    return (Path(env).expanduser() if env else Path.home() / ".claude") / "settings.json"


def codex_hooks_file(scope: str, project: Path) -> Path:
    if scope == "managed":
        return managed_path("/etc/codex/requirements.toml")
    if scope == "project":
        return project / ".codex" / "hooks.json"
    return codex_home() / "hooks.json"


def codex_config(scope: str, project: Path) -> Path:
    """Where trust state and the gateway provider go (the user's config even for project hooks)."""
    return codex_home() / "config.toml"


def gemini_settings(scope: str, project: Path) -> Path:
    if scope == "managed":
        env = os.environ.get("GEMINI_CLI_SYSTEM_SETTINGS_PATH")
        return Path(env) if env else managed_path("/etc/gemini-cli/settings.json")
    if scope == "project":
        return project / ".gemini" / "settings.json"
    return Path.home() / ".gemini" / "settings.json"


def gemini_env(scope: str, project: Path) -> Path:
    """Gemini CLI loads ``.gemini/.env`` (project first, then the user's)."""
    if scope == "project":
        return project / ".gemini" / ".env"
    return Path.home() / ".gemini" / ".env"


def layers(harness: str, project: Path) -> list[tuple[str, Path]]:
    """Every settings file of a harness, as ``(layer, path)``, for ``reins doctor``."""
    by_harness = {
        "claude-code": claude_settings,
        "codex": codex_hooks_file,
        "gemini": gemini_settings,
    }
    found = [
        (scope, by_harness[harness](scope, project)) for scope in ("managed", "project", "user")
    ]
    if harness == "claude-code":
        found.insert(1, ("project-local", project / ".claude" / "settings.local.json"))
    if harness == "codex":
        found.append(("user config.toml", codex_home() / "config.toml"))
    return found
