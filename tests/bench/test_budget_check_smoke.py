"""bench/budget_check.py runs, prints its table for every scenario and meets the 20 µs target."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_budget_check_bench_prints_a_table_within_target() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "budget_check.py"), "--requests", "3000"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = re.findall(r"^\| (.+?): admit +\| +([\d.]+) \| +([\d.]+) \|", done.stdout, re.M)
    assert [name.strip() for name, _, _ in rows] == [
        "no budgets",
        "1 budget",
        "8 budgets, 4 scopes",
    ]
    assert all(0 < float(p50) <= float(p99) for _, p50, p99 in rows)
    assert "within the 20 µs target" in done.stdout
