"""Benchmark the cold start of the commands people type all day: one fresh process per run.

Run: ``.venv/bin/python bench/cli_start.py [--runs N] [--only NAME,...]``. Measures the current
tree and prints one table: median and p90 wall time of N fresh processes per command, and how
many modules the command imports (one extra run with ``-X importtime``). All commands are run
round by round, interleaved, after one warm-up round, so they see the same machine load.

Rows: the interpreter alone (``python -I -S -c pass``, and ``python -c pass`` with the venv's
site, which every ``reins`` command pays too) for scale; ``reins --help``; ``reins policy eval
--help``; a real ``reins policy eval`` of a Bash ``PreToolUse`` payload against the bundled
policies; ``reins policy lint`` and ``reins policy test`` (what pre-commit hooks and CI run);
``reins doctor --help``; ``reins audit export --help``; and the hook client as a harness runs it
(``python3 -I -S hooks/reins_hook.py claude-code``) with the server unreachable and no bundle,
so it answers from the fail mode (the online path is measured by ``bench/hook_client.py``).
It never writes outside a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from report import print_table  # noqa: E402  (bench/ is on sys.path when run as a script)

POLICIES = ROOT / "policies"
PAYLOAD = json.dumps(
    {
        "session_id": "bench",
        "cwd": "/home/dev/project",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "git push --force origin main"},
        "tool_use_id": "toolu_bench",
    }
).encode()


@dataclass(frozen=True)
class Command:
    name: str
    argv: list[str]
    stdin: bytes = b""


def reins_argv() -> list[str]:
    """The installed console script, as people run it; ``python -m reins.cli`` without one."""
    script = Path(sys.executable).parent / "reins"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reins.cli"]


def commands() -> list[Command]:
    reins = reins_argv()
    py = sys.executable
    return [
        Command("python -I -S -c pass (for scale)", [py, "-I", "-S", "-c", "pass"]),
        Command("python -c pass (venv site, for scale)", [py, "-c", "pass"]),
        Command("reins --help", [*reins, "--help"]),
        Command("reins policy eval --help", [*reins, "policy", "eval", "--help"]),
        Command(
            "reins policy eval (Bash payload)",
            [*reins, "policy", "eval", "--policies", str(POLICIES)],
            PAYLOAD,
        ),
        Command("reins policy lint policies/", [*reins, "policy", "lint", str(POLICIES)]),
        Command("reins policy test policies/", [*reins, "policy", "test", str(POLICIES)]),
        Command("reins doctor --help", [*reins, "doctor", "--help"]),
        Command("reins audit export --help", [*reins, "audit", "export", "--help"]),
        Command(
            "hook client, server down, no bundle",
            [py, "-I", "-S", str(ROOT / "hooks" / "reins_hook.py"), "claude-code"],
            PAYLOAD,
        ),
    ]


def closed_port() -> int:
    """A local port nothing listens on (bound, then released), so connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(home: Path) -> dict[str, str]:
    """The caller's environment without Reins or Python settings, and a throwaway REINS_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REINS_", "PYTHON"))}
    env.update(
        REINS_HOME=str(home),
        REINS_SERVER=f"http://127.0.0.1:{closed_port()}",
        REINS_TOKEN="bench-token",
        HOME=str(home),
    )
    return env


def run_once(command: Command, env: dict[str, str]) -> float:
    """Milliseconds of one fresh process; a non-zero exit stops the benchmark with its output."""
    start = time.perf_counter()
    done = subprocess.run(command.argv, input=command.stdin, capture_output=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        sys.exit(
            f"{command.name} exited {done.returncode}:\n{done.stdout.decode()}\n"
            f"{done.stderr.decode()}"
        )
    return elapsed


def modules_imported(command: Command, env: dict[str, str]) -> int:
    """How many modules one run imports, counted from ``-X importtime`` on stderr (the option
    when the interpreter is called directly, since ``-I`` ignores PYTHON* variables)."""
    argv, env = list(command.argv), dict(env)
    if argv[0] == sys.executable:
        argv[1:1] = ["-X", "importtime"]
    else:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    done = subprocess.run(argv, input=command.stdin, capture_output=True, env=env)
    lines = done.stderr.decode(errors="replace").splitlines()
    return sum(1 for line in lines if re.match(r"import time:\s+\d", line))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(selected: list[Command], runs: int, env: dict[str, str]) -> dict[str, list[float]]:
    """Round-robin over the commands so all see the same load; the first round is a warm-up."""
    samples: dict[str, list[float]] = {c.name: [] for c in selected}
    for round_no in range(runs + 1):
        for command in selected:
            elapsed = run_once(command, env)
            if round_no:
                samples[command.name].append(elapsed)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="fresh processes per command")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated substrings; time only the commands whose name contains one",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    selected = [c for c in commands() if not wanted or any(w in c.name for w in wanted)]
    if not selected:
        parser.error(f"--only {args.only!r} matches no command")
    with tempfile.TemporaryDirectory(prefix="reins-cli-start-") as tmp:
        env = child_env(Path(tmp))
        samples = measure(selected, args.runs, env)
        counts = {c.name: modules_imported(c, env) for c in selected}
    rows = [
        (
            f"{name}: median / p90 ({counts[name]} modules)",
            f"{percentile(walls, 0.5):.1f} / {percentile(walls, 0.9):.1f} ms",
            "",
        )
        for name, walls in samples.items()
    ]
    print(f"{args.runs} fresh processes per command, interleaved")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
