"""Read models for the API, the CLI and the console."""

from __future__ import annotations

import msgspec

from appliance.contracts.api import AuditRead, EventRead, EvidenceRead, InstanceRead, Status, UserRead
from appliance.ports.store import EvidenceRow, InstanceRow
from appliance.services.context import Context
from appliance.services.errors import NotFound

VERSION = "0.1.0"


def _read(row: InstanceRow) -> InstanceRead:
    return InstanceRead(
        id=row.id,
        kind=row.kind,
        phase=row.phase,
        final=row.final,
        project=row.project,
        created_at=row.created_at,
        updated_at=row.updated_at,
        state=msgspec.json.decode(row.state),
    )


async def instances(
    ctx: Context,
    kind: str,
    *,
    project: str | None = None,
    phase: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[InstanceRead]:
    async with ctx.store.read() as r:
        rows = await r.instances(kind=kind, project=project, phase=phase, limit=limit, offset=offset)
    return [_read(row) for row in rows]


async def instance(ctx: Context, kind: str, id: str) -> InstanceRead:
    async with ctx.store.read() as r:
        row = await r.instance(id)
    if row is None or row.kind != kind:
        raise NotFound(f"no {kind} {id!r}")
    return _read(row)


async def events(ctx: Context, kind: str, id: str) -> list[EventRead]:
    await instance(ctx, kind, id)
    async with ctx.store.read() as r:
        rows = await r.events(id)
    return [EventRead(seq=e.seq, id=e.id, at=e.at, actor=e.actor, name=e.name, data=e.data) for e in rows]


async def audit(
    ctx: Context, *, limit: int = 100, offset: int = 0, object: str | None = None
) -> list[AuditRead]:
    async with ctx.store.read() as r:
        rows = await r.audit(limit=limit, offset=offset, object=object)
    return [msgspec.convert(msgspec.to_builtins(a), AuditRead) for a in rows]


def _evidence(row: EvidenceRow) -> EvidenceRead:
    return msgspec.convert(msgspec.to_builtins(row), EvidenceRead)


async def evidence(ctx: Context, id: str) -> EvidenceRead:
    async with ctx.store.read() as r:
        row = await r.evidence(id)
    if row is None:
        raise NotFound(f"no evidence snapshot {id!r}")
    return _evidence(row)


async def evidence_list(ctx: Context, *, incident: str | None = None, limit: int = 100) -> list[EvidenceRead]:
    async with ctx.store.read() as r:
        return [_evidence(row) for row in await r.evidence_list(incident=incident, limit=limit)]


async def users(ctx: Context) -> list[UserRead]:
    async with ctx.store.read() as r:
        return [UserRead(name=u.name, role=u.role, created_at=u.created_at) for u in await r.users()]


async def status(ctx: Context) -> Status:
    async with ctx.store.read() as r:
        counts = await r.counts()
        pending = await r.outbox(status="pending")
        failed = await r.outbox(status="failed")
        timers = await r.timers()
        projects = [name for name, _ in await r.projects()]
    return Status(
        version=VERSION,
        projects=projects,
        instances=counts,
        outbox_pending=len(pending),
        outbox_failed=len(failed),
        timers=len(timers),
    )
