"""Leases in the store: at most one holder per name until the lease expires or is released.

A scheduler holds ``agent:<name>`` while a run of that agent is running, which is what keeps an
``overlap: skip`` agent to one instance even with several scheduler processes on several hosts
sharing the store. The expiry (the agent's max runtime plus a grace period) frees the lease if
its holder dies. Callers run these inside their own ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import sqlite3


def holder_of(conn: sqlite3.Connection, name: str, now_us: int) -> str | None:
    row = conn.execute(
        "SELECT holder FROM scheduler_leases WHERE name = ? AND expires_us > ?", (name, now_us)
    ).fetchone()
    return row[0] if row else None


def acquire(
    conn: sqlite3.Connection, name: str, holder: str, *, expires_us: int, now_us: int
) -> bool:
    """Take (or extend our own) lease; False when another holder's lease is still live."""
    current = holder_of(conn, name, now_us)
    if current is not None and current != holder:
        return False
    conn.execute(
        "INSERT INTO scheduler_leases (name, holder, expires_us) VALUES (?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_us = excluded.expires_us",
        (name, holder, expires_us),
    )
    return True


def release(conn: sqlite3.Connection, name: str, holder: str) -> None:
    """Drop the lease if we still hold it (an expired lease taken over by another stays theirs)."""
    conn.execute("DELETE FROM scheduler_leases WHERE name = ? AND holder = ?", (name, holder))
