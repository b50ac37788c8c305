"""The agents defined through the API and CLI, kept in the store with every revision.

Agents of ``policies/agents/*.yaml`` are read-only here: they change by pull request. A store
agent can be edited only by its owner or an admin; every change writes a new version and a row
in ``agent_revisions``, so who changed what, when, stays visible.

This module never stores a provider key or a token (definitions cannot hold them, see
``agent.py``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from .agent import Agent, AgentError, AgentProblem, validate

_COLUMNS = "spec, version, updated_us, updated_by"


class CatalogError(ValueError):
    """A change the catalog refuses: ``status`` is the HTTP status it maps to."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def may_manage(user: str, roles: Iterable[str], agent: Agent) -> bool:
    """Owners and admins change an agent and read its activity; auditors read every activity."""
    return "admin" in roles or agent.owner == user


def store_agents(conn: sqlite3.Connection) -> list[Agent]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM agents ORDER BY name").fetchall()
    return [_agent(row) for row in rows]


def signature(conn: sqlite3.Connection) -> tuple[int, int]:
    """Changes whenever a store agent is created or changed: (count, highest update time)."""
    row = conn.execute("SELECT COUNT(*), COALESCE(MAX(updated_us), 0) FROM agents").fetchone()
    return int(row[0]), int(row[1])


def find(agents: Sequence[Agent], name: str) -> Agent | None:
    return next((a for a in agents if a.name == name), None)


def create(
    conn: sqlite3.Connection,
    spec: Any,
    *,
    user: str,
    roles: Iterable[str],
    file_agents: Sequence[Agent],
    now_us: int,
) -> Agent:
    """Store a new agent. Authors may only create agents they own (admins any owner)."""
    if isinstance(spec, dict) and "owner" not in spec:
        spec = {**spec, "owner": user}
    spec = validate(spec)
    _check_owner(spec, user, roles)
    defined = find(file_agents, spec["name"])
    if defined is not None:
        raise CatalogError(
            409, f"agent {spec['name']!r} is defined in {defined.source}; change it by pull request"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT 1 FROM agents WHERE name = ?", (spec["name"],)).fetchone():
            raise CatalogError(
                409, f"agent {spec['name']!r} exists; use `reins agent edit {spec['name']}`"
            )
        _write(conn, spec, 1, user, now_us, created=True)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return _get(conn, spec["name"])


def update(
    conn: sqlite3.Connection,
    name: str,
    spec: Any,
    *,
    user: str,
    roles: Iterable[str],
    now_us: int,
    expected_version: int | None = None,
) -> Agent:
    """Replace a store agent's definition (the name cannot change)."""
    if isinstance(spec, dict) and spec.get("name", name) != name:
        raise AgentError([AgentProblem("name", "the name of an agent cannot change")])
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _editable(conn, name, user, roles, expected_version)
        if isinstance(spec, dict):
            spec = {"owner": current.owner, **spec, "name": name}
        spec = validate(spec)
        _check_owner(spec, user, roles)
        _write(conn, spec, current.version + 1, user, now_us)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return _get(conn, name)


def set_enabled(
    conn: sqlite3.Connection,
    name: str,
    enabled: bool,
    *,
    user: str,
    roles: Iterable[str],
    now_us: int,
) -> Agent:
    """Disable (no more scheduled runs, definition and rules kept) or enable again."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _editable(conn, name, user, roles, None)
        spec = {**current.spec, "enabled": enabled}
        _write(conn, spec, current.version + 1, user, now_us)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return _get(conn, name)


def revisions(conn: sqlite3.Connection, name: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT version, updated_us, updated_by, enabled FROM agent_revisions WHERE name = ?"
        " ORDER BY version DESC LIMIT 50",
        (name,),
    ).fetchall()
    return [
        {"version": v, "updated_us": t, "updated_by": by, "enabled": bool(e)}
        for v, t, by, e in rows
    ]


def _editable(
    conn: sqlite3.Connection, name: str, user: str, roles: Iterable[str], expected: int | None
) -> Agent:
    current = _get(conn, name)
    if current is None:
        raise CatalogError(
            404,
            f"no agent {name!r} in the store; agents of policies/agents/ change by pull request, "
            "others are created with `reins agent create`",
        )
    if not may_manage(user, roles, current):
        raise CatalogError(403, f"agent {name!r} belongs to {current.owner}; ask them or an admin")
    if expected is not None and expected != current.version:
        raise CatalogError(
            409,
            f"agent {name!r} is at version {current.version}, not {expected}: someone changed it "
            "meanwhile; fetch it again and reapply your change",
        )
    return current


def _check_owner(spec: dict[str, Any], user: str, roles: Iterable[str]) -> None:
    if spec["owner"] != user and "admin" not in roles:
        raise CatalogError(
            403, f"you ({user}) may only own agents yourself; set owner: {user} or ask an admin"
        )


def _write(
    conn: sqlite3.Connection,
    spec: dict[str, Any],
    version: int,
    user: str,
    now_us: int,
    *,
    created: bool = False,
) -> None:
    text = json.dumps(spec, sort_keys=True)
    enabled = int(bool(spec.get("enabled", True)))
    if created:
        conn.execute(
            "INSERT INTO agents (name, owner, spec, enabled, version, created_us, updated_us,"
            " updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (spec["name"], spec["owner"], text, enabled, version, now_us, now_us, user),
        )
    else:
        conn.execute(
            "UPDATE agents SET owner = ?, spec = ?, enabled = ?, version = ?, updated_us = ?,"
            " updated_by = ? WHERE name = ?",
            (spec["owner"], text, enabled, version, now_us, user, spec["name"]),
        )
    conn.execute(
        "INSERT INTO agent_revisions (name, version, spec, enabled, updated_us, updated_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (spec["name"], version, text, enabled, now_us, user),
    )


def _get(conn: sqlite3.Connection, name: str) -> Agent | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM agents WHERE name = ?", (name,)).fetchone()
    return _agent(row) if row else None


def _agent(row: tuple) -> Agent:
    spec, version, updated_us, updated_by = row
    return Agent(
        json.loads(spec),
        source="store",
        version=version,
        updated_us=updated_us,
        updated_by=updated_by,
    )
