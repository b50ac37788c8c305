"""The working copy a run starts in: a fresh clone of the agent's repository, or its directory.

With ``repository`` set, every run gets its own shallow clone under ``<runs_dir>/<run_id>/work``
(so runs never see each other's edits) and starts in ``working_directory`` inside it. Without
one, the run starts in the agent's existing ``working_directory``. A working copy whose Gemini
workspace settings would switch a Gemini run's hooks off is refused (``check_gemini_settings``),
and so is a Codex run on a host whose Codex requirements would skip the run's own hooks
(``check_codex_requirements``). Failures raise :class:`WorkspaceError` with a reason that goes
into the failed run row. It only reads the host's files: it never writes ``/etc``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from ..registry.agent import Agent

CLONE_TIMEOUT_S = 300
# Codex reads requirements only from here; ``REINS_MANAGED_ROOT`` prefixes it (staging, tests),
# as it does for the installers.
CODEX_REQUIREMENTS = "/etc/codex/requirements.toml"


class WorkspaceError(Exception):
    """The working copy cannot be prepared; the message is the run's failure reason."""


def prepare(agent: Agent, run_dir: Path) -> Path:
    """The directory the harness runs in, ready to use."""
    if agent.harness == "codex":
        check_codex_requirements(codex_requirements_path())
    start = _directory(agent, run_dir)
    if agent.harness == "gemini":
        check_gemini_settings(start)
    return start


def codex_requirements_path() -> Path:
    """The host's ``/etc/codex/requirements.toml``, below ``$REINS_MANAGED_ROOT`` when set."""
    root = os.environ.get("REINS_MANAGED_ROOT")
    return Path(root) / CODEX_REQUIREMENTS.lstrip("/") if root else Path(CODEX_REQUIREMENTS)


def check_codex_requirements(path: Path) -> None:
    """Refuse a Codex run when the host's requirements file ``path`` would skip its hooks.

    With ``allow_managed_hooks_only = true`` Codex 0.171.0 runs only the hooks the requirements
    file itself manages and skips those in the run's ``CODEX_HOME/hooks.json``: the run would go
    without its own hooks (no audit rows as the run, no policy decisions for it), or with only
    whatever managed hooks the host has. The run's ``--dangerously-bypass-hook-trust`` and ``-c
    features.hooks=true`` do not make them count, and Codex reads requirements only from
    ``/etc/codex`` (tests/e2e/test_codex_hooks_switch.py), so the run fails closed. A file this
    check cannot read is refused too.
    """
    try:
        requirements = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise WorkspaceError(
            f"{path} cannot be checked ({exc}); a Codex agent runs only where Codex cannot skip "
            "the run's Reins hooks: make the file readable TOML for the scheduler's user"
        ) from None
    if requirements.get("allow_managed_hooks_only") is True:
        raise WorkspaceError(
            f"this host's {path} sets allow_managed_hooks_only = true, so Codex would skip this "
            "run's own Reins hooks (only the host's managed hooks, if any, would run); fix: "
            "remove that line (or set it to false) on the scheduler host, or run the Codex "
            "agents on a host without it"
        )


def check_gemini_settings(start: Path) -> None:
    """Refuse ``start`` when its ``.gemini/settings.json`` would run a Gemini agent without hooks.

    Gemini CLI 0.61.0 ranks these workspace settings above the run's user settings (where the
    scheduler puts the hooks): ``hooksConfig.enabled`` set to anything but ``true`` switches every
    hook off, and a ``hooks`` that is not an object of lists drops them. ``hooksConfig.disabled``
    cannot name a run's hooks: their name is new for every run. Gemini reads the file as JSON with
    comments; this check reads plain JSON, so a file it cannot read is refused too (fail closed).
    """
    path = start / ".gemini" / "settings.json"
    if not path.exists():
        return
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WorkspaceError(
            f"{path} cannot be checked ({exc}); a Gemini agent runs only where its workspace "
            "settings cannot switch the Reins hooks off: remove comments from it or the file"
        ) from None
    problem = _switches_hooks_off(settings)
    if problem:
        raise WorkspaceError(
            f"{path} {problem}, which would run the agent without the Reins hooks; remove that "
            "setting from the working copy"
        )


def _switches_hooks_off(settings: Any) -> str | None:
    if not isinstance(settings, dict):
        return None  # Gemini CLI ignores a file that is not an object
    config = settings.get("hooksConfig")
    if config is not None and not isinstance(config, dict):
        return f"sets hooksConfig to {config!r}"
    if isinstance(config, dict) and config.get("enabled", True) is not True:
        return f"sets hooksConfig.enabled to {config['enabled']!r}"
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict) or any(not isinstance(v, list) for v in hooks.values()):
        return f"sets hooks to {json.dumps(hooks)[:80]}"
    return None


def _directory(agent: Agent, run_dir: Path) -> Path:
    spec = agent.spec
    workdir = spec.get("working_directory")
    repository = spec.get("repository")
    if not repository:
        if not workdir or not Path(workdir).is_dir():
            raise WorkspaceError(f"working directory {workdir} does not exist on this host")
        return Path(workdir)
    target = run_dir / "work"
    command = ["git", "clone", "--quiet", "--depth", "1"]
    if spec.get("branch"):
        command += ["--branch", str(spec["branch"])]
    command += ["--", str(repository), str(target)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=CLONE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise WorkspaceError("git is not installed on the scheduler host; install git") from None
    except subprocess.TimeoutExpired:
        raise WorkspaceError(f"cloning {repository} took longer than {CLONE_TIMEOUT_S}s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no error output"])[-1]
        raise WorkspaceError(f"cannot clone {repository}: {last}")
    start = (target / workdir).resolve() if workdir else target
    if not start.is_dir() or not start.is_relative_to(target.resolve()):
        raise WorkspaceError(f"working directory {workdir!r} is not a directory of {repository}")
    return start
