"""Who is calling: Reins tokens held in memory, and a per-token requests-per-minute limit.

The data plane never waits on the store: ``TokenTable.load`` reads every live token's hash
into a dict, and the gateway calls it again in the background every few seconds, so a new
token works (and a revoked one stops working) within ``auth.refresh_s``. A request costs one
SHA-256 and one dict lookup. Nothing here stores, logs or echoes a presented token.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from policy_server import tokens


@dataclass(frozen=True, slots=True)
class Caller:
    user: str
    roles: tuple[str, ...]
    token_id: int
    expires_us: int | None
    agent: str = ""  # a run-scoped token names its agent and run; they win over headers
    run_id: str = ""


ANONYMOUS = Caller(user="", roles=(), token_id=0, expires_us=None)


class TokenTable:
    """Token hash -> caller, for every token that is neither revoked nor expired."""

    def __init__(self) -> None:
        self.by_hash: dict[str, Caller] = {}
        self.loaded = False

    def load(self, conn: sqlite3.Connection, now_us: int) -> int:
        """Replace the table with the store's live tokens; return how many there are."""
        rows = conn.execute(
            "SELECT id, token_hash, user, roles, expires_us, agent, run_id FROM tokens"
            " WHERE revoked_us IS NULL AND (expires_us IS NULL OR expires_us > ?)",
            (now_us,),
        ).fetchall()
        self.by_hash = {
            token_hash: Caller(user, tuple(json.loads(roles)), token_id, expires_us, agent, run_id)
            for token_id, token_hash, user, roles, expires_us, agent, run_id in rows
        }
        self.loaded = True
        return len(self.by_hash)

    def authenticate(self, presented: str | None, now_us: int) -> Caller | None:
        if not presented:
            return None
        # The same hash the store keeps (tokens._presented_hash rejects non-Reins strings).
        token_hash = tokens._presented_hash(presented)
        caller = self.by_hash.get(token_hash) if token_hash else None
        if caller is None or (caller.expires_us is not None and caller.expires_us <= now_us):
            return None
        return caller


def presented_token(lower: dict[str, str]) -> str | None:
    """The token in ``x-api-key`` or ``Authorization: Bearer`` (Claude Code may send both)."""
    api_key = lower.get("x-api-key")
    if api_key and api_key.startswith(tokens.TOKEN_PREFIX):
        return api_key
    authorization = lower.get("authorization", "")
    scheme, _, rest = authorization.partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    return api_key


class RateLimiter:
    """At most ``per_minute`` requests per token in each calendar minute (0 = no limit).

    Fixed windows: cheap (one dict update) and good enough to stop a runaway loop; a burst can
    reach twice the limit across a minute boundary. Counted per gateway process.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.window = -1
        self.counts: dict[int, int] = {}

    def allow(self, token_id: int) -> float | None:
        """None if allowed, else the seconds until the next window opens."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        window = int(now // 60)
        if window != self.window:
            self.window = window
            self.counts = {}
        count = self.counts.get(token_id, 0) + 1
        self.counts[token_id] = count
        if count > self.per_minute:
            return 60 - (now % 60)
        return None
