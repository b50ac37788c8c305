"""`reins budget set|show|delete` and `reins usage report` on a real store: output and errors."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from policy_server import store
from reins.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add_row(db: Path, **values) -> None:
    row = {"request_id": f"r{time.time_ns()}", "time_us": time.time_ns() // 1000,
           "inbound": "anthropic", "endpoint": "messages", "status": 200, "outcome": "ok",
           "latency_us": 1, **values}  # fmt: skip
    conn = store.connect(db)
    try:
        conn.execute(
            f"INSERT INTO usage ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    finally:
        conn.close()


def test_set_show_delete_round_trip(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "reins.db")
    code, out, _ = run(capsys, "budget", "set", "dev", "--scope", "user", "--subject", "*",
                       "--period", "daily", "--unit", "usd", "--soft", "1", "--hard", "2",
                       "--db", db)  # fmt: skip
    assert code == 0 and json.loads(out)["hard"] == "2"
    add_row(Path(db), user="dana", cost_usd=0.25, input_tokens=10, output_tokens=5)
    add_row(Path(db), user="eve", cost_usd=0.5, input_tokens=10, output_tokens=5)
    code, out, _ = run(capsys, "budget", "show", "--db", db)
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("dev "))
    assert "dana=0.25" in line and "eve=0.5" in line and "T00:00:00+00:00" in line
    code, out, _ = run(capsys, "budget", "delete", "dev", "--db", db)
    assert code == 0 and "deleted" in out
    code, _, err = run(capsys, "budget", "delete", "dev", "--db", db)
    assert code == 2 and "no stored budget named 'dev'" in err
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM budgets").fetchone()[0] == 0
    conn.close()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hard", "-3"], "expected a number of US dollars > 0"),
        (["--soft", "5", "--hard", "2"], "soft limit 5 is above hard limit 2"),
        ([], "set a hard limit (reject) or a soft limit (warn), or both"),
        (["--hard", "1", "--member", "x"], "only a team budget lists members"),
    ],
)
def test_bad_budgets_are_refused_with_the_fix(tmp_path: Path, capsys, extra, message) -> None:
    code, _, err = run(capsys, "budget", "set", "b", "--scope", "agent", "--subject", "a",
                       "--period", "total", "--unit", "usd", *extra,
                       "--db", str(tmp_path / "r.db"))  # fmt: skip
    assert code == 2 and message in err


def test_usage_report_table_and_json_from_rows(tmp_path: Path, capsys) -> None:
    db = tmp_path / "reins.db"
    add_row(
        db, agent="a", model="m1", provider="p", cost_usd=0.1, input_tokens=100, output_tokens=10
    )
    add_row(
        db, agent="a", model="m1", provider="p", cost_usd=0.2, input_tokens=100, output_tokens=10
    )
    add_row(db, agent="b", model="m2", provider="p", input_tokens=7, output_tokens=3,
            inbound="responses", cache_read_tokens=5, attempts=2)  # fmt: skip
    code, out, _ = run(capsys, "usage", "report", "--by", "agent", "--json", "--db", str(db))
    assert code == 0
    report = json.loads(out)
    a, b = report["groups"]
    assert (a["key"], a["requests"], a["total_tokens"]) == ("a", 2, 220)
    assert a["cost_usd"] == pytest.approx(0.3)
    # OpenAI counts include cached input: 7 reported = 2 plain + 5 cached.
    assert (b["input_tokens"], b["cache_read_tokens"], b["total_tokens"]) == (2, 5, 10)
    assert (b["cost_usd"], b["unpriced_rows"], b["fallbacks"]) == (None, 1, 1)
    assert report["total"]["requests"] == 3
    code, out, _ = run(capsys, "usage", "report", "--by", "model", "--db", str(db))
    lines = out.splitlines()
    assert lines[0].split() == [
        "model",
        "requests",
        "errors",
        "fallbacks",
        "tokens",
        "cost_usd",
        "unpriced",
    ]
    assert lines[1].split()[:2] == ["m1", "2"] and lines[-1].startswith("TOTAL")
    code, _, err = run(capsys, "usage", "report", "--since", "last week", "--db", str(db))
    assert code == 2 and "cannot read 'last week' as a time" in err
