"""Projects from their meta description (the YAML a project's meta repo holds)."""

from __future__ import annotations

import msgspec
import yaml

from appliance.contracts.entities import ProjectMeta
from appliance.logic.deploy_order import deploy_order
from appliance.services.context import Context
from appliance.services.errors import Invalid, NotFound


def parse_meta(text: str, *, source: str = "project.yaml") -> ProjectMeta:
    """Validate a meta description; errors name the source and the field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"{source}: not valid YAML: {exc}") from None
    try:
        meta = msgspec.convert(raw, ProjectMeta)
    except msgspec.ValidationError as exc:
        raise Invalid(f"{source}: {exc}") from None
    check(meta, source=source)
    return meta


def check(meta: ProjectMeta, *, source: str = "project") -> None:
    names = [a.name for a in meta.apps]
    if len(set(names)) != len(names):
        raise Invalid(f"{source}: app names repeat: {names}")
    known = set(names) | {c.name for c in meta.components}
    for app in meta.apps:
        unknown = [d for d in app.depends_on if d not in known]
        if unknown:
            raise Invalid(f"{source}: app {app.name!r} depends on unknown {unknown[0]!r}")
    try:
        deploy_order({a.name: [d for d in a.depends_on if d in names] for a in meta.apps})
    except ValueError as exc:
        raise Invalid(f"{source}: {exc}") from None


async def load(ctx: Context, meta: ProjectMeta, *, actor: str) -> ProjectMeta:
    check(meta, source=f"project {meta.name}")
    async with ctx.store.transaction() as tx:
        await tx.put_project(meta.name, msgspec.json.encode(meta), at=ctx.clock.now())
        await tx.add_audit(
            at=ctx.clock.now(),
            actor=actor,
            action="load project",
            object=f"project:{meta.name}",
            outcome="ok",
            links={},
            detail=f"{len(meta.apps)} apps, {len(meta.components)} components",
        )
    return meta


def decode_meta(raw: bytes) -> ProjectMeta:
    return msgspec.json.decode(raw, type=ProjectMeta)


async def get(ctx: Context, name: str) -> ProjectMeta:
    async with ctx.store.read() as r:
        raw = await r.project(name)
    if raw is None:
        raise NotFound(f"no project {name!r}")
    return decode_meta(raw)


async def all_(ctx: Context) -> list[ProjectMeta]:
    async with ctx.store.read() as r:
        return [decode_meta(raw) for _, raw in await r.projects()]
