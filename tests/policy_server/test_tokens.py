"""Tokens and roles: hashed at rest, checked on every request, revocable, cached with a bound."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from policy_server import store, tokens
from policy_server.tokens import Principal, TokenCache

NOW = 1_700_000_000_000_000
HOUR_US = 3_600 * 1_000_000


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reins.db"


@pytest.fixture
def conn(db: Path) -> Iterator[sqlite3.Connection]:
    connection = store.connect(db)
    yield connection
    connection.close()


def test_create_returns_a_token_shown_once_and_its_info(conn: sqlite3.Connection) -> None:
    token, info = tokens.create(
        conn, "alice", ["developer", "auditor", "developer"], description="laptop", now_us=NOW
    )
    assert token.startswith("reins_") and len(token) == 49
    assert info.prefix == token[:12]
    assert info.roles == ("developer", "auditor")
    assert (info.user, info.description, info.created_us) == ("alice", "laptop", NOW)
    assert (info.expires_us, info.revoked_us) == (None, None)
    assert tokens.list_tokens(conn) == [info]


def test_only_the_hash_reaches_the_database_file(db: Path, conn: sqlite3.Connection) -> None:
    token, _ = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    conn.close()
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored
    assert token[12:].encode() not in stored
    assert token[12:20].encode() not in stored


def test_tokens_are_unique(conn: sqlite3.Connection) -> None:
    made = {tokens.create(conn, "alice", ["developer"], now_us=NOW)[0] for _ in range(50)}
    assert len(made) == 50


def test_authenticate_returns_the_principal(conn: sqlite3.Connection) -> None:
    token, info = tokens.create(conn, "alice", ["developer", "auditor"], now_us=NOW)
    assert tokens.authenticate(conn, token, NOW) == Principal(
        user="alice", roles=("developer", "auditor"), token_id=info.id
    )


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "reins_",
        "reins_" + "A" * 43,
        "Bearer reins_x",
        "sk-ant-api03-not-ours",
        "reins_" + "x" * 10_000,
    ],
    ids=["empty", "bare-prefix", "unknown", "with-scheme", "foreign-key", "huge"],
)
def test_authenticate_rejects_unknown_tokens(conn: sqlite3.Connection, presented: str) -> None:
    tokens.create(conn, "alice", ["admin"], now_us=NOW)
    assert tokens.authenticate(conn, presented, NOW) is None


def test_authenticate_rejects_a_near_miss(conn: sqlite3.Connection) -> None:
    token, _ = tokens.create(conn, "alice", ["admin"], now_us=NOW)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for presented in (flipped, token + "x", token[:-1], token.upper(), f" {token}"):
        assert tokens.authenticate(conn, presented, NOW) is None


def test_revoked_token_is_rejected(conn: sqlite3.Connection) -> None:
    token, info = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    revoked = tokens.revoke(conn, info.id, NOW + 1)
    assert revoked.revoked_us == NOW + 1
    assert tokens.authenticate(conn, token, NOW + 2) is None


def test_expired_token_is_rejected_from_its_expiry_on(conn: sqlite3.Connection) -> None:
    token, _ = tokens.create(conn, "alice", ["developer"], expires_us=NOW + HOUR_US, now_us=NOW)
    assert tokens.authenticate(conn, token, NOW + HOUR_US - 1) is not None
    assert tokens.authenticate(conn, token, NOW + HOUR_US) is None


@pytest.mark.parametrize("user", ["", " ", " alice", "alice\n", "al\x00ice", "x" * 101], ids=repr)
def test_create_rejects_bad_users(conn: sqlite3.Connection, user: str) -> None:
    with pytest.raises(ValueError, match="non-empty printable text of at most 100") as caught:
        tokens.create(conn, user, ["developer"], now_us=NOW)
    assert repr(user) in str(caught.value)
    assert tokens.list_tokens(conn) == []


def test_a_user_of_100_printable_characters_is_fine(conn: sqlite3.Connection) -> None:
    _, info = tokens.create(conn, "é" * 100, ["developer"], now_us=NOW)
    assert info.user == "é" * 100


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ([], "give at least one role; choose from admin, author, developer, auditor"),
        (["root"], "unknown role 'root'; choose from admin, author, developer, auditor"),
        (["developer", "Admin"], "unknown role 'Admin'; choose from admin, author, developer"),
    ],
)
def test_create_rejects_bad_roles(conn: sqlite3.Connection, roles: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tokens.create(conn, "alice", roles, now_us=NOW)
    assert tokens.list_tokens(conn) == []


def test_create_refuses_a_single_string_of_roles(conn: sqlite3.Connection) -> None:
    with pytest.raises(TypeError):
        tokens.create(conn, "alice", "admin", now_us=NOW)


def test_create_rejects_an_expiry_in_the_past_and_a_multiline_description(
    conn: sqlite3.Connection,
) -> None:
    with pytest.raises(ValueError, match="expiry must be in the future"):
        tokens.create(conn, "alice", ["developer"], expires_us=NOW, now_us=NOW)
    with pytest.raises(ValueError, match="description must be printable"):
        tokens.create(conn, "alice", ["developer"], description="a\nb", now_us=NOW)


# role -> the requirements it meets; every other (role, need) pair is refused.
MEETS = {
    "admin": {"admin", "author", "developer", "auditor"},
    "author": {"author"},
    "developer": {"developer"},
    "auditor": {"auditor"},
}


@pytest.mark.parametrize(
    ("role", "need", "expected"),
    [(role, need, need in MEETS[role]) for role in tokens.ROLES for need in tokens.ROLES],
)
def test_role_table(role: str, need: str, expected: bool) -> None:
    assert tokens.allowed([role], need) is expected


def test_roles_add_up_and_unknown_roles_meet_nothing() -> None:
    assert tokens.allowed(("author", "auditor"), "auditor")
    assert not tokens.allowed(("author", "auditor"), "developer")
    assert not tokens.allowed((), "developer")
    assert not tokens.allowed(("root", "superuser"), "developer")


def test_an_unknown_requirement_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown requirement 'developers'"):
        tokens.allowed(["admin"], "developers")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer reins_abc"}, "reins_abc"),
        ({"authorization": "bearer reins_abc"}, "reins_abc"),
        ({"AUTHORIZATION": "BEARER   reins_abc  "}, "reins_abc"),
        ({"x-api-key": "reins_abc"}, "reins_abc"),
        ({"X-Api-Key": " reins_abc "}, "reins_abc"),
        ({"Authorization": "Bearer reins_a", "x-api-key": "reins_b"}, "reins_a"),
        ({"Authorization": "Basic dXNlcjpwYXNz", "x-api-key": "reins_b"}, "reins_b"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, None),
        ({"Authorization": "Bearer"}, None),
        ({"Authorization": "Bearer "}, None),
        ({"Authorization": "Bearer a b"}, None),
        ({"Authorization": "reins_abc"}, None),
        ({"x-api-key": "  "}, None),
        ({}, None),
        ({"Content-Type": "application/json"}, None),
    ],
)
def test_parse_authorization(headers: dict[str, str], expected: str | None) -> None:
    assert tokens.parse_authorization(headers) == expected


def test_list_shows_every_token_without_its_hash(conn: sqlite3.Connection) -> None:
    first, _ = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    second, info = tokens.create(conn, "bob", ["auditor"], expires_us=NOW + 5, now_us=NOW + 1)
    tokens.revoke(conn, info.id, NOW + 2)
    listed = tokens.list_tokens(conn)
    assert [(t.user, t.revoked_us) for t in listed] == [("alice", None), ("bob", NOW + 2)]
    text = repr(listed)
    for token in (first, second):
        assert token[12:] not in text
        assert hashlib.sha256(token.encode()).hexdigest() not in text


@pytest.mark.parametrize("by", ["id", "id-text", "prefix", "full-token"])
def test_revoke_by_id_prefix_or_full_token(conn: sqlite3.Connection, by: str) -> None:
    token, info = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    other, _ = tokens.create(conn, "bob", ["developer"], now_us=NOW)
    key = {"id": info.id, "id-text": f" {info.id} ", "prefix": info.prefix, "full-token": token}
    assert tokens.revoke(conn, key[by], NOW + 1).id == info.id
    assert tokens.authenticate(conn, token, NOW + 2) is None
    assert tokens.authenticate(conn, other, NOW + 2) is not None


def test_revoking_twice_keeps_the_first_time(conn: sqlite3.Connection) -> None:
    _, info = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    tokens.revoke(conn, info.id, NOW + 1)
    assert tokens.revoke(conn, info.prefix, NOW + 9).revoked_us == NOW + 1


def test_revoke_refuses_unknown_and_ambiguous_names(conn: sqlite3.Connection) -> None:
    _, a = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    _, b = tokens.create(conn, "bob", ["developer"], now_us=NOW)
    with pytest.raises(ValueError, match="no token with id or prefix '99'"):
        tokens.revoke(conn, "99", NOW)
    with pytest.raises(ValueError, match=r"no token with id or prefix 'reins_Zzzzzz…'"):
        tokens.revoke(conn, "reins_Zzzzzz-a-leaked-secret", NOW)
    conn.execute("UPDATE tokens SET prefix = ? WHERE id = ?", (a.prefix, b.id))
    with pytest.raises(ValueError, match=f"matches tokens {a.id}, {b.id}; revoke by id"):
        tokens.revoke(conn, a.prefix, NOW)
    assert all(t.revoked_us is None for t in tokens.list_tokens(conn))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting(db: Path) -> tuple[sqlite3.Connection, list[str]]:
    """A store connection that records every statement it runs."""
    connection = store.connect(db)
    statements: list[str] = []
    connection.set_trace_callback(statements.append)
    return connection, statements


def test_cache_answers_repeats_without_a_query(db: Path, conn: sqlite3.Connection) -> None:
    token, info = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    cached, statements = counting(db)
    cache = TokenCache(lambda: cached, ttl_s=60)
    for _ in range(100):
        assert cache.authenticate(token, NOW) == Principal("alice", ("developer",), info.id)
    assert len(statements) == 1
    cached.close()  # a hit must not touch the store at all
    assert cache.authenticate(token, NOW) is not None


def test_cache_sees_a_revocation_after_its_ttl(db: Path, conn: sqlite3.Connection) -> None:
    token, info = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    clock = Clock()
    cache = TokenCache(lambda: store.connect(db), ttl_s=5, clock=clock)
    assert cache.authenticate(token, NOW) is not None
    tokens.revoke(conn, info.id, NOW)
    clock.now += 4.9
    assert cache.authenticate(token, NOW) is not None  # documented: up to ttl_s late
    clock.now += 0.2
    assert cache.authenticate(token, NOW) is None
    cache.close()


def test_cache_with_a_tiny_ttl_on_the_real_clock(db: Path, conn: sqlite3.Connection) -> None:
    token, info = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    cache = TokenCache(lambda: store.connect(db), ttl_s=0.05)
    assert cache.authenticate(token, NOW) is not None
    tokens.revoke(conn, info.id, NOW)
    time.sleep(0.06)
    assert cache.authenticate(token, NOW) is None
    cache.close()


def test_cache_never_serves_a_token_past_its_expiry(db: Path, conn: sqlite3.Connection) -> None:
    token, _ = tokens.create(conn, "alice", ["developer"], expires_us=NOW + 10, now_us=NOW)
    cached, statements = counting(db)
    cache = TokenCache(lambda: cached, ttl_s=60)
    assert cache.authenticate(token, NOW + 9) is not None
    assert cache.authenticate(token, NOW + 10) is None
    assert len(statements) == 1
    cached.close()


def test_cache_remembers_rejections_briefly(db: Path, conn: sqlite3.Connection) -> None:
    bogus = "reins_" + "B" * 43
    cached, statements = counting(db)
    clock = Clock()
    cache = TokenCache(lambda: cached, ttl_s=60, negative_ttl_s=1, clock=clock)
    for _ in range(10):
        assert cache.authenticate(bogus, NOW) is None
    assert len(statements) == 1
    clock.now += 1.01
    assert cache.authenticate(bogus, NOW) is None
    assert len(statements) == 2
    assert cache.authenticate("not-a-reins-token", NOW) is None  # refused without a query
    assert len(statements) == 2
    cached.close()


def test_cache_is_bounded_and_keys_on_hashes(db: Path, conn: sqlite3.Connection) -> None:
    token, _ = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    cached, statements = counting(db)
    cache = TokenCache(lambda: cached, ttl_s=60, max_entries=3)
    assert cache.authenticate(token, NOW) is not None
    for n in range(20):
        cache.authenticate(f"reins_junk{n}", NOW)
        assert cache.authenticate(token, NOW) is not None  # recently used, so kept
    assert len(cache) == 3
    assert len(statements) == 21
    assert token not in repr(vars(cache))
    cached.close()


def test_cache_clear_forgets_answers(db: Path, conn: sqlite3.Connection) -> None:
    token, info = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    cache = TokenCache(lambda: store.connect(db), ttl_s=60)
    assert cache.authenticate(token, NOW) is not None
    tokens.revoke(conn, info.id, NOW)
    cache.clear()
    assert cache.authenticate(token, NOW) is None
    cache.close()


def test_cache_opens_its_connection_lazily_and_once(db: Path, conn: sqlite3.Connection) -> None:
    token, _ = tokens.create(conn, "alice", ["developer"], now_us=NOW)
    opened: list[sqlite3.Connection] = []

    def factory() -> sqlite3.Connection:
        opened.append(store.connect(db))
        return opened[-1]

    cache = TokenCache(factory, ttl_s=60)
    assert opened == []
    for n in range(5):
        cache.authenticate(f"reins_other{n}", NOW)
    assert cache.authenticate(token, NOW) is not None
    assert len(opened) == 1
    cache.close()
    with pytest.raises(sqlite3.ProgrammingError):
        opened[0].execute("SELECT 1")
