"""Query-string arguments the resource modules share, each checked with a 400 that names it.

Read from the current Flask request; never touches the store.
"""

from __future__ import annotations

from flask import request

from ..audit.times import parse_time
from ..errors import ApiError


def time_arg(name: str) -> int | None:
    """``?name=`` as microseconds (ISO date or time, today, yesterday, Nd); None when absent."""
    value = request.args.get(name)
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ApiError(400, f"{name}: {exc}") from None


def int_arg(name: str, default: int, high: int, low: int = 0) -> int:
    """``?name=`` as an integer from ``low`` to ``high``; ``default`` when absent."""
    value = request.args.get(name, str(default))
    if not value.isdigit() or not low <= int(value) <= high:
        raise ApiError(400, f"{name} must be an integer between {low} and {high}")
    return int(value)
