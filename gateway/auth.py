"""Who is calling: Reins tokens held in memory, and a per-token requests-per-minute limit
shared by all the gateway's worker processes.

The data plane never waits on the store: ``TokenTable.load`` reads every live token's hash
into a dict, and the gateway calls it again in the background every few seconds, so a new
token works (and a revoked one stops working) within ``auth.refresh_s``. A request costs one
SHA-256 and one dict lookup. Nothing here stores, logs or echoes a presented token.
"""

from __future__ import annotations

import hmac
import json
import mmap
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from policy_server import tokens

SLOTS = 4096  # rows of the shared rate-limit table; token ids this far apart share one
CELL = 3  # int64s per cell: token id, window (minutes since the epoch), count


@dataclass(frozen=True, slots=True)
class Caller:
    user: str
    roles: tuple[str, ...]
    token_id: int
    expires_us: int | None
    agent: str = ""  # a run-scoped token names its agent and run; they win over headers
    run_id: str = ""


ANONYMOUS = Caller(user="", roles=(), token_id=0, expires_us=None)


class TokenMemo:
    """The last token one client connection presented, and its hash. It lives and dies with
    the connection's object; never logged or stored."""

    __slots__ = ("hash", "token")

    def __init__(self) -> None:
        self.token: str | None = None
        self.hash = ""


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

    def authenticate(
        self, presented: str | None, now_us: int, memo: TokenMemo | None = None
    ) -> Caller | None:
        """The live caller of ``presented``, or None. ``memo`` (one per client connection)
        spares the SHA-256 when the connection presents the same token again; the table is
        still consulted, so a revoked or expired token stops working all the same."""
        if not presented:
            return None
        seen = memo.token if memo is not None else None
        if seen is not None and presented.isascii() and hmac.compare_digest(presented, seen):
            token_hash = memo.hash  # type: ignore[union-attr]
        else:
            # The same hash the store keeps (tokens._presented_hash rejects non-Reins strings).
            token_hash = tokens._presented_hash(presented)
            if memo is not None and token_hash and presented.isascii():
                memo.token, memo.hash = presented, token_hash
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
    """At most ``per_minute`` requests per token in each calendar minute (0 = no limit), summed
    over every worker process of one ``reins gateway``.

    Fixed windows: cheap and good enough to stop a runaway loop; a burst can reach twice the
    limit across a minute boundary. The counts live in an anonymous shared memory map made when
    the gateway is built, before ``workers.run`` forks, so every worker sees the same pages. It
    is a table of ``SLOTS`` rows (row = token id % ``SLOTS``) of one cell per worker; a cell is
    three int64s (token id, window, count). Each worker writes only its own cells (one writer
    per cell, and gevent runs one greenlet at a time), and a request reads its row: no lock, no
    syscall, no store access. A cell holding another token or an older window counts as 0 and
    is taken over by its worker. Approximations: requests arriving in the same instant on
    different workers can each see the sum before the others add theirs, so a token can get a
    few more than its limit (about one per other worker); tokens whose ids are a multiple of
    ``SLOTS`` apart share a row and, when both are busy on one worker in one minute, reset each
    other's count there, so they too can exceed the limit.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float], workers: int = 1) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.worker = 0  # this process's cell in each row; ``workers.run`` sets it after fork
        self.stride = workers * CELL
        # mmap(-1, ...) is MAP_SHARED: pages are touched (and so allocated) only when used.
        self.cells = (
            memoryview(mmap.mmap(-1, SLOTS * self.stride * 8)).cast("q") if per_minute > 0 else None
        )

    def allow(self, token_id: int) -> float | None:
        """None if allowed (and counted), else the seconds until the next window opens."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        window = int(now // 60)
        cells = self.cells
        row = token_id % SLOTS * self.stride
        total = 0
        for cell in range(row, row + self.stride, CELL):
            if cells[cell] == token_id and cells[cell + 1] == window:
                total += cells[cell + 2]
        if total >= self.per_minute:
            return 60 - (now % 60)
        mine = row + self.worker * CELL
        if cells[mine] != token_id or cells[mine + 1] != window:
            # Count first: a worker reading the cell half-way sees 0, never an older count.
            cells[mine + 2] = 0
            cells[mine + 1] = window
            cells[mine] = token_id
        cells[mine + 2] += 1
        return None
