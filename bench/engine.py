"""Benchmark the policy engine: decision latency, indexing at scale, load time, CLI cold start.

Run: ``make bench`` (or ``.venv/bin/python bench/engine.py``). Prints one table.
Every timed decision starts from a fresh harness payload dict (adapter + shell parse + rules),
so no parse result is reused between iterations.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import print_table  # noqa: E402  (bench/ is on sys.path when run as a script)

from policy_server.engine.adapters import to_event  # noqa: E402
from policy_server.engine.compiler import Rule  # noqa: E402
from policy_server.engine.evaluator import PolicySet  # noqa: E402
from policy_server.loader import BUNDLED_POLICIES, load_strict  # noqa: E402

CONTEXT = {"home": "/home/dev"}
FILES = [
    "src/app.py",
    "tests/test_api.py",
    "README.md",
    "package.json",
    "pyproject.toml",
    "lib/util.ts",
    "docs/index.md",
]
BRANCHES = ["feature/login", "fix/timeout-1234", "main", "release/2.3", "chore/deps"]
TEMPLATES = [
    "git status --short && git diff --stat HEAD~{n} -- {f} && git log --oneline -n 5 -- {f}",
    "git add {f} && git commit -m 'fix({w}): handle a cold cache in the {w} path' && git push origin {b}",
    "git log --oneline -n {n} --author={w} --since='2 weeks ago' -- {f} | head -n 20 | cat",
    "git fetch origin && git checkout -b {b} origin/main && git pull --rebase origin main",
    "npm run build && npm test -- --coverage --testPathPattern={w} --maxWorkers=2 --silent",
    "python -m pytest -q tests/test_{w}.py -k 'test_{w} and not slow' --maxfail=1 -x --tb=short",
    "cat {f} | grep -n '{w}' | sed -e 's/{w}/renamed_{w}/g' | sort | uniq -c | sort -rn | head",
    "rm -rf ./build ./dist && mkdir -p build/{w} && cp {f} build/{w}/ && ls -la build/{w}",
    "find . -name '*.pyc' -not -path './.venv/*' -delete && find . -type d -name __pycache__ | wc -l",
    "curl -fsSL -H 'Accept: application/json' https://api.github.com/repos/acme/{w}/pulls?state=open | jq '.[].title'",
    "docker compose -f docker-compose.{w}.yml up -d --build && docker compose ps && docker compose logs --tail={n}",
    "kubectl get pods -n {w} -o wide && kubectl logs deploy/{w} -n {w} --tail={n} --since=10m",
    "cd {d} && make test VERBOSE=1 JOBS=2 2>&1 | tail -n {n} && make lint 2>&1 | tail -n 20",
    "export NODE_ENV=test; npx tsc --noEmit -p tsconfig.json && npx eslint {f} --max-warnings=0",
    "sed -i 's/{w}_old/{w}_new/g' {f} && python -m ruff check {f} --fix && python -m ruff format {f}",
    'for f in $(git ls-files \'*.py\'); do python -m black --check --quiet "$f" || echo "$f"; done',
    "pip install -r requirements.txt -r requirements-dev.txt && python -c 'import {w}; print({w}.__version__)'",
    "tar -czf /tmp/{w}-{n}.tgz {d} --exclude=node_modules --exclude=.git && ls -lh /tmp/{w}-{n}.tgz",
    "grep -rn 'TODO({w})' src/ tests/ --include='*.py' --include='*.ts' | wc -l && grep -rn 'FIXME' src/ | head",
    "bash -c 'cd {d} && ./scripts/check.sh --fast --name {w} --jobs 2' && echo done-{n}",
]
# One simple command each (no pipes or &&), also ~100 characters.
SINGLE_TEMPLATES = [
    "python -m pytest -q tests/test_{w}.py -k 'test_{w} and not slow' --maxfail=1 --tb=short -p no:cacheprovider",
    "git commit -am 'fix({w}): handle a cold cache in the {w} path when the backend restarts early'",
    "npm run test -- --coverage --testPathPattern={w} --maxWorkers=2 --silent --ci --reporters=default",
    "docker compose -f docker-compose.{w}.yml up -d --build --remove-orphans --force-recreate {w}",
    "kubectl logs deploy/{w} -n {w} --tail={n} --since=10m --timestamps --all-containers=true",
    "grep -rn 'TODO({w})' src/ tests/ --include='*.py' --include='*.ts' --exclude-dir=node_modules",
    "curl -fsSL -H 'Accept: application/vnd.github+json' https://api.github.com/repos/acme/{w}/pulls",
    "rm -rf ./build/{w} ./dist/{w} ./.pytest_cache ./.mypy_cache ./coverage/{w} ./tmp/{w}-{n}",
    "git log --oneline --graph --decorate -n {n} --author={w} --since='2 weeks ago' -- {f}",
    "tar -czf /tmp/{w}-{n}.tgz {d} --exclude=node_modules --exclude=.git --exclude='*.pyc'",
]
WORDS = [
    "parser",
    "billing",
    "auth",
    "cache",
    "router",
    "worker",
    "search",
    "metrics",
    "users",
    "orders",
]
DIRS = ["src", "services/api", "packages/web", "infra/terraform", "."]


def corpus(size: int, seed: int = 7, templates: list[str] = TEMPLATES) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(size):
        template = templates[i % len(templates)]
        out.append(
            template.format(
                n=rng.randint(1, 500),
                f=rng.choice(FILES),
                b=rng.choice(BRANCHES),
                w=rng.choice(WORDS),
                d=rng.choice(DIRS),
            )
        )
    return out


def payload(command: str) -> dict[str, Any]:
    return {
        "session_id": "bench",
        "cwd": "/home/dev/project",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }


def time_decisions(policies: PolicySet, commands: list[str], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        for command in commands:
            data = payload(command)
            start = time.perf_counter_ns()
            policies.evaluate(to_event(data, "claude-code", CONTEXT))
            samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def synthetic_pack(size: int, seed: int = 11) -> PolicySet:
    """``size`` rules over many programs, each with regexes, like a large organisation's pack."""
    rng = random.Random(seed)
    programs = [f"tool{i}" for i in range(size // 4)] + [
        "git",
        "rm",
        "curl",
        "npm",
        "docker",
        "kubectl",
    ]
    rules = []
    for i in range(size):
        program = rng.choice(programs)
        rules.append(
            Rule(
                {
                    "id": f"synthetic.r{i}",
                    "decision": rng.choice(["deny", "ask"]),
                    "reason": "synthetic",
                    "tools": "Bash",
                    "when": {
                        "command": {
                            "program": program,
                            "text": [rf"--opt{i}\b", rf"secret-{i}-[a-f0-9]+"],
                        }
                    },
                },
                index=i,
            )
        )
    return PolicySet(rules)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cold_start(runs: int) -> list[float]:
    reins = ROOT / ".venv" / "bin" / "reins"
    command = [str(reins)] if reins.exists() else [sys.executable, "-m", "reins.cli"]
    data = json.dumps(payload("git push --force origin main")).encode()
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*command, "policy", "eval"], input=data, capture_output=True, check=True)
        walls.append((time.perf_counter() - start) * 1000)
    return walls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="corpus size (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the corpus (default 5)")
    parser.add_argument(
        "--cold-runs", type=int, default=5, help="CLI cold starts to time (default 5)"
    )
    args = parser.parse_args()

    loads = []
    for _ in range(5):
        start = time.perf_counter()
        pack = load_strict(BUNDLED_POLICIES)
        loads.append((time.perf_counter() - start) * 1000)
    default = pack.policies
    commands = corpus(args.events)
    singles = corpus(args.events, templates=SINGLE_TEMPLATES)
    mean_len = statistics.mean(len(c) for c in commands)
    single_len = statistics.mean(len(c) for c in singles)
    time_decisions(default, commands[:200], 1)  # warm the regex caches of both packs alike
    big = synthetic_pack(1000)
    time_decisions(big, commands[:200], 1)
    # Interleave the two packs round by round so machine noise hits both equally.
    default_samples: list[float] = []
    single_samples: list[float] = []
    big_samples: list[float] = []
    for _ in range(args.rounds):
        default_samples += time_decisions(default, commands, 1)
        single_samples += time_decisions(default, singles, 1)
        big_samples += time_decisions(big, commands, 1)
    walls = cold_start(args.cold_runs)

    rows = [
        ("default pack decision p50", f"{percentile(default_samples, 0.50):.1f} µs", "≤ 50 µs"),
        ("default pack decision p99", f"{percentile(default_samples, 0.99):.1f} µs", "≤ 200 µs"),
        ("default pack decision mean", f"{statistics.mean(default_samples):.1f} µs", ""),
        ("  single simple commands: p50", f"{percentile(single_samples, 0.50):.1f} µs", "≤ 50 µs"),
        ("  single simple commands: p99", f"{percentile(single_samples, 0.99):.1f} µs", "≤ 200 µs"),
        ("1,000-rule pack decision p50", f"{percentile(big_samples, 0.50):.1f} µs", "indexed"),
        ("1,000-rule pack decision p99", f"{percentile(big_samples, 0.99):.1f} µs", ""),
        (
            "load + compile default pack (median of 5)",
            f"{statistics.median(loads):.1f} ms",
            "≤ 200 ms",
        ),
        ("load + compile default pack (first, cold)", f"{loads[0]:.1f} ms", ""),
        (
            f"`reins policy eval` cold start (median of {len(walls)})",
            f"{statistics.median(walls):.0f} ms",
            "report",
        ),
    ]
    print(
        f"corpus: {len(commands)} Bash PreToolUse events of ~3 simple commands (mean {mean_len:.0f} chars) "
        f"and {len(singles)} single simple commands (mean {single_len:.0f} chars), {args.rounds} rounds; "
        f"default pack: {len(default.rules)} rules; synthetic pack: {len(big.rules)} rules"
    )
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
