"""The gateway's metrics: what it counts, on ``reins.prometheus.Metrics`` (summed across workers;
counting is a dict update on the request path). Never holds request content."""

from __future__ import annotations

from pathlib import Path

from reins import prometheus

# Seconds. The gateway's own share is sub-millisecond; the upstream's is seconds.
BUCKETS = (0.0005, 0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0)
HELP = {
    "reins_gateway_requests_total": "Requests by inbound format and status.",
    "reins_gateway_attempts_total": "Upstream attempts by provider and outcome.",
    "reins_gateway_fallbacks_total": "Requests answered by a target after the first.",
    "reins_gateway_stream_errors_total": "Streams broken after their first byte.",
    "reins_gateway_client_disconnects_total": "Clients gone before the end.",
    "reins_gateway_usage_rows_written_total": "Usage rows durably written.",
    "reins_gateway_usage_write_failures_total": "Usage batch writes that failed (rows kept and retried).",
    "reins_gateway_usage_rows_dropped_total": "Usage rows lost. Must stay 0.",
    "reins_gateway_auth_failures_total": "Requests refused for a bad token.",
    "reins_gateway_rate_limited_total": "Requests refused by the per-token limit.",
    "reins_gateway_unpriced_rows_total": "Usage rows with tokens but no price (cost NULL).",
    "reins_gateway_budget_rejections_total": "Requests refused by a hard budget.",
    "reins_gateway_budget_crossings_total": "Budget limits crossed (one per budget window).",
    "reins_gateway_budget_refresh_failures_total": "Budget refreshes that failed.",
}
# Rendered even at 0: alerts watch them.
ALWAYS = ("reins_gateway_usage_rows_dropped_total", "reins_gateway_usage_write_failures_total")
HISTOGRAMS = {
    "reins_gateway_request_seconds": "Time from request to last byte.",
    "reins_gateway_ttfb_seconds": "Time from request to the first response byte.",
}


class Metrics(prometheus.Metrics):
    """The gateway's counters and its two latency histograms."""

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__(
            directory,
            help=HELP,
            histograms=HISTOGRAMS,
            buckets=BUCKETS,
            always=ALWAYS,
        )
