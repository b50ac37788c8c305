"""Budget check cost per request: ``BudgetGuard.admit`` as the gateway calls it, in µs.

Run: ``.venv/bin/python bench/budget_check.py [--requests N]``. Prints a table per scenario
(no budgets, one, eight across every scope, unit and period) with p50, p99 and mean of the
admit call, and of admit plus the settle the recorder does later. Target: admit ≤ 20 µs.
Pure CPU, no I/O: it builds the guard the gateway builds, with the bundled price table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from decimal import Decimal

from gateway.budget_guard import BudgetGuard
from gateway.metrics import Metrics
from gateway.pricing import load_prices
from gateway.usage import UsageRecord

TARGET_US = 20.0
EIGHT = [
    {"scope": "user", "subject": "dana", "period": "daily", "unit": "usd", "hard": 1e6, "soft": 1e5},
    {"scope": "user", "subject": "*", "period": "monthly", "unit": "tokens", "hard": 10**12},
    {"scope": "agent", "subject": "reviewer", "period": "total", "unit": "usd", "hard": 1e6},
    {"scope": "agent", "subject": "*", "period": "daily", "unit": "tokens", "hard": 10**12},
    {"scope": "team", "subject": "platform", "members": ["dana", "eve"], "period": "monthly",
     "unit": "usd", "hard": 1e6},
    {"scope": "team", "subject": "infra", "members": ["dana"], "period": "daily",
     "unit": "tokens", "soft": 10**11},
    {"scope": "token", "subject": "7", "period": "daily", "unit": "usd", "hard": 1e6},
    {"scope": "token", "subject": "*", "period": "total", "unit": "tokens", "hard": 10**12},
]  # fmt: skip
SCENARIOS = {"no budgets": [], "1 budget": EIGHT[:1], "8 budgets, 4 scopes": EIGHT}


def measure(budgets: list[dict], requests: int) -> tuple[list[float], list[float]]:
    guard = BudgetGuard(budgets, load_prices(), Metrics())
    now = dt.datetime.now(dt.UTC)
    admit_us, full_us = [], []
    clock = time.perf_counter_ns
    for i in range(requests):
        record = UsageRecord(f"r{i}", 0, "anthropic", "messages", user="dana", token_id=7,
                             agent="reviewer", request_bytes=4000)  # fmt: skip
        start = clock()
        guard.admit(record, "claude-sonnet-4-5")
        admitted = clock()
        record.tokens = {"input": 1000, "output": 200}
        record.cost_usd = Decimal("0.006")
        record.model = "claude-sonnet-4-5"
        record.status = 200
        guard.settle(record, now)
        done = clock()
        admit_us.append((admitted - start) / 1000)
        full_us.append((done - start) / 1000)
    return admit_us, full_us


def row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[int(len(ordered) * 0.99)]
    return f"| {name:<36} | {p50:7.2f} | {p99:7.2f} | {statistics.fmean(samples):7.2f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    args = parser.parse_args()
    print(f"budget check, {args.requests} requests per scenario (µs per request)")
    print(f"| {'scenario':<36} | {'p50':>7} | {'p99':>7} | {'mean':>7} |")
    print(f"|{'-' * 38}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    worst = 0.0
    for name, budgets in SCENARIOS.items():
        measure(budgets, 2000)  # warm up
        admit_us, full_us = measure(budgets, args.requests)
        print(row(f"{name}: admit", admit_us))
        print(row(f"{name}: admit + settle", full_us))
        worst = max(worst, sorted(admit_us)[len(admit_us) // 2])
    verdict = "within" if worst <= TARGET_US else "OVER"
    print(f"worst admit p50 {worst:.2f} µs: {verdict} the {TARGET_US:.0f} µs target")
    return 0 if worst <= TARGET_US else 1


if __name__ == "__main__":
    raise SystemExit(main())
