"""bench/cli_start.py runs and prints a median / p90 row, with a module count, per command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_start_bench_prints_a_row_per_selected_command() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cli_start.py"), "--runs", "2",
         "--only", "reins policy eval --help,hook client"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = re.findall(
        r"^(.+?): median / p90 \((\d+) modules\) +([\d.]+) / ([\d.]+) ms", done.stdout, re.M
    )
    assert [name for name, *_ in rows] == [
        "reins policy eval --help",
        "hook client, server down, no bundle",
    ]
    assert all(int(count) > 0 and 0 < float(p50) <= float(p90) for _, count, p50, p90 in rows)


def test_cli_start_bench_refuses_a_selection_that_matches_nothing() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cli_start.py"), "--only", "no-such-command"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert "matches no command" in done.stderr
