"""Gemini CLI folder trust: will Gemini CLI run the Reins hooks in a folder, or skip them all?

Gemini CLI 0.61.0 registers the hooks of every settings file, system ones included, as project
hooks and runs none of them in a folder it does not trust (``hookRegistry.ts``; shown with the
real CLI in ``tests/e2e/test_gemini_folder_trust.py``); the hooks of an extension, as a user-scope
install writes them (``gemini_extension``), run in every folder. What decides, in its order
(``packages/core/src/utils/trust.ts``, ``packages/cli/src/config/trustedFolders.ts``):

1. ``GEMINI_RESTRICTED_MODE=true`` or ``GEMINI_CLI_TRUST_WORKSPACE=false`` in the environment:
   untrusted; ``GEMINI_CLI_TRUST_WORKSPACE=true``: trusted. Gemini loads a ``.env`` file (the
   project's ``.gemini/.env`` first) into the environment of a trusted folder, where these
   variables then untrust it, unless the environment already has them.
2. ``security.folderTrust.enabled`` (system > user > default ``true``; workspace files do not
   count): when false, every folder is trusted.
3. ``trustedFolders.json`` in the Gemini home: the longest rule containing the folder decides
   (``TRUST_PARENT`` covers the rule's parent folder); no rule means Gemini asks. Interactive
   sessions then run untrusted until the user trusts the folder; headless runs exit 55.

This module only reads files and the environment it is given; it never writes, and it never
asks Gemini CLI itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TRUST_FILE = "trustedFolders.json"
UNTRUSTING_ENV = {"GEMINI_RESTRICTED_MODE": "true", "GEMINI_CLI_TRUST_WORKSPACE": "false"}
TRUST_LEVELS = ("TRUST_FOLDER", "TRUST_PARENT", "DO_NOT_TRUST")


@dataclass(frozen=True)
class Trust:
    """How Gemini CLI treats a folder: ``trusted`` True, False, or None (it asks); ``why`` says
    what decided it, ``source`` the file or variable."""

    trusted: bool | None
    why: str
    source: str = ""


def gemini_home(environ: Mapping[str, str]) -> Path:
    """Gemini CLI's home folder: ``GEMINI_CLI_HOME``, else the user's home."""
    return Path(environ.get("GEMINI_CLI_HOME") or Path.home())


def trusted_folders_path(environ: Mapping[str, str]) -> Path:
    """``GEMINI_CLI_TRUSTED_FOLDERS_PATH``, else ``<Gemini home>/.gemini/trustedFolders.json``."""
    override = environ.get("GEMINI_CLI_TRUSTED_FOLDERS_PATH")
    return Path(override) if override else gemini_home(environ) / ".gemini" / TRUST_FILE


def folder_trust_enabled(layers: list[tuple[str, Path, dict | None, str]]) -> tuple[bool, str]:
    """``security.folderTrust.enabled`` as Gemini reads it for trust: the system file wins over
    the user's, workspace files do not count; ``(value, where it was set)``."""
    for layer, path, settings, _ in layers:  # highest first
        if layer == "project" or not isinstance(settings, dict):
            continue
        security = settings.get("security")
        folder_trust = security.get("folderTrust") if isinstance(security, dict) else None
        value = folder_trust.get("enabled") if isinstance(folder_trust, dict) else None
        if value is not None:  # JavaScript truth: false, 0 and "" switch it off
            return value not in (False, 0, ""), f"{path} ({layer})"
    return True, "Gemini CLI's default"


def rule_for(folder: Path, rules: Mapping[str, str]) -> tuple[str, str] | None:
    """The ``(rule path, level)`` of ``rules`` (a ``trustedFolders.json``) that decides for
    ``folder``: the longest rule path whose folder contains it; None when none does."""
    real = os.path.realpath(folder)
    best = None
    for rule, level in rules.items():
        covered = os.path.dirname(rule) if level == "TRUST_PARENT" else rule
        relative = os.path.relpath(real, os.path.realpath(os.path.abspath(covered)))
        inside = relative == os.curdir or not relative.startswith(os.pardir)
        if inside and (best is None or len(rule) > len(best[0])):
            best = (rule, level)
    return best


def read_rules(path: Path) -> dict:
    """The rules of a ``trustedFolders.json``; ValueError naming the problem Gemini refuses."""
    try:
        rules = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON ({exc})") from None
    if not isinstance(rules, dict):
        raise ValueError(f"{path} is not a JSON object")
    bad = [f"{rule}: {level!r}" for rule, level in rules.items() if level not in TRUST_LEVELS]
    if bad:
        raise ValueError(f"{path} has unknown trust levels ({', '.join(bad)})")
    return rules


def decide(
    project: Path, layers: list[tuple[str, Path, dict | None, str]], environ: Mapping[str, str]
) -> Trust:
    """How Gemini CLI started in ``project`` with ``environ`` treats it (``.env`` files aside,
    see :func:`dotenv_untrusting`). ValueError when the trust file is unreadable."""
    for name, value in UNTRUSTING_ENV.items():
        if environ.get(name) == value:
            return Trust(False, f"{name}={value} in the environment", name)
    if environ.get("GEMINI_CLI_TRUST_WORKSPACE") == "true":
        return Trust(True, "GEMINI_CLI_TRUST_WORKSPACE=true in the environment")
    enabled, where = folder_trust_enabled(layers)
    if not enabled:
        return Trust(True, f"folder trust is off in {where}")
    path = trusted_folders_path(environ)
    rule = rule_for(project, read_rules(path)) if path.is_file() else None
    if rule is None:
        return Trust(None, f"no rule for it in {path}", str(path))
    return Trust(rule[1] != "DO_NOT_TRUST", f"{path} has {rule[0]}: {rule[1]}", str(path))


def dotenv_value(
    project: Path,
    layers: list[tuple[str, Path, dict | None, str]],
    environ: Mapping[str, str],
    name: str,
) -> tuple[Path, str] | None:
    """``(file, value)`` when the ``.env`` file Gemini CLI loads in the trusted folder ``project``
    sets ``name`` and the environment does not already have it (a variable set wins)."""
    found = _env_file(project, gemini_home(environ), _setting(layers, "ignoreLocalEnv") is True)
    if name in environ or found is None:
        return None
    excluded = _setting(layers, "excludedEnvVars")
    excluded = excluded if isinstance(excluded, list) else []
    if ".gemini" not in found.parts and name in excluded:  # only a project .env skips them
        return None
    values = _parse_dotenv(found)
    return (found, values[name]) if name in values else None


def dotenv_untrusting(
    project: Path, layers: list[tuple[str, Path, dict | None, str]], environ: Mapping[str, str]
) -> tuple[Path, str, str] | None:
    """``(file, name, value)`` when the ``.env`` file Gemini CLI loads in the trusted folder
    ``project`` sets a variable that untrusts it (and the environment does not already set it)."""
    for name, untrusting in UNTRUSTING_ENV.items():
        found = dotenv_value(project, layers, environ, name)
        if found is not None and found[1] == untrusting:
            return found[0], name, untrusting
    return None


def _setting(layers: list[tuple[str, Path, dict | None, str]], key: str) -> object:
    """``advanced.<key>`` of the highest layer that sets it (system > workspace > user)."""
    for _, _, settings, _ in layers:
        advanced = settings.get("advanced") if isinstance(settings, dict) else None
        if isinstance(advanced, dict) and key in advanced:
            return advanced[key]
    return None


def _env_file(project: Path, home: Path, ignore_local: bool) -> Path | None:
    """The ``.env`` Gemini CLI loads for ``project`` (its ``findEnvFile``, trusted folder)."""
    folder = project.resolve()
    while True:
        if (folder / ".gemini" / ".env").is_file():
            return folder / ".gemini" / ".env"
        if (folder / ".env").is_file() and (not ignore_local or folder == home.resolve()):
            return folder / ".env"
        if folder.parent == folder:
            break
        folder = folder.parent
    for candidate in (home / ".gemini" / ".env", home / ".env"):
        if candidate.is_file():
            return candidate
    return None


def _parse_dotenv(path: Path) -> dict:
    """``NAME=value`` lines (``export`` prefix, quotes and comments allowed), as dotenv reads."""
    values = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return values
    for line in lines:
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export ") :].strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = (part.strip() for part in line.split("=", 1))
        if value[:1] in ("'", '"', "`") and value.endswith(value[0]) and len(value) > 1:
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[name] = value
    return values


ADMIN_FIX = (
    "an admin keeps the hooks on in every folder with `reins install gemini --scope managed"
    " --trust-all-folders` (as root), which switches folder trust off in the system settings"
    " (repositories' settings, MCP servers and .env then load without asking)"
)
ENV_FIX = (
    "; an admin stops every repository from doing this by exporting GEMINI_RESTRICTED_MODE= and"
    " GEMINI_CLI_TRUST_WORKSPACE= (empty: a variable already set wins over .env files)"
    " system-wide, e.g. in /etc/environment"
)
NO_HOOKS = "no hooks at all, managed ones included"


def findings(
    project: Path,
    layers: list[tuple[str, Path, dict | None, str]],
    environ: Mapping[str, str],
    no_hooks: str = NO_HOOKS,
) -> list[tuple[bool | None, str, str]]:
    """What folder trust means for the hooks in ``project``, for ``reins doctor``: one or two
    ``(fine, detail, fix)``, ``fine`` False (no hooks), None (Gemini asks first) or True.
    ``no_hooks`` says which hooks an untrusted folder loses."""
    try:
        trust = decide(project, layers, environ)
    except ValueError as exc:
        return [(None, f"Gemini CLI refuses to start: {exc}", "fix or remove that file")]
    if trust.trusted is False and trust.source in UNTRUSTING_ENV:
        return [
            (
                False,
                f"{trust.why}: Gemini CLI treats every folder as untrusted and runs {no_hooks}"
                " (headless runs exit 55 unless folder trust is off)",
                f"unset {trust.source}",
            )
        ]
    if trust.trusted is False:
        detail = f"{trust.why}, so Gemini CLI runs {project} untrusted with {no_hooks}"
        fix = f"trust the folder in Gemini CLI (`/permissions trust`) or in {trust.source}"
        fix += f"; {ADMIN_FIX}"
        return [(False, detail + " (interactive; headless runs exit 55)", fix)]
    if trust.trusted is None:
        detail = (
            f"{project} is not trusted yet ({trust.why}): Gemini CLI asks whether to trust it"
            f' and, until it is trusted, runs {no_hooks} ("Don\'t trust" keeps them off; a'
            " prompt given with -i runs before the answer; headless runs exit 55)"
        )
        fix = f"trust the folder when Gemini CLI asks, or in {trust.source}; {ADMIN_FIX}"
        return [(None, detail, fix)]
    found = [(True, f"{project} is trusted: {trust.why}", "")]
    switch = dotenv_untrusting(project, layers, environ)
    if switch is not None:
        path, name, value = switch
        detail = (
            f"{path} sets {name}={value}; Gemini CLI loads it in this trusted folder and then"
            f" runs it untrusted with {no_hooks}"
        )
        found.append((False, detail, f"remove that line{ENV_FIX}"))
    return found
