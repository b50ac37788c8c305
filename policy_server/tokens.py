"""API tokens and roles: who is calling, and may they do this?

A token is ``reins_`` followed by 256 random bits. The store keeps only its SHA-256 and a
12-character prefix so people can tell tokens apart in ``reins token list``. ``create``
returns the token once. Nothing here stores it, logs it or puts it in an exception message.

The HTTP layer gets the presented token with ``parse_authorization``, asks
``TokenCache.authenticate`` who is calling, and asks ``allowed`` whether that caller has the
role the route needs. This module never imports Flask, and it never talks to a provider.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .roles import GRANTS, ROLES

if TYPE_CHECKING:
    import sqlite3

TOKEN_PREFIX = "reins_"
PREFIX_LEN = 12  # "reins_" + 6 random characters: enough to tell tokens apart, useless to guess
MAX_TOKEN_LEN = 256  # real tokens have 49 characters; anything longer is rejected before hashing
MAX_USER_LEN = 100
MAX_DESCRIPTION_LEN = 200
_COLUMNS = "id, prefix, user, roles, description, created_us, expires_us, revoked_us"


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: the user and roles of the token it presented."""

    user: str
    roles: tuple[str, ...]
    token_id: int
    # Set only on the short-lived token of a scheduled run: the one agent and run it may act as.
    agent: str = ""
    run_id: str = ""


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: everything except its hash (and the token itself)."""

    id: int
    prefix: str
    user: str
    roles: tuple[str, ...]
    description: str
    created_us: int
    expires_us: int | None
    revoked_us: int | None


def allowed(roles: Iterable[str], need: str) -> bool:
    """True if any of ``roles`` meets ``need``. Unknown roles meet nothing."""
    if need not in GRANTS:
        # A typo in a route must fail loudly. It must not quietly lock everyone out or let everyone in.
        raise ValueError(f"unknown requirement {need!r}; choose one of {', '.join(ROLES)}")
    return any(need in GRANTS.get(role, ()) for role in roles)


def create(
    conn: sqlite3.Connection,
    user: str,
    roles: Iterable[str],
    *,
    description: str = "",
    expires_us: int | None = None,
    now_us: int,
    agent: str = "",
    run_id: str = "",
) -> tuple[str, TokenInfo]:
    """Make a token for ``user`` with ``roles``. Return the token (shown once) and its info.

    ``agent`` and ``run_id`` scope the token to one scheduled run (see ``ServerState.require``)."""
    user = _check_user(user)
    checked_roles = _check_roles(roles)
    if len(description) > MAX_DESCRIPTION_LEN or not description.isprintable():
        raise ValueError(
            f"description must be printable text of at most {MAX_DESCRIPTION_LEN} characters"
        )
    if expires_us is not None and expires_us <= now_us:
        raise ValueError("the expiry must be in the future")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    prefix = token[:PREFIX_LEN]
    cursor = conn.execute(
        "INSERT INTO tokens (token_hash, prefix, user, roles, description, created_us, expires_us,"
        " agent, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            _hash(token),
            prefix,
            user,
            json.dumps(list(checked_roles)),
            description,
            now_us,
            expires_us,
            agent,
            run_id,
        ),
    )
    info = TokenInfo(
        id=int(cursor.lastrowid or 0),
        prefix=prefix,
        user=user,
        roles=checked_roles,
        description=description,
        created_us=now_us,
        expires_us=expires_us,
        revoked_us=None,
    )
    return token, info


def authenticate(conn: sqlite3.Connection, presented: str, now_us: int) -> Principal | None:
    """The principal behind ``presented``, or None if it is unknown, revoked or expired."""
    token_hash = _presented_hash(presented)
    if token_hash is None:
        return None
    return _lookup(conn, token_hash, now_us)[0]


def parse_authorization(headers: Mapping[str, str]) -> str | None:
    """The token in ``Authorization: Bearer <t>`` or, failing that, ``x-api-key: <t>``.

    Header names and the ``Bearer`` scheme are matched in any case. Harnesses that talk the
    Anthropic API send ``x-api-key``, and everything else sends a bearer token.
    """
    bearer = api_key = None
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == "authorization":
            scheme, _, rest = value.strip().partition(" ")
            token = rest.strip()
            if scheme.lower() == "bearer" and token and " " not in token:
                bearer = token
        elif lowered == "x-api-key" and value.strip():
            api_key = value.strip()
    return bearer or api_key


def list_tokens(conn: sqlite3.Connection) -> list[TokenInfo]:
    """Every token, oldest first, including revoked and expired ones (with their times)."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM tokens ORDER BY id").fetchall()
    return [_info(row) for row in rows]


def revoke(conn: sqlite3.Connection, token_id_or_prefix: str | int, now_us: int) -> TokenInfo:
    """Revoke one token, named by id, by its listed prefix or by the full (leaked) token.

    Revoking an already revoked token changes nothing and keeps the first revocation time.
    Servers stop accepting the token within their ``TokenCache`` ttl.
    """
    key = str(token_id_or_prefix).strip()
    if re.fullmatch(r"[0-9]+", key):
        where, value = "id = ?", key
    elif len(key) > PREFIX_LEN and key.startswith(TOKEN_PREFIX):
        where, value = "token_hash = ?", _hash(key)
    else:
        where, value = "prefix = ?", key
    rows = conn.execute(f"SELECT {_COLUMNS} FROM tokens WHERE {where}", (value,)).fetchall()
    if not rows:
        # Never echo a full token back: it may be the leaked secret being revoked.
        shown = key if len(key) <= PREFIX_LEN else key[:PREFIX_LEN] + "…"
        raise ValueError(f"no token with id or prefix {shown!r}; see `reins token list`")
    if len(rows) > 1:
        ids = ", ".join(str(row[0]) for row in rows)
        raise ValueError(f"prefix {key!r} matches tokens {ids}; revoke by id instead")
    token_id = rows[0][0]
    conn.execute(
        "UPDATE tokens SET revoked_us = ? WHERE id = ? AND revoked_us IS NULL", (now_us, token_id)
    )
    return _info(
        conn.execute(f"SELECT {_COLUMNS} FROM tokens WHERE id = ?", (token_id,)).fetchone()
    )


class TokenCache:
    """Remembers recent authentications so that a request does not cost a SQLite query.

    A revocation reaches every server within ``ttl_s`` seconds, because a positive answer is
    trusted that long and then looked up again. Expiry is exact: a cached entry keeps the
    token's expiry time and is checked against it on every hit. Rejections are cached for
    ``negative_ttl_s`` (capped at ``ttl_s``), so a client that keeps retrying a bad or revoked
    token does not hit the store on every request. Rejections can be cached because no token
    becomes valid again: a revoked or expired token stays dead, and a new token has a new hash.
    At most ``max_entries`` entries are kept, and the least recently used goes first, so a flood
    of random tokens cannot grow memory. The keys are token hashes, so the cache holds no
    plaintext token.

    ``conn_factory`` opens the store. It is called lazily, on the first miss, so a server that
    forks workers after building the app gives each worker its own connection. The cache owns
    that connection (see ``close``). ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        conn_factory: Callable[[], sqlite3.Connection],
        ttl_s: float = 5.0,
        *,
        negative_ttl_s: float = 1.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn_factory = conn_factory
        self._conn: sqlite3.Connection | None = None
        self._ttl_s = ttl_s
        self._negative_ttl_s = min(negative_ttl_s, ttl_s)
        self._max_entries = max_entries
        self._clock = clock
        # token hash -> (principal or None, token expiry in µs or None, trusted until clock())
        self._entries: OrderedDict[str, tuple[Principal | None, int | None, float]] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, presented: str, now_us: int) -> Principal | None:
        """Like ``authenticate``, answered from memory when a recent answer is still trusted."""
        token_hash = _presented_hash(presented)
        if token_hash is None:
            return None
        now = self._clock()
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is not None and entry[2] > now:
                self._entries.move_to_end(token_hash)
                principal, expires_us, _ = entry
                if principal is not None and expires_us is not None and expires_us <= now_us:
                    return None
                return principal
            # Query under the lock: the sqlite3 connection must not be used by two threads at once.
            if self._conn is None:
                self._conn = self._conn_factory()
            principal, expires_us = _lookup(self._conn, token_hash, now_us)
            ttl = self._ttl_s if principal is not None else self._negative_ttl_s
            self._entries[token_hash] = (principal, expires_us, now + ttl)
            self._entries.move_to_end(token_hash)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return principal

    def clear(self) -> None:
        """Forget every answer, e.g. right after this process revoked a token."""
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        """Close the store connection, if one was opened. The next miss opens another."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __len__(self) -> int:
        return len(self._entries)


def _hash(token: str) -> str:
    # A fast, unsalted hash is right here. Tokens carry 256 random bits, so there is no
    # dictionary to slow down, and the hash must be deterministic so that it can be looked up.
    # Bcrypt and similar hashes exist for low-entropy passwords.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _presented_hash(presented: str) -> str | None:
    """The hash to look up, or None when ``presented`` cannot be one of our tokens.

    Looking up by hash is safe against timing attacks. The lookup time depends on the hash,
    and an attacker cannot steer that hash toward a stored one without breaking SHA-256.
    """
    if not presented.startswith(TOKEN_PREFIX) or len(presented) > MAX_TOKEN_LEN:
        return None
    return _hash(presented)


def _lookup(
    conn: sqlite3.Connection, token_hash: str, now_us: int
) -> tuple[Principal | None, int | None]:
    """The principal and the expiry of a live token, or ``(None, None)``."""
    row = conn.execute(
        "SELECT id, user, roles, expires_us, revoked_us, agent, run_id FROM tokens"
        " WHERE token_hash = ?",
        (token_hash,),
    ).fetchone()
    if row is None:
        return None, None
    token_id, user, roles, expires_us, revoked_us, agent, run_id = row
    if revoked_us is not None or (expires_us is not None and expires_us <= now_us):
        return None, None
    principal = Principal(user, tuple(json.loads(roles)), token_id, agent, run_id)
    return principal, expires_us


def _info(row: tuple) -> TokenInfo:
    token_id, prefix, user, roles, description, created_us, expires_us, revoked_us = row
    return TokenInfo(
        id=token_id,
        prefix=prefix,
        user=user,
        roles=tuple(json.loads(roles)),
        description=description,
        created_us=created_us,
        expires_us=expires_us,
        revoked_us=revoked_us,
    )


def _check_user(user: str) -> str:
    if not user or user != user.strip() or not user.isprintable() or len(user) > MAX_USER_LEN:
        raise ValueError(
            f"user {user!r} is not valid: it must be non-empty printable text of at most "
            f"{MAX_USER_LEN} characters, without leading or trailing spaces"
        )
    return user


def _check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    if isinstance(roles, str):
        raise TypeError("roles must be a list of role names, not one string")
    # dict.fromkeys drops duplicates and keeps the order the roles were given in.
    checked = tuple(dict.fromkeys(roles))
    if not checked:
        raise ValueError(f"give at least one role; choose from {', '.join(ROLES)}")
    for role in checked:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    return checked
