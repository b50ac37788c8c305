"""The Reins store: one SQLite file (WAL) holding the audit log, checkpoints and tokens.

``connect`` opens a connection with the durability settings every writer relies on and brings
the schema up to date. Schema changes are appended to ``MIGRATIONS`` (never edited), so a store
created by any earlier version upgrades in place.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL`` fsyncs the WAL on every commit, so
a transaction that committed survives a crash of the process *and* of the machine.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to do."""


# Append only. Each entry runs once, in order, inside one transaction.
MIGRATIONS: tuple[str, ...] = (
    # 1: audit log, checkpoints, tokens.
    """
    CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        decision_id TEXT NOT NULL,
        time_us INTEGER NOT NULL,
        received_us INTEGER NOT NULL,
        harness TEXT NOT NULL,
        harness_version TEXT NOT NULL DEFAULT '',
        hook_event TEXT NOT NULL,
        session_id TEXT NOT NULL DEFAULT '',
        turn_id TEXT NOT NULL DEFAULT '',
        tool_use_id TEXT NOT NULL DEFAULT '',
        agent TEXT NOT NULL DEFAULT '',
        run_id TEXT NOT NULL DEFAULT '',
        user TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL DEFAULT '',
        cwd TEXT NOT NULL DEFAULT '',
        tool TEXT NOT NULL DEFAULT '',
        target TEXT NOT NULL DEFAULT '',
        decision TEXT NOT NULL,
        enforced_decision TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        rules TEXT NOT NULL DEFAULT '[]',
        shadow_rules TEXT NOT NULL DEFAULT '[]',
        policy_revision TEXT NOT NULL DEFAULT '',
        eval_us INTEGER NOT NULL DEFAULT 0,
        degraded INTEGER NOT NULL DEFAULT 0,
        record TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        record_hash TEXT NOT NULL
    );
    CREATE INDEX audit_time ON audit_events(time_us);
    CREATE INDEX audit_agent_time ON audit_events(agent, time_us);
    CREATE INDEX audit_session ON audit_events(session_id, seq);
    CREATE INDEX audit_decision_time ON audit_events(decision, time_us);
    CREATE INDEX audit_run ON audit_events(run_id);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_events
        WHEN (SELECT COUNT(*) FROM audit_prune_permit) = 0
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

    -- Rows exist only inside the prune transaction, after its checkpoint is written.
    CREATE TABLE audit_prune_permit (checkpoint_id INTEGER NOT NULL);

    CREATE TABLE audit_checkpoints (
        id INTEGER PRIMARY KEY,
        seq_from INTEGER NOT NULL,
        seq_to INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        prev_sig TEXT NOT NULL,
        sig TEXT NOT NULL,
        key_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_us INTEGER NOT NULL
    );
    CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
    CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;

    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        user TEXT NOT NULL,
        roles TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_us INTEGER NOT NULL,
        expires_us INTEGER,
        revoked_us INTEGER
    );
    CREATE INDEX tokens_user ON tokens(user);
    """,
    # Agent registry, scheduled runs, scheduler leases and run-scoped tokens (issue 6).
    """
    CREATE TABLE agents (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        spec TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        version INTEGER NOT NULL,
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL,
        updated_by TEXT NOT NULL
    );
    CREATE TABLE agent_revisions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        spec TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        updated_us INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (name, version)
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        trigger TEXT NOT NULL,
        scheduled_us INTEGER,
        created_us INTEGER NOT NULL,
        status TEXT NOT NULL,
        started_us INTEGER,
        ended_us INTEGER,
        exit_code INTEGER,
        reason TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '{}',
        session_id TEXT NOT NULL DEFAULT '',
        cost_usd REAL,
        denials INTEGER NOT NULL DEFAULT 0,
        scheduler TEXT NOT NULL DEFAULT '',
        pid INTEGER
    );
    CREATE UNIQUE INDEX runs_slot ON runs(agent, scheduled_us) WHERE scheduled_us IS NOT NULL;
    CREATE INDEX runs_agent_created ON runs(agent, created_us);
    CREATE INDEX runs_status ON runs(status);
    CREATE TABLE scheduler_leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_us INTEGER NOT NULL
    );
    CREATE TABLE schedule_cursors (
        agent TEXT PRIMARY KEY,
        schedule TEXT NOT NULL,
        last_slot_us INTEGER NOT NULL
    );
    ALTER TABLE tokens ADD COLUMN agent TEXT NOT NULL DEFAULT '';
    ALTER TABLE tokens ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
    """,
    # Gateway usage: one row per model request (issue 7). Token counts as the provider reports
    # them; ``inbound`` says which semantics apply. cost_usd is filled by pricing when known.
    """
    CREATE TABLE usage (
        id INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL UNIQUE,
        time_us INTEGER NOT NULL,
        user TEXT NOT NULL DEFAULT '',
        token_id INTEGER,
        agent TEXT NOT NULL DEFAULT '',
        run_id TEXT NOT NULL DEFAULT '',
        session_id TEXT NOT NULL DEFAULT '',
        inbound TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        route TEXT NOT NULL DEFAULT '',
        provider TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        stream INTEGER NOT NULL DEFAULT 0,
        status INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        attempt_log TEXT NOT NULL DEFAULT '[]',
        input_tokens INTEGER,
        output_tokens INTEGER,
        cache_read_tokens INTEGER,
        cache_write_tokens INTEGER,
        reasoning_tokens INTEGER,
        cost_usd REAL,
        latency_us INTEGER NOT NULL,
        ttfb_us INTEGER,
        request_bytes INTEGER NOT NULL DEFAULT 0,
        response_bytes INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX usage_time ON usage(time_us);
    CREATE INDEX usage_session ON usage(session_id, time_us);
    CREATE INDEX usage_user_time ON usage(user, time_us);
    CREATE INDEX usage_agent_time ON usage(agent, time_us);
    CREATE INDEX usage_run ON usage(run_id);
    """,
    # Budgets set with `reins budget set` or the API (issue 5); the gateway config may add more.
    """
    CREATE TABLE budgets (
        name TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        updated_us INTEGER NOT NULL,
        updated_by TEXT NOT NULL
    );
    CREATE INDEX usage_token_time ON usage(token_id, time_us);
    """,
)


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the store at ``path`` and migrate it to the latest schema.

    The connection is in autocommit mode (``isolation_level=None``): callers open their own
    ``BEGIN IMMEDIATE`` transactions where they need them.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = FULL")
        migrate(conn)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"cannot open the store {path}: {exc}. Check that the directory exists and is "
            "writable, or pass --db / set REINS_DB to another path."
        ) from None
    if mode.lower() != "wal":
        raise StoreError(
            f"the store {path} could not switch to WAL mode (got {mode!r}); use a local disk"
        )
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version. Safe to race from many processes."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the store has schema version {version}, newer than this Reins ({len(MIGRATIONS)}); "
                "upgrade Reins"
            )
        for number in range(version, len(MIGRATIONS)):
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit our transaction)."""
    statements, buffer = [], []
    for line in script.strip().splitlines():
        if line.strip().startswith("--"):
            continue
        buffer.append(line)
        joined = "\n".join(buffer).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            statements.append(joined)
            buffer = []
    return statements
