"""The Store port on SQLite (aiosqlite, WAL): one writer connection, one reader connection.

Writes are serialized by an asyncio lock and run as `BEGIN IMMEDIATE` transactions; readers see the
last commit. Times are stored as UTC ISO-8601 text, which sorts in time order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from appliance.adapters.sqlite.migrations import migrate
from appliance.contracts.entities import Role
from appliance.ports.store import (
    AuditRow,
    CallbackTokenRow,
    EventRow,
    EvidenceRow,
    InstanceRow,
    OutboxRow,
    TimerRow,
    UserRow,
)


def ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _instance(r: aiosqlite.Row) -> InstanceRow:
    return InstanceRow(
        id=r["id"],
        kind=r["kind"],
        phase=r["phase"],
        final=bool(r["final"]),
        project=r["project"],
        correlation=r["correlation"],
        state=bytes(r["state"]),
        version=r["version"],
        created_at=dt(r["created_at"]),
        updated_at=dt(r["updated_at"]),
    )


def _outbox(r: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(
        key=r["key"],
        instance=r["instance"],
        kind=r["kind"],
        effect=bytes(r["effect"]),
        status=r["status"],
        attempts=r["attempts"],
        due_at=dt(r["due_at"]),
        last_error=r["last_error"],
    )


def _timer(r: aiosqlite.Row) -> TimerRow:
    return TimerRow(
        instance=r["instance"],
        kind=r["kind"],
        name=r["name"],
        fire_at=dt(r["fire_at"]),
        event=bytes(r["event"]),
    )


def _evidence(r: aiosqlite.Row) -> EvidenceRow:
    return EvidenceRow(
        id=r["id"],
        incident=r["incident"],
        summary=r["summary"],
        pointers=json.loads(r["pointers"]),
        created_at=dt(r["created_at"]),
    )


class SqliteReader:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def instance(self, id: str) -> InstanceRow | None:
        row = await self._one("SELECT * FROM instances WHERE id = ?", (id,))
        return _instance(row) if row else None

    async def instances(
        self,
        *,
        kind: str,
        project: str | None = None,
        phase: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[InstanceRow]:
        sql, params = "SELECT * FROM instances WHERE kind = ?", [kind]
        if project:
            sql, params = sql + " AND project = ?", [*params, project]
        if phase:
            sql, params = sql + " AND phase = ?", [*params, phase]
        rows = await self._all(
            sql + " ORDER BY created_at DESC, id LIMIT ? OFFSET ?", [*params, limit, offset]
        )
        return [_instance(r) for r in rows]

    async def open_instance(self, *, kind: str, correlation: str) -> InstanceRow | None:
        row = await self._one(
            "SELECT * FROM instances WHERE kind = ? AND correlation = ? AND final = 0 ORDER BY created_at LIMIT 1",
            (kind, correlation),
        )
        return _instance(row) if row else None

    async def events(self, instance: str) -> list[EventRow]:
        rows = await self._all("SELECT * FROM events WHERE instance = ? ORDER BY seq", (instance,))
        return [
            EventRow(
                seq=r["seq"],
                id=r["id"],
                instance=r["instance"],
                at=dt(r["at"]),
                actor=r["actor"],
                name=r["name"],
                data=json.loads(r["data"]),
            )
            for r in rows
        ]

    async def audit(self, *, limit: int = 100, offset: int = 0, object: str | None = None) -> list[AuditRow]:
        sql, params = "SELECT * FROM audit", []
        if object:
            sql, params = sql + " WHERE object = ?", [object]
        rows = await self._all(sql + " ORDER BY seq DESC LIMIT ? OFFSET ?", [*params, limit, offset])
        return [
            AuditRow(
                seq=r["seq"],
                at=dt(r["at"]),
                actor=r["actor"],
                action=r["action"],
                object=r["object"],
                outcome=r["outcome"],
                links=json.loads(r["links"]),
                detail=r["detail"],
            )
            for r in rows
        ]

    async def user(self, name: str) -> UserRow | None:
        row = await self._one("SELECT * FROM users WHERE name = ?", (name,))
        return (
            UserRow(name=row["name"], role=Role(row["role"]), created_at=dt(row["created_at"]))
            if row
            else None
        )

    async def users(self) -> list[UserRow]:
        rows = await self._all("SELECT * FROM users ORDER BY name")
        return [UserRow(name=r["name"], role=Role(r["role"]), created_at=dt(r["created_at"])) for r in rows]

    async def user_for_token(self, token_hash: str) -> UserRow | None:
        row = await self._one("SELECT user FROM api_tokens WHERE token_hash = ?", (token_hash,))
        return await self.user(row["user"]) if row else None

    async def callback_token(self, token_hash: str) -> CallbackTokenRow | None:
        r = await self._one("SELECT * FROM callback_tokens WHERE token_hash = ?", (token_hash,))
        if r is None:
            return None
        return CallbackTokenRow(
            instance=r["instance"],
            job=r["job"],
            key=r["key"],
            expires_at=dt(r["expires_at"]),
            used_at=dt(r["used_at"]) if r["used_at"] else None,
            request_digest=r["request_digest"],
        )

    async def projects(self) -> list[tuple[str, bytes]]:
        return [
            (r["name"], bytes(r["meta"])) for r in await self._all("SELECT * FROM projects ORDER BY name")
        ]

    async def project(self, name: str) -> bytes | None:
        row = await self._one("SELECT meta FROM projects WHERE name = ?", (name,))
        return bytes(row["meta"]) if row else None

    async def evidence(self, id: str) -> EvidenceRow | None:
        row = await self._one("SELECT * FROM evidence WHERE id = ?", (id,))
        return _evidence(row) if row else None

    async def evidence_list(self, *, incident: str | None = None, limit: int = 100) -> list[EvidenceRow]:
        sql, params = "SELECT * FROM evidence", []
        if incident:
            sql, params = sql + " WHERE incident = ?", [incident]
        return [
            _evidence(r) for r in await self._all(sql + " ORDER BY created_at DESC LIMIT ?", [*params, limit])
        ]

    async def outbox(self, *, instance: str | None = None, status: str | None = None) -> list[OutboxRow]:
        sql, params, where = "SELECT * FROM outbox", list[str](), list[str]()
        if instance:
            where, params = [*where, "instance = ?"], [*params, instance]
        if status:
            where, params = [*where, "status = ?"], [*params, status]
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_outbox(r) for r in await self._all(sql + " ORDER BY due_at, key", params)]

    async def timers(self, *, instance: str | None = None) -> list[TimerRow]:
        sql, params = "SELECT * FROM timers", []
        if instance:
            sql, params = sql + " WHERE instance = ?", [instance]
        return [_timer(r) for r in await self._all(sql + " ORDER BY fire_at", params)]

    async def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in await self._all("SELECT kind, phase, count(*) AS n FROM instances GROUP BY kind, phase"):
            out.setdefault(r["kind"], {})[r["phase"]] = r["n"]
        return out


class SqliteTx(SqliteReader):
    async def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = await self.conn.execute(sql, params)
        count = cur.rowcount
        await cur.close()
        return count

    async def append_event(
        self, *, id: str, instance: str, at: datetime, actor: str, name: str, data: bytes
    ) -> bool:
        return (
            await self._run(
                "INSERT OR IGNORE INTO events (id, instance, at, actor, name, data) VALUES (?, ?, ?, ?, ?, ?)",
                (id, instance, ts(at), actor, name, data),
            )
            == 1
        )

    async def save_instance(self, row: InstanceRow, *, expected_version: int) -> None:
        values = (
            row.kind,
            row.phase,
            int(row.final),
            row.project,
            row.correlation,
            row.state,
            row.version,
            ts(row.updated_at),
        )
        if expected_version == 0:
            await self._run(
                "INSERT INTO instances (kind, phase, final, project, correlation, state, version, updated_at, id,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, row.id, ts(row.created_at)),
            )
            return
        changed = await self._run(
            "UPDATE instances SET kind = ?, phase = ?, final = ?, project = ?, correlation = ?, state = ?,"
            " version = ?, updated_at = ? WHERE id = ? AND version = ?",
            (*values, row.id, expected_version),
        )
        if changed != 1:
            raise RuntimeError(f"instance {row.id} changed under us (expected version {expected_version})")

    async def add_outbox(
        self, *, key: str, instance: str, kind: str, effect: bytes, due_at: datetime
    ) -> bool:
        return (
            await self._run(
                "INSERT OR IGNORE INTO outbox (key, instance, kind, effect, due_at) VALUES (?, ?, ?, ?, ?)",
                (key, instance, kind, effect, ts(due_at)),
            )
            == 1
        )

    async def outbox_done(self, key: str, *, at: datetime, result: str = "") -> None:
        await self._run(
            "UPDATE outbox SET status = 'done', done_at = ?, result = ?, attempts = attempts + 1 WHERE key = ?",
            (ts(at), result, key),
        )

    async def outbox_retry(self, key: str, *, attempts: int, due_at: datetime, error: str) -> None:
        await self._run(
            "UPDATE outbox SET attempts = ?, due_at = ?, last_error = ? WHERE key = ?",
            (attempts, ts(due_at), error, key),
        )

    async def outbox_failed(self, key: str, *, attempts: int, error: str) -> None:
        await self._run(
            "UPDATE outbox SET status = 'failed', attempts = ?, last_error = ? WHERE key = ?",
            (attempts, error, key),
        )

    async def set_timer(
        self, *, instance: str, kind: str, name: str, fire_at: datetime, event: bytes
    ) -> None:
        await self._run(
            "INSERT OR REPLACE INTO timers (instance, kind, name, fire_at, event) VALUES (?, ?, ?, ?, ?)",
            (instance, kind, name, ts(fire_at), event),
        )

    async def cancel_timer(self, *, instance: str, name: str) -> None:
        await self._run("DELETE FROM timers WHERE instance = ? AND name = ?", (instance, name))

    async def add_audit(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        object: str,
        outcome: str,
        links: dict[str, str],
        detail: str,
    ) -> None:
        await self._run(
            "INSERT INTO audit (at, actor, action, object, outcome, links, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ts(at), actor, action, object, outcome, json.dumps(links, sort_keys=True), detail),
        )

    async def add_user(self, *, name: str, role: Role, at: datetime) -> None:
        await self._run(
            "INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)", (name, str(role), ts(at))
        )

    async def add_api_token(self, *, token_hash: str, user: str, label: str, at: datetime) -> None:
        await self._run(
            "INSERT INTO api_tokens (token_hash, user, label, created_at) VALUES (?, ?, ?, ?)",
            (token_hash, user, label, ts(at)),
        )

    async def add_callback_token(
        self, *, token_hash: str, instance: str, job: str, key: str, expires_at: datetime
    ) -> None:
        await self._run(
            "INSERT OR IGNORE INTO callback_tokens (token_hash, instance, job, key, expires_at) VALUES (?, ?, ?, ?, ?)",
            (token_hash, instance, job, key, ts(expires_at)),
        )

    async def use_callback_token(self, token_hash: str, *, at: datetime, request_digest: str) -> None:
        await self._run(
            "UPDATE callback_tokens SET used_at = ?, request_digest = ? WHERE token_hash = ? AND used_at IS NULL",
            (ts(at), request_digest, token_hash),
        )

    async def put_project(self, name: str, meta: bytes, *, at: datetime) -> None:
        await self._run(
            "INSERT OR REPLACE INTO projects (name, meta, updated_at) VALUES (?, ?, ?)", (name, meta, ts(at))
        )

    async def add_evidence(self, row: EvidenceRow) -> bool:
        return (
            await self._run(
                "INSERT OR IGNORE INTO evidence (id, incident, summary, pointers, created_at) VALUES (?, ?, ?, ?, ?)",
                (
                    row.id,
                    row.incident,
                    row.summary,
                    json.dumps(row.pointers, sort_keys=True),
                    ts(row.created_at),
                ),
            )
            == 1
        )


class SqliteStore:
    """Open with `await SqliteStore.open(path)`; close with `await store.close()`."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        migrate(path)
        conns = []
        for _ in range(2):
            conn = await aiosqlite.connect(path, isolation_level=None)
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=FULL")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA foreign_keys=ON")
            conns.append(conn)
        return cls(path, conns[0], conns[1])

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqliteReader]:
        yield SqliteReader(self._reader)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTx(self._writer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def due_outbox(self, now: datetime, *, limit: int = 50) -> list[OutboxRow]:
        rows = await SqliteReader(self._reader)._all(
            "SELECT * FROM outbox WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, key LIMIT ?",
            (ts(now), limit),
        )
        return [_outbox(r) for r in rows]

    async def due_timers(self, now: datetime, *, limit: int = 50) -> list[TimerRow]:
        rows = await SqliteReader(self._reader)._all(
            "SELECT * FROM timers WHERE fire_at <= ? ORDER BY fire_at LIMIT ?", (ts(now), limit)
        )
        return [_timer(r) for r in rows]

    async def next_due(self) -> datetime | None:
        row = await SqliteReader(self._reader)._one(
            "SELECT min(t) AS t FROM (SELECT min(due_at) AS t FROM outbox WHERE status = 'pending'"
            " UNION ALL SELECT min(fire_at) FROM timers)"
        )
        return dt(row["t"]) if row and row["t"] else None
