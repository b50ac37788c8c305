"""Prometheus text metrics, summed across the server's worker processes.

Each worker counts in memory (no lock needed under gevent: greenlets switch only on I/O) and
writes a snapshot to ``<dir>/<pid>.json`` every few seconds and at exit; ``/metrics`` adds the
snapshots of every worker of this server run to its own live counts. The directory is emptied
when the server starts.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

# Latency buckets in seconds (decisions are sub-millisecond; audit commits add ~0.2 ms).
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

HELP = {
    "reins_decisions_total": ("counter", "Hook decisions by decision and harness."),
    "reins_audit_rows_written_total": ("counter", "Audit rows durably written."),
    "reins_audit_write_failures_total": (
        "counter",
        "Audit writes that failed (the caller got its fail-mode decision).",
    ),
    "reins_audit_spooled_uploads_total": ("counter", "Offline events uploaded by hook clients."),
    "reins_hook_requests_rejected_total": (
        "counter",
        "Authenticated hook requests that could not be decided (400/413); each has an audit row.",
    ),
    "reins_audit_dropped_total": ("counter", "Audit rows lost. Must stay 0."),
    "reins_http_errors_total": ("counter", "Error responses by status."),
    "reins_decision_seconds": ("histogram", "Time from request to answer, audit write included."),
}


class Metrics:
    """Counters and one latency histogram for this process."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.counters: Counter[str] = Counter()
        self.histogram = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0

    def inc(self, name: str, labels: str = "", value: int = 1) -> None:
        self.counters[f"{name}{{{labels}}}" if labels else name] += value

    def observe(self, seconds: float) -> None:
        self.latency_sum += seconds
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.histogram[i] += 1
                return
        self.histogram[-1] += 1

    def snapshot(self) -> dict:
        return {
            "counters": dict(self.counters),
            "histogram": self.histogram,
            "sum": self.latency_sum,
        }

    def flush(self) -> None:
        """Write this worker's snapshot for the others to add up (atomic rename)."""
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.snapshot()), encoding="utf-8")
        tmp.replace(path)

    def render(self, gauges: dict[str, float] | None = None) -> str:
        """Prometheus text format of every worker's counts plus ``gauges`` of this process."""
        total: Counter[str] = Counter()
        histogram = [0] * (len(BUCKETS) + 1)
        latency_sum = 0.0
        for snap in self._snapshots():
            total.update(snap["counters"])
            histogram = [a + b for a, b in zip(histogram, snap["histogram"], strict=True)]
            latency_sum += snap["sum"]
        total.setdefault("reins_audit_dropped_total", 0)
        lines: list[str] = []
        seen: set[str] = set()
        for key in sorted(total):
            name = key.split("{", 1)[0]
            if name not in seen:
                seen.add(name)
                kind, text = HELP.get(name, ("counter", name))
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            lines.append(f"{key} {total[key]}")
        kind, text = HELP["reins_decision_seconds"]
        lines += [f"# HELP reins_decision_seconds {text}", f"# TYPE reins_decision_seconds {kind}"]
        running = 0
        for bound, count in zip((*BUCKETS, "+Inf"), histogram, strict=True):
            running += count
            lines.append(f'reins_decision_seconds_bucket{{le="{bound}"}} {running}')
        lines += [
            f"reins_decision_seconds_sum {latency_sum:.6f}",
            f"reins_decision_seconds_count {running}",
        ]
        for name, value in (gauges or {}).items():
            lines += [f"# TYPE {name} gauge", f"{name} {value}"]
        return "\n".join(lines) + "\n"

    def _snapshots(self) -> list[dict]:
        snaps = [self.snapshot()]
        if self.directory is None or not self.directory.is_dir():
            return snaps
        own = f"{os.getpid()}.json"
        for path in self.directory.glob("*.json"):
            if path.name == own:
                continue
            try:
                snaps.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # a worker is rewriting it; its counts show up on the next scrape
        return snaps
