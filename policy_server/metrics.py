"""The policy server's metrics: what it counts, on ``reins.prometheus.Metrics``.

Snapshots of every worker of this server run are summed; the directory is emptied when the
server starts.
"""

from __future__ import annotations

from pathlib import Path

from reins import prometheus

# Latency buckets in seconds (decisions are sub-millisecond; audit commits add ~0.2 ms).
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

HELP = {
    "reins_decisions_total": "Hook decisions by decision and harness.",
    "reins_audit_rows_written_total": "Audit rows durably written.",
    "reins_audit_write_failures_total": "Audit writes that failed (the caller got its fail-mode decision).",
    "reins_audit_spooled_uploads_total": "Offline events uploaded by hook clients.",
    "reins_hook_requests_rejected_total": "Authenticated hook requests that could not be decided (400/413); each has an audit row.",
    "reins_audit_dropped_total": "Audit rows lost. Must stay 0.",
    "reins_http_errors_total": "Error responses by status.",
}
HISTOGRAMS = {"reins_decision_seconds": "Time from request to answer, audit write included."}


class Metrics(prometheus.Metrics):
    """The policy server's counters and its decision-latency histogram."""

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__(
            directory,
            help=HELP,
            histograms=HISTOGRAMS,
            buckets=BUCKETS,
            always=("reins_audit_dropped_total",),
        )
