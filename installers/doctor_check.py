"""One finding of ``reins doctor``: its level (``FAIL``, ``WARN``, ``ok``), what it checked, what
it found and the fix.

Shared by ``doctor`` and the per-harness check modules (``doctor_codex``) so they never import
each other in a cycle. Data only: it must never read a file, run a process or print.
"""

from __future__ import annotations

from dataclasses import dataclass

FAIL, WARN, OK = "FAIL", "WARN", "ok"


@dataclass
class Check:
    level: str
    name: str
    detail: str
    fix: str = ""
