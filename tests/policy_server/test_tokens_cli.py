"""``reins token …`` as an admin runs it: the token on stdout's last line, no secrets in lists."""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import pytest

from policy_server import store, tokens, tokens_cli

DAY_US = 86_400 * 1_000_000


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="reins")
    subparsers = top.add_subparsers(dest="verb", metavar="VERB")
    subparsers.required = True
    tokens_cli.register(subparsers)
    return top


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REINS_DB", "REINS_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reins.db"


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    args = parser().parse_args(argv)
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def create(capsys: pytest.CaptureFixture[str], db: Path, *extra: str) -> str:
    code, out, _ = run(capsys, ["token", "create", "--db", str(db), *extra])
    assert code == 0
    return out.splitlines()[-1]


@pytest.mark.parametrize(
    "argv", [["token"], ["token", "create"], ["token", "list"], ["token", "revoke"]]
)
def test_every_verb_has_help(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args([*argv, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: reins {' '.join(argv)}")


def test_create_prints_the_token_last_and_it_authenticates(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    argv = [
        "token",
        "create",
        "--user",
        "alice",
        "--role",
        "developer",
        "--role",
        "auditor",
        "--db",
    ]
    code, out, err = run(capsys, [*argv, str(db)])
    token = out.splitlines()[-1]
    assert code == 0
    assert "store it now; it is not shown again" in err.lower()
    assert token not in err
    conn = store.connect(db)
    principal = tokens.authenticate(conn, token, time.time_ns() // 1000)
    conn.close()
    assert principal is not None
    assert (principal.user, principal.roles) == ("alice", ("developer", "auditor"))


def test_create_uses_the_configured_store(
    capsys: pytest.CaptureFixture[str], db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REINS_DB", str(db))
    code, _, _ = run(capsys, ["token", "create", "--user", "ci", "--role", "developer"])
    assert code == 0 and db.exists()
    conn = store.connect(db)
    assert [t.user for t in tokens.list_tokens(conn)] == ["ci"]
    conn.close()


def test_create_with_an_expiry_and_description(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    flags = ["--user", "bot", "--role", "developer", "--expires-days", "7", "--description"]
    create(capsys, db, *flags, "nightly run")
    code, out, _ = run(capsys, ["token", "list", "--json", "--db", str(db)])
    (listed,) = json.loads(out)
    assert code == 0
    assert listed["expires_us"] - listed["created_us"] == 7 * DAY_US
    assert listed["description"] == "nightly run"
    assert listed["roles"] == ["developer"]
    assert set(listed) == {
        "id",
        "prefix",
        "user",
        "roles",
        "description",
        "created_us",
        "expires_us",
        "revoked_us",
    }


def test_list_shows_a_table_without_secrets(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    alice = create(capsys, db, "--user", "alice", "--role", "developer")
    bob = create(capsys, db, "--user", "bob", "--role", "admin", "--role", "auditor")
    run(capsys, ["token", "revoke", "1", "--db", str(db)])
    code, out, _ = run(capsys, ["token", "list", "--db", str(db)])
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == [
        "id",
        "prefix",
        "user",
        "roles",
        "created",
        "expires",
        "revoked",
        "description",
    ]
    first, second = (line.split() for line in lines[1:])
    assert first[:4] == ["1", alice[:12], "alice", "developer"]
    assert first[5] == "-" and first[6].endswith("Z")
    assert second[:4] == ["2", bob[:12], "bob", "admin,auditor"]
    assert second[5:] == ["-", "-"]
    for token in (alice, bob):
        assert token[12:] not in out
        assert hashlib.sha256(token.encode()).hexdigest() not in out


@pytest.mark.parametrize("by", ["id", "prefix"])
def test_revoke_by_id_or_prefix(capsys: pytest.CaptureFixture[str], db: Path, by: str) -> None:
    create(capsys, db, "--user", "alice", "--role", "developer")
    token = create(capsys, db, "--user", "bob", "--role", "developer")
    key = "2" if by == "id" else token[:12]
    code, out, _ = run(capsys, ["token", "revoke", key, "--db", str(db)])
    assert code == 0
    assert out.startswith(f"revoked token 2 ({token[:12]}…) of bob at ")
    conn = store.connect(db)
    revoked = [t.user for t in tokens.list_tokens(conn) if t.revoked_us is not None]
    assert tokens.authenticate(conn, token, time.time_ns() // 1000) is None
    conn.close()
    assert revoked == ["bob"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["create", "--user", "alice", "--role", "root"],
            "reins: unknown role 'root'; choose from admin, author, developer, auditor",
        ),
        (
            ["create", "--user", "", "--role", "developer"],
            "reins: user '' is not valid: it must be non-empty printable text",
        ),
        (
            ["create", "--user", "alice", "--role", "developer", "--expires-days", "0"],
            "reins: --expires-days must be a positive number of days, got 0",
        ),
        (["revoke", "42"], "reins: no token with id or prefix '42'; see `reins token list`"),
    ],
    ids=["bad-role", "empty-user", "zero-days", "unknown-token"],
)
def test_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], db: Path, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, ["token", *argv, "--db", str(db)])
    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_an_unusable_store_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run(capsys, ["token", "list", "--db", str(blocker / "reins.db")])
    assert code == 2
    assert err.startswith("reins: cannot open the store")
    assert err.count("\n") == 1
