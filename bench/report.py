"""The one table format every benchmark prints: measure, value, target."""

from __future__ import annotations

from collections.abc import Sequence


def print_table(rows: Sequence[tuple[str, str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    value_width = max(10, *(len(r[1]) for r in rows))
    print(f"{'measure':<{width}}  {'value':>{value_width}}  target")
    print(f"{'-' * width}  {'-' * value_width}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>{value_width}}  {target}")
