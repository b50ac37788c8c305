"""Scheduler settings: declared once, read from flags, environment and the ``scheduler:`` section
of the Reins config file, validated with errors that name the setting, the value and the fix.

Precedence: flag > environment variable > config file > default. The store (``--db``) and the
policy directory (``--policies``) come from the main config module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import Setting, read_section, resolve


def _seconds(value: Any) -> float:
    seconds = float(value)
    if not 0.05 <= seconds <= 3600:
        raise ValueError("not between 0.05 and 3600 seconds")
    return seconds


def _url(value: Any) -> str:
    text = str(value).rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError("not an http:// or https:// URL")
    return text


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "server_url",
        _url,
        "http://127.0.0.1:8700",
        "REINS_SERVER_URL",
        "the policy server URL the runs' hooks call",
    ),
    Setting(
        "gateway_url",
        _url,
        None,
        "REINS_GATEWAY_URL",
        "the gateway URL the runs' model requests go to (unset: the harness's own setting)",
    ),
    Setting("tick", _seconds, 15.0, "REINS_SCHEDULER_TICK", "seconds between schedule checks"),
    Setting(
        "late_grace",
        _seconds,
        120.0,
        "REINS_SCHEDULER_LATE_GRACE",
        "seconds a slot may be late and still count as on time (not missed)",
    ),
    Setting("runs_dir", str, "var/runs", "REINS_RUNS_DIR", "directory for run working copies"),
    Setting("claude_bin", str, "claude", "REINS_CLAUDE_BIN", "the Claude Code executable"),
    Setting("codex_bin", str, "codex", "REINS_CODEX_BIN", "the Codex executable"),
    Setting("gemini_bin", str, "gemini", "REINS_GEMINI_BIN", "the Gemini CLI executable"),
)


def load(
    flags: Mapping[str, Any], config_path: str | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Resolve every scheduler setting. ``flags`` holds command-line values (None = not given)."""
    environ = os.environ if environ is None else environ
    section = read_section(Path(config_path), "scheduler", SETTINGS) if config_path else {}
    label = f"{config_path} (scheduler:)"
    return resolve(SETTINGS, flags, environ, section, label, prefix="scheduler.")
