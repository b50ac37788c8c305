"""Prometheus text: inclusive buckets, and counts summed over every worker's snapshot."""

from __future__ import annotations

from pathlib import Path

from gateway.metrics import Metrics


def test_buckets_are_inclusive_and_cumulative() -> None:
    metrics = Metrics()
    for seconds in (0.0001, 0.0005, 0.0006, 120.0, 500.0):
        metrics.observe("reins_gateway_request_seconds", seconds)
    text = metrics.render({})
    assert 'reins_gateway_request_seconds_bucket{le="0.0005"} 2' in text
    assert 'reins_gateway_request_seconds_bucket{le="0.001"} 3' in text
    assert 'reins_gateway_request_seconds_bucket{le="120.0"} 4' in text
    assert 'reins_gateway_request_seconds_bucket{le="+Inf"} 5' in text
    assert "reins_gateway_request_seconds_count 5" in text
    assert "reins_gateway_usage_rows_dropped_total 0" in text


def test_other_workers_snapshots_are_added(tmp_path: Path) -> None:
    other = Metrics(tmp_path)
    other.inc("reins_gateway_requests_total", 'format="anthropic",status="200"', 3)
    other.flush()
    (tmp_path / "12345.json").write_text(
        (tmp_path / next(p.name for p in tmp_path.glob("*.json"))).read_text()
    )
    mine = Metrics(tmp_path)  # same pid as ``other``: its own file is skipped, the copy counts
    mine.inc("reins_gateway_requests_total", 'format="anthropic",status="200"', 2)
    assert 'reins_gateway_requests_total{format="anthropic",status="200"} 5' in mine.render(
        {"g": 1}
    )
