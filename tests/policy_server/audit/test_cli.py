"""``reins audit …`` as a user runs it: outputs, exit codes, one-line errors, the key file."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest

from policy_server import store
from policy_server.audit.cli import register
from policy_server.audit.writer import append

OLD = 1_600_000_000_000_000  # 2020-09-13: far past any retention floor


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="reins")
    subparsers = top.add_subparsers(dest="verb")
    register(subparsers)
    return top


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    args = parser().parse_args(["audit", *argv])
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REINS_DB", "REINS_CONFIG", "REINS_AUDIT_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def filled(db: Path, make_record) -> Path:
    conn = store.connect(db)
    append(conn, [make_record(i, received_us=OLD + i, agent=f"a{i % 2}") for i in range(6)])
    conn.close()
    return db


def test_export_streams_jsonl_to_stdout_by_default(capsys, filled: Path) -> None:
    code, out, err = run(capsys, "export", "--db", str(filled))
    assert (code, err) == (0, "")
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [1, 2, 3, 4, 5, 6]


def test_export_filters_and_writes_a_file(capsys, filled: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    argv = ["export", "--format", "csv", "--agent", "a1", "--since", "2026-01-01"]
    code, out, err = run(capsys, *argv, "--out", str(target), "--db", str(filled))
    assert (code, out) == (0, "")
    assert "exported 3 records" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["agent"] for r in rows] == ["a1", "a1", "a1"]


def test_export_ocsf(capsys, filled: Path) -> None:
    code, out, _ = run(capsys, "export", "--format", "ocsf", "--db", str(filled))
    assert code == 0 and json.loads(out.splitlines()[0])["class_uid"] == 6003


def test_db_comes_from_the_environment(capsys, filled: Path, monkeypatch) -> None:
    monkeypatch.setenv("REINS_DB", str(filled))
    code, out, _ = run(capsys, "verify")
    assert (code, out.splitlines()[0]) == (0, "ok: 6 records verified")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "--format", "xml"], "unknown --format 'xml'"),
        (["export", "--since", "last week"], "cannot read 'last week' as a time"),
        (["export", "--decision", "maybe"], "unknown decision 'maybe'"),
        (["prune", "--before", "soon"], "cannot read 'soon' as a time"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, filled: Path, argv, message) -> None:
    code, out, err = run(capsys, *argv, "--db", str(filled))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize("verb", [["export"], ["verify"], ["prune", "--before", "2020-01-01"]])
def test_a_missing_store_is_not_created(capsys, tmp_path: Path, verb: list[str]) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = run(capsys, *verb, "--db", str(missing))
    assert code == 2 and "no store at" in err and err.count("\n") == 1
    assert not missing.exists()


def test_a_bad_config_file_is_a_usage_error(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "verify", "--config", str(tmp_path / "missing.yaml"))
    assert code == 2 and "not found" in err


def test_verify_names_the_first_bad_record(capsys, filled: Path, tamper) -> None:
    conn = store.connect(filled)
    tamper(conn)
    conn.execute("UPDATE audit_events SET decision = 'allow' WHERE seq = 3")
    conn.close()
    code, out, err = run(capsys, "verify", "--db", str(filled))
    assert (code, out) == (1, "")
    assert err.startswith("broken at seq 3: column decision")


def test_prune_creates_a_private_key_and_verify_uses_it(capsys, filled: Path) -> None:
    code, out, _ = run(capsys, "prune", "--before", "2021-01-01", "--db", str(filled))
    first, second = out.splitlines()
    assert (code, first) == (0, "pruned 6 records (seq 1..6), checkpoint 1")
    public = second.split()[2]
    assert second.startswith("public key: ") and len(public) == 64
    key_file = Path(f"{filled}.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    code, out, _ = run(capsys, "verify", "--db", str(filled))
    assert (code, out.splitlines()[0]) == (0, "ok: 1 records verified")
    key_file.write_text("ab" * 32, encoding="ascii")  # someone swapped the key
    code, _, err = run(capsys, "verify", "--db", str(filled))
    assert code == 1 and "not with the given key" in err
    # The auditor's copy of the public key still verifies, without any private key at all.
    key_file.unlink()
    code, out, _ = run(capsys, "verify", "--db", str(filled), "--public-key", public)
    assert (code, out.splitlines()[0]) == (0, "ok: 1 records verified")
    code, _, err = run(capsys, "verify", "--db", str(filled), "--public-key", "ab" * 32)
    assert code == 1 and "not with the given key" in err
    code, _, err = run(capsys, "verify", "--db", str(filled), "--public-key", "xyz")
    assert code == 2 and "64 hex characters" in err


def test_prune_takes_the_key_from_the_environment(capsys, filled: Path, monkeypatch) -> None:
    monkeypatch.setenv("REINS_AUDIT_KEY", "cd" * 32)
    assert run(capsys, "prune", "--before", "2021-01-01", "--db", str(filled))[0] == 0
    assert not Path(f"{filled}.key").exists()
    monkeypatch.setenv("REINS_AUDIT_KEY", "not hex")
    code, _, err = run(capsys, "verify", "--db", str(filled))
    assert code == 2 and "REINS_AUDIT_KEY must be at least 16 bytes" in err


def test_prune_refuses_recent_records_and_says_how_to_proceed(capsys, filled: Path) -> None:
    code, out, err = run(capsys, "prune", "--before", "today", "--db", str(filled))
    assert (code, out) == (2, "")
    assert "--force" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "prune", "--before", "today", "--force", "--db", str(filled))
    assert code == 0 and out.startswith("pruned 6 records")


def test_nothing_to_prune(capsys, filled: Path) -> None:
    code, out, _ = run(capsys, "prune", "--before", "2019-01-01", "--db", str(filled))
    assert (code, out) == (0, "nothing to prune: no records received before 2019-01-01\n")


@pytest.mark.parametrize("verb", ["export", "verify", "prune"])
def test_every_verb_has_help(capsys, verb: str) -> None:
    with pytest.raises(SystemExit) as done:
        parser().parse_args(["audit", verb, "--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    assert "--db" in help_text and "--config" in help_text
    assert len(help_text.split("options:")[0]) > 80  # a description, not just usage


def test_key_file_is_not_created_by_verify(capsys, filled: Path) -> None:
    run(capsys, "verify", "--db", str(filled))
    assert not os.path.exists(f"{filled}.key")


def test_verify_prints_the_head_and_checks_it_later(capsys, filled: Path, tamper) -> None:
    code, out, _ = run(capsys, "verify", "--db", str(filled))
    head = next(line for line in out.splitlines() if line.startswith("head: ")).split()[1]
    assert code == 0 and run(capsys, "verify", "--db", str(filled), "--expect-head", head)[0] == 0
    conn = store.connect(filled)
    tamper(conn)
    last = conn.execute("SELECT MAX(seq) FROM audit_events").fetchone()[0]
    conn.execute("DELETE FROM audit_events WHERE seq = ?", (last,))
    conn.close()
    code, _, err = run(capsys, "verify", "--db", str(filled), "--expect-head", head)
    assert code == 1 and "cut from the end" in err


def test_a_malformed_head_is_a_usage_error(capsys, filled: Path) -> None:
    code, _, err = run(capsys, "verify", "--db", str(filled), "--expect-head", "abc")
    assert code == 2 and "SEQ:HASH" in err
