"""The SQLite store: versioned migrations, an append-only event log, optimistic versions."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.adapters.sqlite.migrations import MIGRATIONS, migrate
from appliance.adapters.sqlite.store import SqliteStore
from appliance.ports.store import InstanceRow

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    assert migrate(db) == [v for v, _, _ in MIGRATIONS]
    assert migrate(db) == []
    with sqlite3.connect(db) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == [1, 2, 3]
    assert mode == "wal"


async def test_the_event_log_is_append_only_and_drops_redelivered_ids(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "s.sqlite3")
    async with store.transaction() as tx:
        args = {"id": "e1", "instance": "inc-1", "at": AT, "actor": "t", "name": "alert_fired", "data": b"{}"}
        assert await tx.append_event(**args) is True
        assert await tx.append_event(**args) is False
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with store.transaction() as tx:
            await tx._run("UPDATE events SET name = 'forged'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with store.transaction() as tx:
            await tx._run("DELETE FROM events")
    async with store.read() as r:
        assert [e.name for e in await r.events("inc-1")] == ["alert_fired"]
    await store.close()


async def test_a_stale_version_is_refused_and_the_transaction_rolled_back(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "s.sqlite3")
    row = InstanceRow(id="inc-1", kind="incident", phase="a", final=False, project="p", correlation="fp",
                      state=b"{}", version=1, created_at=AT, updated_at=AT)  # fmt: skip
    async with store.transaction() as tx:
        await tx.save_instance(row, expected_version=0)
    with pytest.raises(RuntimeError, match="changed under us"):
        async with store.transaction() as tx:
            await tx.add_audit(at=AT, actor="t", action="x", object="o", outcome="ok", links={}, detail="")
            await tx.save_instance(row, expected_version=5)
    async with store.read() as r:
        assert (await r.instance("inc-1")) == row
        assert await r.audit() == []  # rolled back with the failed save
    await store.close()


async def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = await SqliteStore.open(path)
    async with store.transaction() as tx:
        await tx.add_outbox(key="k1", instance="inc-1", kind="incident", effect=b"{}", due_at=AT)
        await tx.set_timer(instance="inc-1", kind="incident", name="step", fire_at=AT, event=b"{}")
    await store.close()
    again = await SqliteStore.open(path)
    assert [r.key for r in await again.due_outbox(AT)] == ["k1"]
    assert [t.name for t in await again.due_timers(AT)] == ["step"]
    assert await again.next_due() == AT
    await again.close()
