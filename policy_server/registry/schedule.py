"""Cron arithmetic for agent schedules: when is the next slot, which slots fell in a window.

Times are microseconds since the epoch (UTC); the cron is read in the agent's time zone, so
``0 2 * * *`` in Europe/Paris is 2 AM Paris time on both sides of a daylight-saving change.
Pure apart from reading the time-zone database: no clock, no store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

_US = 1_000_000


def _iterator(schedule: dict[str, Any], after_us: int) -> croniter:
    zone = ZoneInfo(schedule.get("timezone") or "UTC")
    start = datetime.fromtimestamp(after_us / _US, tz=UTC).astimezone(zone)
    return croniter(schedule["cron"], start)


def next_slot(schedule: dict[str, Any], after_us: int) -> int:
    """The first slot strictly after ``after_us``."""
    return _to_us(_iterator(schedule, after_us).get_next(datetime))


def slots_between(schedule: dict[str, Any], after_us: int, until_us: int, limit: int) -> list[int]:
    """Slots ``s`` with ``after_us < s <= until_us``, oldest first; at most the LAST ``limit``."""
    found: list[int] = []
    iterator = _iterator(schedule, after_us)
    # The cursor may be the first 02:00 of a fall-back night: its repeat is not a new slot.
    last_wall = _wall(schedule, after_us)
    while True:
        moment = iterator.get_next(datetime)
        slot = _to_us(moment)
        if slot > until_us:
            return found
        # When clocks go back, 02:00 happens twice; croniter yields both. Run it once.
        wall = moment.replace(tzinfo=None)
        if wall == last_wall:
            continue
        last_wall = wall
        found.append(slot)
        if len(found) > limit:
            found.pop(0)


def _wall(schedule: dict[str, Any], at_us: int) -> datetime:
    zone = ZoneInfo(schedule.get("timezone") or "UTC")
    return datetime.fromtimestamp(at_us / _US, tz=UTC).astimezone(zone).replace(tzinfo=None)


def _to_us(moment: datetime) -> int:
    return int(moment.timestamp()) * _US
