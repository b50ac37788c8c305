"""``installers.doctor_layers``: what makes Claude Code or Gemini CLI skip the Reins hooks.

The rules are those of Gemini CLI 0.61.0 as the real CLI showed them
(``tests/e2e/test_gemini_hooks_tamper.py``): system > workspace > user for
``hooksConfig.enabled``, a union of every file's ``hooksConfig.disabled`` matched against a hook's
``name`` (its ``command`` only without a name), and a workspace ``hooks`` that is no object
replacing the user's hooks. Claude Code 2.1.197 obeys the ``disableAllHooks`` of the highest
layer that sets it (``tests/e2e/test_claude_hooks_switch.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from installers.doctor_layers import (
    claude_disable_all_hooks,
    gemini_switch_offs,
    gemini_system_file_problem,
)

COMMAND = "/usr/bin/python3 -I -S /opt/reins/reins_hook.py gemini"


def reins_hooks(name: str | None = "reins") -> dict:
    handler = {"type": "command", "command": COMMAND, "timeout": 10000}
    if name is not None:
        handler["name"] = name
    return {"BeforeTool": [{"hooks": [handler]}]}


def layers(
    managed: dict | None = None,
    project: dict | None = None,
    user: dict | None = None,
    local: dict | None = None,
):
    """``read_layers``' shape, highest first; None = the file is absent (``local`` = Claude Code's
    ``.claude/settings.local.json``)."""
    found = (("managed", managed), ("project-local", local), ("project", project), ("user", user))
    return [
        (layer, Path(f"/{layer}/settings.json"), settings, "" if settings is not None else "absent")
        for layer, settings in found
    ]


USER = {"hooks": reins_hooks()}
MANAGED = {"hooksConfig": {"enabled": True}, "hooks": reins_hooks("reins-0123456789abcdef")}


@pytest.mark.parametrize(
    ("managed", "project", "user", "found"),
    [
        (None, None, USER, []),
        (
            None,
            {"hooksConfig": {"enabled": False}},
            USER,
            ["/project/settings.json (project) sets hooksConfig.enabled: false"],
        ),
        (None, {"hooksConfig": {"enabled": 0}}, USER, ["sets hooksConfig.enabled: 0"]),
        (None, {"hooksConfig": {"enabled": "FALSE"}}, USER, ['enabled: "FALSE"']),  # coerced
        (None, {"hooksConfig": {"enabled": "no"}}, USER, []),  # a truthy string in JavaScript
        (
            None,
            None,
            {**USER, "hooksConfig": {"enabled": False}},
            ["(user) sets hooksConfig.enabled: false"],
        ),
        (None, {"hooksConfig": {"enabled": True}}, {**USER, "hooksConfig": {"enabled": False}}, []),
        (MANAGED, {"hooksConfig": {"enabled": False}}, {"hooksConfig": {"enabled": False}}, []),
        (
            None,
            {"hooksConfig": {"disabled": ["reins"]}},
            USER,
            ["(project) lists 'reins' in hooksConfig.disabled"],
        ),
        (None, {"hooksConfig": {"disabled": "reins"}}, USER, ["lists 'reins'"]),  # Gemini wraps it
        (
            None,
            None,
            {**USER, "hooksConfig": {"disabled": ["other", "reins"]}},
            ["(user) lists 'reins'"],
        ),
        (MANAGED, {"hooksConfig": {"disabled": ["reins"]}}, None, []),
        (
            MANAGED,
            None,
            {"hooksConfig": {"disabled": ["reins-0123456789abcdef"]}},
            ["(user) lists 'reins-0123456789abcdef'"],
        ),
        # With a name, the command does not match; without one, it is the name.
        (None, {"hooksConfig": {"disabled": [COMMAND]}}, USER, []),
        (
            None,
            {"hooksConfig": {"disabled": [COMMAND]}},
            {"hooks": reins_hooks(None)},
            [f"lists {COMMAND!r}"],
        ),
        (None, {"hooks": None}, USER, ['(project) sets "hooks" to null, so Gemini CLI drops']),
        (None, {"hooks": []}, USER, ['sets "hooks" to []']),
        (MANAGED, {"hooks": None}, USER, []),  # system hooks are merged after the workspace's
        (None, {"hooks": {"BeforeTool": []}}, USER, []),  # hook lists add up
    ],
)
def test_gemini_settings_that_switch_the_reins_hooks_off(managed, project, user, found) -> None:
    problems = gemini_switch_offs(layers(managed, project, user))
    assert len(problems) == len(found), problems
    for (problem, fix), expected in zip(problems, found, strict=True):
        assert expected in problem and fix.startswith("remove")


def test_a_hostile_hooks_value_does_not_break_doctor() -> None:
    assert gemini_switch_offs(layers(None, {"hooks": "off", "hooksConfig": "off"}, USER))


OFF, ON = {"disableAllHooks": True}, {"disableAllHooks": False}


@pytest.mark.parametrize(
    ("managed", "local", "project", "user", "found"),
    [
        (None, None, None, None, None),
        (None, None, {"hooks": {}}, {"permissions": {}}, None),
        (None, None, OFF, None, "project"),
        (None, OFF, None, None, "project-local"),
        (None, None, None, OFF, "user"),
        (None, ON, OFF, None, None),  # the local file overrides the repository's
        (None, None, ON, OFF, None),
        (None, OFF, ON, None, "project-local"),
        (ON, None, OFF, OFF, None),  # managed settings are merged last
        (OFF, None, None, None, "managed"),
        (OFF, ON, ON, ON, "managed"),
        # Not a boolean: skipped, so a lower layer decides (doctor errs towards a failure).
        (None, None, {"disableAllHooks": "false"}, OFF, "user"),
        (None, None, {"disableAllHooks": 1}, None, None),
    ],
)
def test_the_highest_claude_layer_setting_disable_all_hooks_decides(
    managed, local, project, user, found
) -> None:
    decided = claude_disable_all_hooks(layers(managed, project, user, local))
    if found is None:
        assert decided is None
    else:
        assert decided == (found, Path(f"/{found}/settings.json"))


def test_a_system_file_below_a_world_writable_folder_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{}")
    problem = gemini_system_file_problem(path)
    if os.geteuid() != 0:
        assert problem == f"{path} is not owned by root"
    else:  # pytest's tmp_path is below /tmp (mode 1777)
        assert "is writable by group or others (mode 777)" in problem
    assert "cannot check" in gemini_system_file_problem(tmp_path / "missing.json")
