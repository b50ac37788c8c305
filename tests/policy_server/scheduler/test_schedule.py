"""Cron slots in the agent's time zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

from policy_server.registry.schedule import next_slot, slots_between


def us(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1_000_000


def iso(value: int) -> str:
    return datetime.fromtimestamp(value / 1e6, tz=UTC).strftime("%Y-%m-%dT%H:%M")


NIGHTLY_PARIS = {"cron": "0 2 * * *", "timezone": "Europe/Paris"}


def test_two_am_in_paris_follows_daylight_saving() -> None:
    # Summer (UTC+2): 02:00 Paris is 00:00 UTC; after 2026-10-25 (UTC+1) it is 01:00 UTC.
    # On the 25th clocks go back at 03:00, so 02:00 happens twice: the agent runs once.
    assert iso(next_slot(NIGHTLY_PARIS, us("2026-07-01T12:00"))) == "2026-07-02T00:00"
    slots = slots_between(NIGHTLY_PARIS, us("2026-10-23T12:00"), us("2026-10-27T12:00"), 10)
    assert [iso(s) for s in slots] == [
        "2026-10-24T00:00",
        "2026-10-25T00:00",
        "2026-10-26T01:00",
        "2026-10-27T01:00",
    ]


def test_utc_is_the_default_and_the_window_is_half_open() -> None:
    hourly = {"cron": "0 * * * *"}
    start = us("2026-01-01T10:00")
    assert [iso(s) for s in slots_between(hourly, start, us("2026-01-01T12:00"), 10)] == [
        "2026-01-01T11:00",
        "2026-01-01T12:00",
    ]


def test_only_the_latest_slots_are_kept_past_the_limit() -> None:
    every_minute = {"cron": "* * * * *", "timezone": "UTC"}
    slots = slots_between(every_minute, us("2026-01-01T00:00"), us("2026-01-02T00:00"), 3)
    assert [iso(s) for s in slots] == ["2026-01-01T23:58", "2026-01-01T23:59", "2026-01-02T00:00"]


def test_the_repeated_hour_is_not_run_again_by_the_next_tick() -> None:
    first = us("2026-10-25T00:00")  # 02:00 CEST, the slot the cursor stopped at
    later = slots_between(NIGHTLY_PARIS, first, us("2026-10-25T12:00"), 10)
    assert later == []
