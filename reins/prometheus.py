"""Prometheus text metrics for a server of several worker processes: counters and histograms.

Each worker counts in memory (no lock: under gevent, greenlets switch only on I/O) and writes a
snapshot to ``<dir>/<pid>.json`` every few seconds and at exit (atomic rename); a scrape adds
the snapshots of the other workers to its own live counts, so ``/metrics`` lags by at most one
snapshot interval. Holds names and numbers only, never request content.

The policy server and the gateway each declare their own metric tables and use this class.
"""

from __future__ import annotations

import json
import os
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path


class Metrics:
    """``help``: counter name -> text; ``histograms``: name -> text, all with ``buckets``
    (seconds); ``always``: counters rendered even at 0 (the ones an alert watches)."""

    def __init__(
        self,
        directory: Path | None,
        *,
        help: Mapping[str, str],
        histograms: Mapping[str, str],
        buckets: tuple[float, ...],
        always: Iterable[str] = (),
    ) -> None:
        self.directory = directory
        self.help = help
        self.histogram_help = histograms
        self.buckets = buckets
        self.always = tuple(always)
        self.counters: Counter[str] = Counter()
        # Per histogram: one count per bucket, the +Inf bucket, then the sum of observations.
        self.histograms = {name: [0] * (len(buckets) + 1) + [0.0] for name in histograms}

    def inc(self, name: str, labels: str = "", value: int = 1) -> None:
        self.counters[f"{name}{{{labels}}}" if labels else name] += value

    def observe(self, name: str, seconds: float) -> None:
        values = self.histograms[name]
        values[-1] += seconds
        values[bisect_left(self.buckets, seconds)] += 1  # len(buckets) is the +Inf bucket

    def snapshot(self) -> dict:
        return {"counters": dict(self.counters), "histograms": self.histograms}

    def flush(self) -> None:
        """Write this worker's snapshot for the others to add up (atomic rename)."""
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.snapshot()), encoding="utf-8")
        tmp.replace(path)

    def render(self, gauges: Mapping[str, float] | None = None) -> str:
        """Prometheus text format of every worker's counts plus ``gauges`` of this process."""
        counters: Counter[str] = Counter()
        histograms = {name: [0] * (len(self.buckets) + 1) + [0.0] for name in self.histograms}
        for snap in self._snapshots():
            counters.update(snap["counters"])
            for name, values in snap.get("histograms", {}).items():
                if name in histograms:
                    histograms[name] = [
                        a + b for a, b in zip(histograms[name], values, strict=True)
                    ]
        for name in self.always:
            counters.setdefault(name, 0)
        lines: list[str] = []
        seen: set[str] = set()
        for key in sorted(counters):
            name = key.split("{", 1)[0]
            if name not in seen:
                seen.add(name)
                lines += [f"# HELP {name} {self.help.get(name, name)}", f"# TYPE {name} counter"]
            lines.append(f"{key} {counters[key]}")
        for name, text in self.histogram_help.items():
            values = histograms[name]
            lines += [f"# HELP {name} {text}", f"# TYPE {name} histogram"]
            running = 0
            for bound, count in zip((*self.buckets, "+Inf"), values[:-1], strict=True):
                running += count
                lines.append(f'{name}_bucket{{le="{bound}"}} {running}')
            lines += [f"{name}_sum {values[-1]:.6f}", f"{name}_count {running}"]
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
