"""The working copy a run starts in: a fresh clone of the agent's repository, or its directory.

With ``repository`` set, every run gets its own shallow clone under ``<runs_dir>/<run_id>/work``
(so runs never see each other's edits) and starts in ``working_directory`` inside it. Without
one, the run starts in the agent's existing ``working_directory``. Failures raise
:class:`WorkspaceError` with a reason that goes into the failed run row.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..registry.agent import Agent

CLONE_TIMEOUT_S = 300


class WorkspaceError(Exception):
    """The working copy cannot be prepared; the message is the run's failure reason."""


def prepare(agent: Agent, run_dir: Path) -> Path:
    """The directory the harness runs in, ready to use."""
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
