"""``reins doctor gemini``: what makes Gemini CLI skip the Reins hooks in a project.

A managed file Gemini ignores, settings that switch the hooks off, settings doctor cannot read,
folder trust (``gemini_trust``), and for a user-scope install the extension ``reins``
(``gemini_extension``): missing or changed since the install, disabled for this folder, refused
by ``security.allowedExtensions``, or hidden by a ``.env`` that moves ``GEMINI_CLI_HOME``. Folder
trust cannot switch an extension's hooks off, so with the extension in place an untrusted
folder is no finding. Read-only: never runs Gemini CLI, never writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from installers import doctor_layers, gemini_extension, gemini_trust, records
from installers.client_files import InstallError
from installers.doctor_check import FAIL, OK, WARN, Check

REINSTALL = "run `reins install gemini --server URL --token T` again"
UNTRUSTED_HOOKS = "no settings-file hooks (the Reins hooks still run, from the extension reins)"


def _recorded(home: Path) -> dict:
    """``{path: sha256}`` of the extension files the user-scope install recorded."""
    try:
        record = records.load(home, records.record_name("gemini", "user", Path())) or {}
    except InstallError:  # corrupt: uninstall says so; here the files are checked as they are
        record = {}
    base = str(gemini_extension.folder(os.environ)) + os.sep
    files = record.get("files", {})
    return {path: entry.get("sha256") for path, entry in files.items() if path.startswith(base)}


def _file_problems(home: Path) -> list[str]:
    """What is wrong with the extension's files ([] when they are as installed)."""
    base = gemini_extension.folder(os.environ)
    recorded = _recorded(home)
    problems = []
    for path in (base / gemini_extension.MANIFEST, base / gemini_extension.HOOKS):
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif str(path) in recorded and records.sha256(path.read_bytes()) != recorded[str(path)]:
            problems.append(f"{path} changed since `reins install`")
    if problems:
        return problems
    try:
        manifest = json.loads((base / gemini_extension.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{base / gemini_extension.MANIFEST} is unreadable ({exc})"]
    manifest = manifest if isinstance(manifest, dict) else {}
    if manifest.get("name") != gemini_extension.NAME or not manifest.get("version"):
        return [f"{base / gemini_extension.MANIFEST} does not declare {gemini_extension.NAME!r}"]
    return []


def extension_checks(
    home: Path, project: Path, layers: list[tuple[str, Path, dict | None, str]]
) -> tuple[list[Check], bool]:
    """The extension's checks, and whether Gemini CLI runs its hooks here (as far as files say)."""
    base = gemini_extension.folder(os.environ)
    if not base.exists() and not _recorded(home):
        return [], False
    name = "gemini extension"
    problems = [(FAIL, problem, REINSTALL) for problem in _file_problems(home)]
    try:
        rule = gemini_extension.disabling_rule(project, os.environ)
    except ValueError as exc:
        problems.append((WARN, f"{exc}; Gemini CLI then loads every extension", "fix that file"))
        rule = None
    if rule is not None:
        problems.append(
            (
                FAIL,
                f"{rule[0]} disables it for {project} ({rule[1]!r}, as `gemini extensions"
                " disable reins` writes), so Gemini CLI runs none of the Reins hooks",
                "run `gemini extensions enable reins` (and with --scope workspace in the project)",
            )
        )
    allowed, why = gemini_extension.allowed(layers, os.environ)
    if allowed is False:
        problems.append((FAIL, why, "add a pattern matching it, or remove the setting"))
    elif allowed is None:  # no tool runs unguarded, but Gemini CLI does not work here
        problems.append((WARN, why, "remove the setting, or use a managed install"))
    moved = gemini_trust.dotenv_value(project, layers, os.environ, "GEMINI_CLI_HOME")
    home_now = gemini_trust.gemini_home(os.environ).resolve()
    if moved is not None and moved[1] and Path(moved[1]).resolve() != home_now:
        problems.append(
            (
                FAIL,
                f"{moved[0]} sets GEMINI_CLI_HOME={moved[1]}; Gemini CLI loads it in this trusted"
                " folder and then looks for extensions there, without the Reins hooks",
                "remove that line; an admin stops every repository from doing this by exporting"
                " GEMINI_CLI_HOME= (empty: a variable already set wins over .env files)",
            )
        )
    if problems:
        return [Check(level, name, detail, fix) for level, detail, fix in problems], False
    detail = f"{base}: Gemini CLI runs its hooks here, in trusted and untrusted folders alike"
    return [Check(OK, name, detail)], True


def gemini_checks(home: Path, project: Path) -> list[Check]:
    """Every Gemini CLI finding for ``project``: managed file, switch-offs, extension, trust."""
    checks, layers = [], []
    for layer, path, settings, note in doctor_layers.read_layers("gemini", project):
        problem = ""
        if layer == "managed" and settings is not None:
            problem = doctor_layers.gemini_system_file_problem(path)
        if problem:
            checks.append(
                Check(
                    FAIL,
                    "gemini managed",
                    f"Gemini CLI skips {path}: {problem}",
                    "make the file and every folder above it owned by root and not writable by"
                    " group or others (chmod g-w,o-w)",
                )
            )
            settings = None  # what Gemini does not load cannot keep the hooks on
        if note.startswith("unreadable"):
            checks.append(
                Check(
                    WARN,
                    "gemini hooks off",
                    f"cannot tell whether {path} ({layer}) switches the Reins hooks off: {note}",
                    "check its hooksConfig and hooks by hand",
                )
            )
        layers.append((layer, path, settings, note))
    switched_off = doctor_layers.gemini_switch_offs(layers)
    extension, runs_untrusted = extension_checks(home, project, layers)
    trust = []
    no_hooks = UNTRUSTED_HOOKS if runs_untrusted else gemini_trust.NO_HOOKS
    for fine, detail, fix in gemini_trust.findings(project, layers, os.environ, no_hooks):
        if runs_untrusted and fine is not True:  # folder trust never stops extension hooks
            fine, fix = True, ""
        level = {False: FAIL, None: WARN, True: OK}[fine]
        trust.append(Check(level, "gemini folder trust", detail, fix))
    switches = [Check(FAIL, "gemini hooks off", problem, fix) for problem, fix in switched_off]
    return switches + checks + extension + trust
