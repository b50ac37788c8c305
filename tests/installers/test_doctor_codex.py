"""``reins doctor codex``: the settings that switch the Reins hooks off in Codex, and the fix.

The pure checks read Codex's own answers (``config/read``, ``configRequirements/read``,
``hooks/list`` of ``codex app-server``), written here in the shape Codex 0.171.0 sends them; the
last test asks the real Codex. ``tests/e2e/test_codex_hooks_switch.py`` shows each verdict is
what Codex really does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from installers import doctor_codex, doctor_layers
from installers.doctor_check import FAIL, OK, WARN, Check
from tests.installers.conftest import real_cli

USER = {"type": "user", "file": "/home/dev/.codex/config.toml", "profile": None}
PROJECT = {"type": "project", "dotCodexFolder": "/src/repo/.codex"}
SYSTEM = {"type": "system", "file": "/etc/codex/config.toml"}
UNTRUSTED = (
    "To load project-local config, hooks, and exec policies, add /src/repo as a trusted project"
)


def layer(name: dict, features: dict | None = None, skipped: bool = False) -> dict:
    found = {"name": name, "version": "sha256:0", "config": {}}
    if features is not None:
        found["config"]["features"] = features
    if skipped:
        found["disabledReason"] = UNTRUSTED
    return found


def read(*layers: dict) -> dict:
    """A ``config/read`` answer: the loaded layers merged (highest first wins), and the layers."""
    merged: dict = {}
    for item in reversed(layers):
        if "disabledReason" not in item:
            merged.update(item["config"].get("features", {}))
    return {"config": {"features": merged}, "layers": list(layers)}


def levels(checks: list[Check]) -> list[tuple[str, str]]:
    return [(check.level, check.detail) for check in checks]


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ((layer(PROJECT), layer(USER), layer(SYSTEM)), (True, None, "hooks")),
        ((layer(PROJECT, {"hooks": False}), layer(USER, {"hooks": True})), (False, 0, "hooks")),
        ((layer(PROJECT, {"hooks": True}), layer(USER, {"hooks": False})), (True, 0, "hooks")),
        ((layer(PROJECT), layer(USER, {"codex_hooks": False})), (False, 1, "codex_hooks")),
        # ``hooks`` from any layer beats the alias, even from a higher one
        (
            (layer(PROJECT, {"codex_hooks": False}), layer(USER, {"hooks": True})),
            (True, 1, "hooks"),
        ),
        ((layer(PROJECT, {"hooks": False}, skipped=True), layer(USER)), (True, None, "hooks")),
        ((layer(USER), layer(SYSTEM, {"hooks": False})), (False, 1, "hooks")),
    ],
)
def test_which_layer_decides_whether_codex_runs_hooks(layers, expected) -> None:
    on, decided, key = doctor_layers.codex_hooks_feature(read(*layers))
    assert (on, None if decided is None else layers.index(decided), key) == expected


def test_an_untrusted_projects_switch_is_found_only_where_it_would_count() -> None:
    skipped = layer(PROJECT, {"codex_hooks": False}, skipped=True)
    assert doctor_layers.codex_skipped_switch_offs(read(skipped, layer(USER))) == [skipped]
    # hooks = true in the user's config outranks the alias, trusted or not
    assert (
        doctor_layers.codex_skipped_switch_offs(read(skipped, layer(USER, {"hooks": True}))) == []
    )


def test_a_trusted_project_switching_hooks_off_fails_with_the_fix(home: Path) -> None:
    [check] = doctor_codex.codex_switch_checks(
        read(layer(PROJECT, {"hooks": False}), layer(USER)), {}
    )
    assert (check.level, check.detail) == (
        FAIL,
        "/src/repo/.codex/config.toml (project) sets [features] hooks = false, so Codex runs no"
        " hooks at all, the Reins hooks included",
    )
    assert check.fix.startswith(
        "remove hooks = false from it, or stop trusting the project ([projects] trust_level in"
        f" {home / '.codex' / 'config.toml'})"
    )
    assert "[features] hooks = true in /etc/codex/requirements.toml" in check.fix


def test_the_users_alias_fails_and_an_untrusted_project_warns() -> None:
    settings = read(
        layer(PROJECT, {"hooks": False}, skipped=True), layer(USER, {"codex_hooks": False})
    )
    checks = doctor_codex.codex_switch_checks(settings, {})
    assert [c.level for c in checks] == [FAIL, WARN]
    assert checks[0].detail.startswith(f"{USER['file']} (user) sets [features] codex_hooks = false")
    assert checks[0].fix.startswith("remove codex_hooks = false from it; an admin keeps them on")
    assert checks[1].detail.startswith("/src/repo/.codex/config.toml switches every hook off;")


def test_a_requirements_pin_outranks_every_switch() -> None:
    settings = read(layer(PROJECT, {"hooks": False}), layer(USER, {"hooks": False}))
    pinned = {"featureRequirements": {"hooks": True}, "allowManagedHooksOnly": True}
    assert levels(doctor_codex.codex_switch_checks(settings, pinned)) == [
        (
            OK,
            "requirements.toml pins [features] hooks = true: no config file, profile or"
            " command-line flag can switch hooks off as a whole; Codex ignores hooks = false in"
            " /src/repo/.codex/config.toml (project)",
        )
    ]
    off = {"featureRequirements": {"hooks": False}}
    [check] = doctor_codex.codex_switch_checks(read(layer(USER)), off)
    assert check.level == FAIL and "pins [features] hooks = false" in check.detail


def test_nothing_to_report_when_nothing_switches_the_hooks_off() -> None:
    settings = read(layer(PROJECT, {"hooks": True}), layer(USER, {"codex_hooks": False}))
    assert doctor_codex.codex_switch_checks(settings, {"allowManagedHooksOnly": True}) == []


def hook(key: str, **fields) -> dict:
    found = {"key": key, "command": "python3 ~/.reins/reins_hook.py codex", "enabled": True}
    return found | {"trustStatus": "trusted", "isManaged": False} | fields


def test_a_reins_hook_switched_off_alone_fails_but_managed_ones_ignore_it(home: Path) -> None:
    ours = [hook("h:pre_tool_use:0:0", enabled=False), hook("h:stop:0:0")]
    checks = doctor_codex.codex_trust_checks(ours)
    assert [c.level for c in checks] == [FAIL, OK]
    assert checks[0].detail == (
        "1 of 2 Reins hooks are switched off one by one with enabled = false in"
        f' {home / ".codex" / "config.toml"}: [hooks.state."h:pre_tool_use:0:0"]'
    )
    managed = [hook("/opt/reins:pre_tool_use:0:0", enabled=False, isManaged=True)]
    assert [c.level for c in doctor_codex.codex_trust_checks(managed)] == [OK]


CODEX = real_cli("codex")


@pytest.mark.skipif(
    CODEX is None,
    reason="real codex CLI not installed (the e2e suite puts it in var/e2e-cli: run `make e2e` once)",
)
def test_doctor_asks_the_real_codex(
    home: Path, tmp_path: Path, reins, server_factory, token_factory, monkeypatch
) -> None:
    server = server_factory(db=tmp_path / "live.db")
    token = token_factory(server.db, "dev", "developer")
    monkeypatch.setenv("REINS_CODEX_BIN", CODEX)
    assert reins("install", "codex", "--server", server.url, "--token", token)[0] == 0
    config = home / ".codex" / "config.toml"
    project = tmp_path / "project"
    (project / ".codex").mkdir()
    (project / ".codex" / "config.toml").write_text("[features]\nhooks = false\n")
    code, out, _ = reins("doctor", "codex")
    assert code == 0 and "[WARN] codex hooks off: " in out  # untrusted: Codex skips the file
    config.write_text(config.read_text() + f'\n[projects."{project}"]\ntrust_level = "trusted"\n')
    code, out, _ = reins("doctor", "codex")
    assert code == 1
    assert f"[FAIL] codex hooks off: {project}/.codex/config.toml (project) sets" in out
    assert "Codex lists no Reins hook" not in out  # the cause, not its symptom


def test_profiles_that_switch_the_hooks_off_are_found(tmp_path: Path) -> None:
    (tmp_path / "ci.config.toml").write_text("[features]\ncodex_hooks = false\n")
    (tmp_path / "fast.config.toml").write_text('model = "o4-mini"\n[features]\nhooks = true\n')
    (tmp_path / "both.config.toml").write_text("[features]\nhooks = true\ncodex_hooks = false\n")
    (tmp_path / "broken.config.toml").write_text("[features\n")
    (tmp_path / "config.toml").write_text("[features]\nhooks = false\n")  # not a profile
    found = doctor_layers.codex_profile_switch_offs(tmp_path)
    assert found == [(tmp_path / "ci.config.toml", "codex_hooks")]
