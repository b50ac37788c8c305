"""Find an installed harness CLI and its version (``claude``, ``codex``, ``gemini``).

``REINS_<NAME>_BIN`` (e.g. ``REINS_CODEX_BIN``) points at a binary outside ``PATH``. Versions
decide what the installer may write (Claude Code ``args`` needs 2.1.139, ``onFailure`` 2.1.295).
Never raises: a missing or broken CLI is ``None``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

BINARIES = {"claude-code": "claude", "codex": "codex", "gemini": "gemini"}


def find(harness: str) -> str | None:
    """Absolute path of the harness CLI, or None when it is not installed."""
    name = BINARIES[harness]
    override = os.environ.get(f"REINS_{name.upper()}_BIN")
    if override:
        return override if os.path.exists(override) else None
    return shutil.which(name)


def version(harness: str) -> tuple[int, ...] | None:
    """The CLI's version as a tuple, e.g. ``(2, 1, 197)``; None when unknown."""
    binary = find(harness)
    if binary is None:
        return None
    try:
        out = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out.stdout)
    return tuple(int(part) for part in match.groups()) if match else None


def text(found: tuple[int, ...] | None) -> str:
    return ".".join(str(part) for part in found) if found else "unknown"
