"""Stream audit rows out as JSON lines, CSV or OCSF, in seq order, in constant memory.

- ``jsonl`` is the primary format: each line is the stored canonical record with ``seq``,
  ``prev_hash`` and ``record_hash`` added, so the chain can be verified offline (drop those three
  keys, re-serialise with ``records.canonical_json``, hash with ``records.chain_hash``).
- ``csv`` is for people: fixed columns read straight from the indexed columns. Text cells that a
  spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) get a leading ``'``: agents
  write the commands, auditors open the file.
- ``ocsf`` is for SIEMs (see ``ocsf.py``).

Rows are fetched in chunks (``fetchmany``) and written chunk by chunk; nothing holds the whole
result. Filters: ``since_us <= time_us < until_us``, agent, decision.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable
from typing import Any, TextIO

import orjson

from .ocsf import to_ocsf
from .times import iso_time, parse_time

__all__ = ["CSV_COLUMNS", "FORMATS", "export", "parse_time"]

FORMATS = ("jsonl", "csv", "ocsf")
DECISIONS = ("allow", "deny", "ask", "error")
FETCH_ROWS = 2000
CSV_COLUMNS = (
    "time",
    "event_id",
    "hook_event",
    "harness",
    "user",
    "agent",
    "run_id",
    "session_id",
    "tool",
    "target",
    "decision",
    "enforced_decision",
    "rules",
    "reason",
    "policy_revision",
    "eval_us",
    "degraded",
    "record_hash",
)
# Columns selected per format; csv reads time_us in place of time.
_SELECT = {
    "jsonl": ("seq", "prev_hash", "record_hash", "record"),
    "ocsf": ("seq", "prev_hash", "record_hash", "record"),
    "csv": ("time_us", *CSV_COLUMNS[1:]),
}
_FREE_TEXT = frozenset(
    CSV_COLUMNS.index(c)
    for c in ("user", "agent", "run_id", "session_id", "tool", "target", "reason")
)
_RULES = CSV_COLUMNS.index("rules")
_DEGRADED = CSV_COLUMNS.index("degraded")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export(
    conn: sqlite3.Connection,
    fmt: str,
    out: TextIO,
    *,
    since_us: int | None = None,
    until_us: int | None = None,
    agent: str | None = None,
    decision: str | None = None,
) -> int:
    """Write the matching rows to ``out`` in ``fmt``; return how many rows were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if decision is not None and decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}")
    where, params = _filters(since_us, until_us, agent, decision)
    cursor = conn.execute(
        f"SELECT {', '.join(_SELECT[fmt])} FROM audit_events{where} ORDER BY seq", params
    )
    write = _csv_writer(out) if fmt == "csv" else _line_writer(out, _FORMATTERS[fmt])
    count = 0
    try:
        while rows := cursor.fetchmany(FETCH_ROWS):
            write(rows)
            count += len(rows)
    finally:
        cursor.close()
    return count


def _filters(
    since_us: int | None, until_us: int | None, agent: str | None, decision: str | None
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for clause, value in (
        ("time_us >= ?", since_us),
        ("time_us < ?", until_us),
        ("agent = ?", agent),
        ("decision = ?", decision),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _jsonl(row: tuple[Any, ...]) -> str:
    seq, prev_hash, record_hash, record = row
    # Splice instead of parse + dump: the stored text is already canonical JSON of an object.
    head = (
        f'{{"prev_hash":{json.dumps(prev_hash)},"record_hash":{json.dumps(record_hash)},"seq":{seq}'
    )
    return f"{head},{record[1:]}\n" if record != "{}" else head + "}\n"


# orjson writes the same compact UTF-8 JSON as the stdlib, ~5x faster: the OCSF export is mostly
# parsing and serialising. Records never hold integers past 64 bits (``records`` stores them as
# text), the one value orjson would read differently.
def _ocsf(row: tuple[Any, ...]) -> str:
    seq, prev_hash, record_hash, record = row
    event = to_ocsf(orjson.loads(record), seq=seq, prev_hash=prev_hash, record_hash=record_hash)
    return orjson.dumps(event).decode() + "\n"


_FORMATTERS: dict[str, Callable[[tuple[Any, ...]], str]] = {"jsonl": _jsonl, "ocsf": _ocsf}


def _line_writer(
    out: TextIO, format_row: Callable[[tuple[Any, ...]], str]
) -> Callable[[list[Any]], None]:
    def write(rows: list[Any]) -> None:
        out.write("".join(map(format_row, rows)))

    return write


def _csv_writer(out: TextIO) -> Callable[[list[Any]], None]:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)

    def write(rows: list[Any]) -> None:
        writer.writerows(_csv_row(row) for row in rows)

    return write


def _csv_row(row: tuple[Any, ...]) -> list[Any]:
    cells = list(row)
    cells[0] = iso_time(row[0])
    cells[_RULES] = " ".join(json.loads(row[_RULES]))
    cells[_DEGRADED] = "true" if row[_DEGRADED] else "false"
    for i in _FREE_TEXT:
        if isinstance(cells[i], str) and cells[i].startswith(_FORMULA_START):
            cells[i] = "'" + cells[i]
    return cells
