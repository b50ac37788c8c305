"""The policy set a running server decides with, reloaded without a restart.

A reload builds the new set completely before swapping one reference, so requests in flight
keep the set they started with. A broken change (a YAML typo, a bad regex) never replaces the
last good set: the server keeps deciding with it and reports the error in logs, ``/healthz``
and ``/metrics`` — it never fails open because of a typo.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .loader import Pack, Problem, load, policy_files
from .registry.definitions import agent_files

if TYPE_CHECKING:
    from .registry.source import AgentSource

log = logging.getLogger("reins.policies")


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    revision: str
    changed: bool
    problems: tuple[Problem, ...] = ()


class LivePolicies:
    """Holds the current good :class:`Pack`; ``check()`` reloads when files changed."""

    def __init__(
        self,
        directory: Path,
        check_interval_s: float = 1.0,
        agent_source: AgentSource | None = None,
    ) -> None:
        self.directory = Path(directory)
        # Agents defined through the API: their rules join the pack's (see registry.catalog).
        self._agent_source = agent_source
        self.check_interval_s = check_interval_s
        self._lock = threading.Lock()
        self._signature: tuple = ()
        self._next_check = 0.0
        self.last_error: tuple[Problem, ...] = ()
        self.reloads = 0
        self.reload_failures = 0
        first = self.reload()
        if not first.ok:
            raise PolicyStartError(first.problems)

    @property
    def pack(self) -> Pack:
        return self._pack

    @property
    def revision(self) -> str:
        return self._pack.policies.revision

    def reload(self) -> ReloadResult:
        """Load the directory; swap it in only if it has no errors."""
        with self._lock:
            signature = self._stat_signature()
            pack = load(self.directory, self._agent_source.agents() if self._agent_source else ())
            if pack.errors:
                self.reload_failures += 1
                self.last_error = tuple(pack.errors)
                for problem in pack.errors:
                    log.error(
                        "policy reload failed, keeping revision %s: %s",
                        self._current_revision(),
                        problem,
                    )
                return ReloadResult(False, self._current_revision(), False, tuple(pack.errors))
            store_agents = [a for a in pack.agents if not a.from_file]
            revision = _git_revision(self.directory) if not store_agents else ""
            pack.policies.revision = revision or pack.policies.revision
            changed = (
                getattr(self, "_pack", None) is None or pack.policies.revision != self.revision
            )
            self._pack = pack
            self._signature = signature
            self.last_error = ()
            self.reloads += 1
            if changed:
                log.info(
                    "policies loaded: revision %s, %d rules",
                    pack.policies.revision,
                    len(pack.policies.rules),
                )
            return ReloadResult(True, pack.policies.revision, changed)

    def check(self, now: float) -> None:
        """Reload when the files changed; cheap (a stat per file) and at most once per interval."""
        if now < self._next_check:
            return
        self._next_check = now + self.check_interval_s
        if self._stat_signature() != self._signature:
            self.reload()

    def _current_revision(self) -> str:
        pack = getattr(self, "_pack", None)
        return pack.policies.revision if pack is not None else ""

    def _stat_signature(self) -> tuple:
        try:
            files = [
                self.directory / "pack.yaml",
                *policy_files(self.directory),
                *agent_files(self.directory),
            ]
            stats = tuple(
                (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.exists()
            )
            return stats + ((self._agent_source.signature(),) if self._agent_source else ())
        except OSError:
            return ()


class PolicyStartError(Exception):
    """The policies are broken at start: there is no last good set to fall back on."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        super().__init__("cannot start with broken policies:\n" + "\n".join(map(str, problems)))
        self.problems = problems


def _git_revision(directory: Path) -> str:
    """The commit SHA when the directory is a clean git checkout; else "" (use the content hash).

    A dirty tree falls back to the content hash, so a revision never claims a commit whose files
    differ from what is being enforced.
    """
    try:
        head = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(
            ["git", "-C", str(directory), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    sha = head.stdout.strip()
    return sha if dirty.returncode == 0 and not dirty.stdout.strip() else ""
