"""Versioned schema migrations, applied in order at start-up; each runs once, in a transaction."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "durable execution: instances, event log, outbox, timers, audit",
        """
        CREATE TABLE instances (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, phase TEXT NOT NULL, final INTEGER NOT NULL,
            project TEXT NOT NULL, correlation TEXT NOT NULL, state BLOB NOT NULL, version INTEGER NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE INDEX instances_kind ON instances(kind, project, phase);
        CREATE INDEX instances_open ON instances(kind, correlation, final);
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, instance TEXT NOT NULL, at TEXT NOT NULL,
            actor TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, UNIQUE(instance, id));
        CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
        CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
        CREATE TABLE outbox (
            key TEXT PRIMARY KEY, instance TEXT NOT NULL, kind TEXT NOT NULL, effect BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, due_at TEXT NOT NULL,
            last_error TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '', done_at TEXT);
        CREATE INDEX outbox_due ON outbox(status, due_at);
        CREATE TABLE timers (
            instance TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, fire_at TEXT NOT NULL,
            event BLOB NOT NULL, PRIMARY KEY(instance, name));
        CREATE INDEX timers_due ON timers(fire_at);
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            object TEXT NOT NULL, outcome TEXT NOT NULL, links TEXT NOT NULL, detail TEXT NOT NULL);
        CREATE INDEX audit_object ON audit(object);
        """,
    ),
    (
        2,
        "access: users, API tokens, per-job callback tokens",
        """
        CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE api_tokens (
            token_hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name), label TEXT NOT NULL,
            created_at TEXT NOT NULL);
        CREATE TABLE callback_tokens (
            token_hash TEXT PRIMARY KEY, instance TEXT NOT NULL, job TEXT NOT NULL, key TEXT NOT NULL,
            expires_at TEXT NOT NULL, used_at TEXT, request_digest TEXT NOT NULL DEFAULT '');
        """,
    ),
    (
        3,
        "projects and evidence snapshots",
        """
        CREATE TABLE projects (name TEXT PRIMARY KEY, meta BLOB NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE evidence (
            id TEXT PRIMARY KEY, incident TEXT NOT NULL, summary TEXT NOT NULL, pointers TEXT NOT NULL,
            created_at TEXT NOT NULL);
        CREATE INDEX evidence_incident ON evidence(incident);
        """,
    ),
)


def migrate(path: Path) -> list[int]:
    """Bring the database at `path` to the newest schema; returns the versions applied now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        db = sqlite_utils.Database(conn)
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)"
        )
        done = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (version, name, datetime.now(UTC).isoformat()),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            applied.append(version)
        return applied
    finally:
        conn.close()


def _statements(sql: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies (BEGIN ... END;) whole."""
    out, buf = [], ""
    for line in sql.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
