"""Fixtures for the audit log: a fresh store file per test and a factory of realistic records."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from policy_server import store
from policy_server.audit.records import build_record
from policy_server.engine.adapters import to_event
from policy_server.engine.evaluator import Decision

T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in µs
CONTEXT = {
    "home": "/home/dev",
    "agent": "nightly-deps",
    "user": "dana",
    "host": "laptop-7",
    "run_id": "run-1",
    "harness_version": "2.1.0",
}

MakeRecord = Callable[..., dict[str, Any]]


def bash_event(command: str, **payload: Any) -> Any:
    body = {
        "hook_event_name": "PreToolUse",
        "cwd": "/home/dev/proj",
        "session_id": "sess-1",
        "tool_name": "Bash",
        "tool_input": {"command": command},
        **payload,
    }
    return to_event(body, "claude-code", CONTEXT)


@pytest.fixture
def bash() -> Callable[..., Any]:
    """``bash(command)``: a PreToolUse Bash event from an agent with full server-side identity."""
    return bash_event


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reins.db"


@pytest.fixture
def conn(db: Path) -> Iterator[sqlite3.Connection]:
    connection = store.connect(db)
    yield connection
    connection.close()


@pytest.fixture
def make_record() -> MakeRecord:
    """``make_record(i, **overrides)``: record number ``i`` of a plausible session, built once
    through ``build_record`` and then copied (building 20,000 would dominate the test time)."""
    base = build_record(
        bash_event("git push origin main"),
        Decision("ask", "Reins git.push: pushing needs a human"),
        enforced="ask",
        event_id="template",
        decision_id="template",
        time_us=T0,
        received_us=T0,
        eval_us=120,
    )

    def make(i: int = 0, **overrides: Any) -> dict[str, Any]:
        record = dict(base, event_id=f"evt-{i:08d}-{uuid.uuid4().hex[:8]}")
        record.update(decision_id=f"dec-{i}", time_us=T0 + i * 1000, received_us=T0 + i * 1000)
        record.update(overrides)
        return record

    return make


def drop_triggers(conn: sqlite3.Connection) -> None:
    """What someone with write access to the file can do."""
    for name in (
        "audit_no_update",
        "audit_no_delete",
        "checkpoint_no_update",
        "checkpoint_no_delete",
    ):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")


@pytest.fixture
def tamper() -> Callable[[sqlite3.Connection], None]:
    return drop_triggers
