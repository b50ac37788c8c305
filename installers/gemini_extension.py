"""The Gemini CLI extension ``reins``: where a user-scope install puts the Reins hooks, and
whether Gemini CLI will load it.

Gemini CLI 0.61.0 runs the hooks of every settings file as *project* hooks, none of them in a
folder it does not trust; the hooks of an extension (``<Gemini home>/.gemini/extensions/<dir>/``
with ``gemini-extension.json`` and ``hooks/hooks.json``) are no project hooks and run there too
(``hookRegistry.ts``, ``processHooksFromConfig``; ``tests/e2e/test_gemini_folder_trust.py``).
What still keeps an extension's hooks from running, read in the bundle
(``packages/cli/src/config/extension-manager.ts``, ``extensions/extensionEnablement.ts``) and
shown with the real CLI in ``tests/e2e/test_gemini_extension.py``:

- ``hooksConfig.enabled`` false in the merged settings (system > workspace > user; a workspace
  counts once the folder is trusted), and ``hooksConfig.disabled`` naming a hook (a union over
  all files): both are checked by ``doctor_layers.gemini_switch_offs`` like any other hook;
- ``extension-enablement.json`` next to the extensions (what ``gemini extensions disable`` writes):
  per extension a list of path rules, ``!`` disables, a trailing ``*`` covers subfolders, the last
  rule matching the working folder wins (:func:`disabling_rule`); only the user's own file;
- ``security.allowedExtensions`` (replaced, not merged: the highest layer that sets it decides)
  that is non-empty: an extension without ``.gemini-extension-install.json`` then makes Gemini CLI
  refuse to start, one whose recorded source matches no pattern is skipped (:func:`allowed`);
- ``admin.extensions.enabled: false`` and ``-e``/``--extensions`` on the command line: neither
  comes from a file (admin settings come only from the remote admin controls), so doctor cannot
  see them.

The workspace's ``"hooks"`` (even ``null``), folder trust and ``GEMINI_RESTRICTED_MODE`` do not
touch extension hooks. This module plans the two files (the records apply them) and reads
state; it never runs Gemini CLI and never writes outside the ``FileEdit`` it returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from installers import gemini_trust
from installers.records import FileEdit

NAME = "reins"
VERSION = "1.0.0"
MANIFEST = "gemini-extension.json"
HOOKS = Path("hooks") / "hooks.json"
INSTALL_METADATA = ".gemini-extension-install.json"
ENABLEMENT = "extension-enablement.json"


def extensions_dir(environ: Mapping[str, str]) -> Path:
    """Where Gemini CLI looks for extensions: ``<GEMINI_CLI_HOME or HOME>/.gemini/extensions``."""
    return gemini_trust.gemini_home(environ) / ".gemini" / "extensions"


def folder(environ: Mapping[str, str]) -> Path:
    return extensions_dir(environ) / NAME


def manifest_text() -> str:
    manifest = {
        "name": NAME,
        "version": VERSION,
        "description": "Reins policy hooks: installed by `reins install gemini`, removed by"
        " `reins uninstall gemini`, checked by `reins doctor gemini`",
    }
    return json.dumps(manifest, indent=2) + "\n"


def hooks_text(groups: dict) -> str:
    return json.dumps({"hooks": groups}, indent=2) + "\n"


def edits(environ: Mapping[str, str], groups: dict) -> list[FileEdit]:
    """The extension's files; both are Reins' alone, so uninstall takes each away whole."""
    base = folder(environ)
    wanted = {base / MANIFEST: manifest_text(), base / HOOKS: hooks_text(groups)}
    return [
        FileEdit(path, lambda _old, text=text: text, lambda _current: "")
        for path, text in wanted.items()
    ]


def _glob_regex(rule: str) -> re.Pattern[str]:
    """Gemini's ``globToRegex``: a trailing ``/*`` also matches the folder itself."""
    escaped = re.sub(r"[.+?^${}()|\[\]\\]", lambda m: "\\" + m.group(0), rule)
    return re.compile("^" + re.sub(r"(/?)\*", r"(\1.*)?", escaped) + "$")


def _with_slashes(path: str) -> str:
    path = path.replace("\\", "/")
    return ("" if path.startswith("/") else "/") + path + ("" if path.endswith("/") else "/")


def disabling_rule(project: Path, environ: Mapping[str, str]) -> tuple[Path, str] | None:
    """``(file, rule)`` when ``extension-enablement.json`` disables the extension in ``project``
    (the last rule matching the folder wins, as in Gemini's ``isEnabled``); None when enabled.
    ValueError when the file is unreadable: Gemini then treats every extension as enabled, but
    says so on every start."""
    path = extensions_dir(environ) / ENABLEMENT
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        rules = config.get(NAME, {}).get("overrides", []) if isinstance(config, dict) else None
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
        raise ValueError(f"{path}: {NAME}.overrides is not a list of strings")
    where = _with_slashes(str(project))
    enabled, deciding = True, ""
    for rule in rules:
        disable = rule.startswith("!")
        base = rule[1:] if disable else rule
        if _glob_regex(base).match(where):
            enabled, deciding = not disable, rule
    return None if enabled else (path, deciding)


def allowed(
    layers: list[tuple[str, Path, dict | None, str]], environ: Mapping[str, str]
) -> tuple[bool | None, str]:
    """Whether ``security.allowedExtensions`` (the highest layer of ``layers`` that sets it) lets
    Gemini CLI load the extension: ``(True, '')``, ``(False, why)`` (skipped), or ``(None, why)``
    (Gemini CLI refuses to start: no install metadata)."""
    for layer, path, settings, _ in layers:  # highest first; the extension layer has no security
        security = settings.get("security") if isinstance(settings, dict) else None
        patterns = security.get("allowedExtensions") if isinstance(security, dict) else None
        if patterns is None:
            continue
        if not isinstance(patterns, list) or not patterns:
            return True, ""
        where = f"{path} ({layer}) sets security.allowedExtensions"
        metadata = folder(environ) / INSTALL_METADATA
        try:
            source = json.loads(metadata.read_text(encoding="utf-8")).get("source")
        except (OSError, ValueError, AttributeError):
            source = None
        if not isinstance(source, str):
            return None, f"{where} and {metadata} is missing, so Gemini CLI refuses to start"
        for pattern in patterns:
            try:
                if re.search(str(pattern), source):
                    return True, ""
            except re.error:
                return (
                    None,
                    f"{where} with the bad pattern {pattern!r}: Gemini CLI refuses to start",
                )
        return False, f"{where} and no pattern matches {source}, so Gemini CLI skips the extension"
    return True, ""
