"""Audit times: microseconds since the epoch (UTC) inside, ISO-8601 outside.

Everything is UTC: "today" means since 00:00 UTC, so two auditors in different time zones
exporting "today" get the same rows.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000
_RELATIVE_DAYS = re.compile(r"(\d{1,5})d")


def iso_time(us: int) -> str:
    """``2026-11-29T20:38:01.123456Z``, exact to the microsecond (no float on the way)."""
    seconds, micros = divmod(us, 1_000_000)
    return f"{_iso_second(seconds)}.{micros:06d}Z"


@functools.lru_cache(maxsize=1024)
def _iso_second(seconds: int) -> str:
    # Cached: an export formats rows in time order, many to the second, and strftime is
    # a fifth of the cost of a CSV row.
    return f"{_EPOCH + timedelta(seconds=seconds):%Y-%m-%dT%H:%M:%S}"


def parse_time(text: str, *, now_us: int | None = None) -> int:
    """Microseconds for an ISO date or datetime (UTC unless it carries an offset), ``today``
    and ``yesterday`` (00:00 UTC) or ``Nd`` (N days before now). ValueError says what works."""
    word = text.strip().lower()
    now = time.time_ns() // 1000 if now_us is None else now_us
    if word in ("today", "yesterday"):
        midnight = now - now % _DAY_US
        return midnight if word == "today" else midnight - _DAY_US
    match = _RELATIVE_DAYS.fullmatch(word)
    if match:
        return now - int(match.group(1)) * _DAY_US
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as a time; use an ISO date (2026-01-31), a datetime "
            "(2026-01-31T12:00:00Z), today, yesterday, or Nd for N days ago (7d)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(microseconds=1)
