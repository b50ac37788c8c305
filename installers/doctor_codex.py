"""``reins doctor codex``: what the real Codex does with the Reins hooks, asked of ``codex
app-server``: a setting that switches them all off (and whether requirements.toml pins them on),
one switched off alone, and whether each is trusted.

Part of ``reins doctor`` (``doctor.harness_checks`` calls :func:`codex_checks`). It only reads:
it must never write a Codex file, change trust state, or send a hook event.
"""

from __future__ import annotations

from pathlib import Path

from installers import config, doctor_layers, harness_cli, hook_entries
from installers.client_files import InstallError
from installers.codex_trust import read_state
from installers.doctor_check import FAIL, OK, WARN, Check


def codex_checks(project: Path) -> list[Check]:
    """What the real Codex does with the Reins hooks in ``project`` (asked of ``codex app-server``):
    whether a setting switches them off, and whether each one is trusted."""
    codex = harness_cli.find("codex")
    if codex is None:
        return [
            Check(
                FAIL,
                "codex trust",
                "codex not found, trust state unknown",
                "install Codex (or set REINS_CODEX_BIN), then run `reins install codex ...` again",
            )
        ]
    cwd = project if project.is_dir() else Path.home()
    try:
        hooks, settings, requirements = read_state(codex, config.codex_home(), cwd)
    except InstallError as exc:
        return [Check(FAIL, "codex trust", str(exc), "run `codex app-server` by hand to see why")]
    checks = codex_switch_checks(settings, requirements)
    if any(check.level == FAIL for check in checks):
        return checks  # with hooks off Codex lists none, so there is no trust to check
    ours = [h for h in hooks if hook_entries.HOOK_FILE in str(h.get("command", ""))]
    return checks + codex_trust_checks(ours)


CODEX_PIN = (
    "; an admin keeps them on against every config file and flag with [features] hooks ="
    " true in /etc/codex/requirements.toml (`reins install codex --scope managed` writes it)"
)


def codex_switch_checks(settings: dict, requirements: dict) -> list[Check]:
    """``[features] hooks = false`` (or its alias ``codex_hooks``) in a config file Codex loads
    switches every hook off, managed ones included, unless requirements.toml pins it on."""
    on, layer, key = doctor_layers.codex_hooks_feature(settings)
    where = (
        f"{doctor_layers.codex_layer_file(layer)} ({layer['name'].get('type')})" if layer else ""
    )
    pinned = (requirements.get("featureRequirements") or {}).get("hooks")
    if pinned is True:
        ignored = f"; Codex ignores {key} = false in {where}" if not on and layer else ""
        detail = "requirements.toml pins [features] hooks = true: no config file, profile or"
        detail += f" command-line flag can switch hooks off as a whole{ignored}"
        return [Check(OK, "codex hooks off", detail)]
    if pinned is False:
        detail = "requirements.toml pins [features] hooks = false, so Codex runs no hooks at all"
        fix = "remove that pin from /etc/codex/requirements.toml"
        return [Check(FAIL, "codex hooks off", detail, fix)]
    checks = []
    if not on:
        fix = f"remove {key} = false from it"
        if layer and layer["name"].get("type") == "project":
            fix += ", or stop trusting the project ([projects] trust_level in"
            fix += f" {config.codex_home() / 'config.toml'})"
        detail = f"{where or 'a Codex setting'} sets [features] {key} = false, so Codex runs no"
        detail += " hooks at all, the Reins hooks included"
        checks.append(Check(FAIL, "codex hooks off", detail, fix + CODEX_PIN))
    for path, key in doctor_layers.codex_profile_switch_offs(config.codex_home()):
        profile = path.name[: -len(".config.toml")]
        detail = f"{path} sets [features] {key} = false: `codex --profile {profile}` runs no"
        detail += " hooks at all"
        checks.append(Check(WARN, "codex hooks off", detail, "remove it" + CODEX_PIN))
    for skipped in doctor_layers.codex_skipped_switch_offs(settings):
        detail = f"{doctor_layers.codex_layer_file(skipped)} switches every hook off; Codex skips"
        detail += " it only while the project is untrusted (trusting it, as Codex asks on first"
        detail += " start, loads it)"
        fix = "remove it from the project, or do not trust the project" + CODEX_PIN
        checks.append(Check(WARN, "codex hooks off", detail, fix))
    return checks


def codex_trust_checks(ours: list[dict]) -> list[Check]:
    """Each Reins hook Codex lists (``ours``) must be trusted and not switched off one by one."""
    if not ours:
        return [
            Check(
                FAIL,
                "codex trust",
                "Codex lists no Reins hook",
                "run `reins install codex ...` again",
            )
        ]
    checks = []
    # A managed hook ignores [hooks.state] (tested with Codex 0.171.0); the user's own do not.
    off = [h["key"] for h in ours if h.get("enabled") is False and not h.get("isManaged")]
    if off:
        checks.append(
            Check(
                FAIL,
                "codex hooks off",
                f"{len(off)} of {len(ours)} Reins hooks are switched off one by one with"
                f' enabled = false in {config.codex_home() / "config.toml"}: [hooks.state."{off[0]}"]',
                "run `reins install codex ...` again (it rewrites those tables), or delete the"
                " enabled = false lines; managed hooks ignore them",
            )
        )
    bad = [h["key"] for h in ours if h.get("trustStatus") != "trusted" and not h.get("isManaged")]
    if bad:
        checks.append(
            Check(
                FAIL,
                "codex trust",
                f"{len(bad)} of {len(ours)} Reins hooks are NOT trusted (Codex skips them): {bad[0]}",
                "run `reins install codex ...` again (it re-reads the hashes from codex app-server)",
            )
        )
        return checks
    version = harness_cli.text(harness_cli.version("codex"))
    checks.append(
        Check(OK, "codex trust", f"all {len(ours)} Reins hooks trusted (codex {version})")
    )
    return checks
