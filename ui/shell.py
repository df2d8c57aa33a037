"""The chat's shell: a browser tab's working directory, and the commands run against the services.

Reads go through `appliance.services.queries` and `projects`, actions through `actions.act`; no
NiceGUI here. ui/replies.py turns a typed line into a reply (commands here, free text there) and
refusals (Forbidden, NotFound, Conflict, Invalid) into answer lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from appliance.contracts.api import FeatureCreate, InstanceRead
from appliance.services import actions, projects, queries
from appliance.services.access import Principal
from appliance.services.context import Context
from appliance.services.errors import Conflict, Forbidden, NotFound
from ui import commands
from ui.commands import Command, Location, Project, Snapshot, Unresolved

LIMIT = 200  # rows per kind a listing or the completion snapshot reads
LABELS = {"incident": "incidents", "changeset": "change sets", "artifact": "artifacts"}
NAMES = {
    "incident": "an incident",
    "changeset": "a change set",
    "artifact": "an artifact",
    "preflight": "a preflight run",
}


def count(n: int, noun: str) -> str:
    """`1 app`, `2 apps`, `0 change sets` (`noun` in the plural, ending in s)."""
    return f"{n} {noun[:-1] if n == 1 else noun}"


@dataclass(frozen=True)
class Line:
    text: str
    tone: Literal["out", "ok", "hint", "error"] = "out"
    href: str | None = None


@dataclass(frozen=True)
class Reply:
    lines: tuple[Line, ...] = ()
    clear: bool = False


def refusal(exc: Exception) -> Line:
    names: dict[type[Exception], str] = {Forbidden: "refused", NotFound: "not found", Conflict: "conflict"}
    what = names.get(type(exc), "not done")
    return Line(f"{what}: {exc}", "error")


def matches(row: InstanceRead, where: Location) -> bool:
    """Whether an instance belongs to the app (and environment) `where` points at."""
    state = row.state
    if where.app:
        apps = state.get("apps") or [state.get("app")]
        if where.app not in apps:
            return False
    if where.env and row.kind == "incident":
        return bool(state.get("env") == where.env)
    if where.env and row.kind == "artifact":
        return deployed_in(row, where.env)
    return True


def deployed_in(row: InstanceRead, env: str) -> bool:
    """An artifact reached production once promoted (or promoting), preflight once a run started."""
    if env == "production":
        return row.phase in ("promoting", "promoted")
    return env == "preflight" and bool(row.state.get("preflight_id"))


def describe(row: InstanceRead) -> list[Line]:
    s = row.state
    if row.kind == "incident":
        text = f"{row.id}  {row.phase}  {s.get('app')}/{s.get('env')}  {s.get('classification')}  {s.get('summary', '')}"
    elif row.kind == "changeset":
        text = f"{row.id}  {row.phase}  {s.get('title', '')}  apps: {', '.join(s.get('apps', []))}"
    else:
        text = f"{row.id}  {row.phase}  {s.get('app')}  {s.get('image', '')}"
    lines = [Line(text.rstrip())]
    if s.get("reason"):
        lines.append(Line(f"  reason: {s['reason']}", "hint"))
    mrs = s.get("mrs") or ({"": s["mr_url"]} if s.get("mr_url") else {})
    lines += [Line(f"  MR{' ' + app if app else ''}: {url}", href=url) for app, url in mrs.items()]
    return lines


def last_step(row: InstanceRead) -> str:
    steps = row.state.get("steps") or []
    return str(steps[-1].get("message") or steps[-1].get("step")) if steps else ""


class Shell:
    """One browser tab's shell: its working directory and a feature request waiting for `yes`."""

    def __init__(self, ctx: Context, who: Principal, cwd: str = "/") -> None:
        self.ctx, self.who, self.cwd = ctx, who, cwd
        self.pending: FeatureCreate | None = None  # a feature request waiting for `yes` (ui/replies.py)

    async def snapshot(self) -> Snapshot:
        metas = await projects.all_(self.ctx)
        ids = {k: tuple(r.id for r in await queries.instances(self.ctx, k, limit=LIMIT)) for k in LABELS}
        return Snapshot(
            projects=tuple(
                Project(
                    m.name,
                    tuple(a.name for a in m.apps),
                    tuple(c.name for c in m.components),
                    tuple(str(e.name) for e in m.environments),
                )
                for m in metas
            ),
            incidents=ids["incident"],
            changesets=ids["changeset"],
            artifacts=ids["artifact"],
            evidence=tuple(e.id for e in await queries.evidence_list(self.ctx, limit=LIMIT)),
        )

    async def here(self) -> Location:
        found = commands.locate(self.cwd, await self.snapshot())
        return found if isinstance(found, Location) else Location()

    async def complete(self, line: str) -> list[str]:
        return commands.complete(line, self.cwd, await self.snapshot())

    async def command(self, cmd: Command) -> Reply:
        name = cmd.name
        if name == "clear":
            return Reply(clear=True)
        if name == "help":
            return Reply(tuple(Line(t) for t in commands.help_text(cmd.arg)))
        if name == "pwd":
            return Reply((Line(self.cwd),))
        if name in ("cd", "ls"):
            found = commands.locate(cmd.arg, await self.snapshot())
            if isinstance(found, Unresolved):
                return Reply((Line(str(found), "error"),))
            if name == "cd":
                self.cwd = found.path
                return Reply()
            return Reply(tuple(await self.ls(found)))
        if name == "status":
            return Reply(tuple(await self.status()))
        if name in ("incidents", "changesets", "artifacts"):
            return Reply(tuple(await self.listing(name[:-1], await self.here())))
        if name == "evidence":
            return Reply(tuple(await self.evidence(cmd.arg)))
        kind = "artifact" if name == "promote" else "changeset"
        return Reply(tuple(await self.act(kind, name, cmd.arg, cmd.rest)))

    async def ls(self, where: Location) -> list[Line]:
        if where.level == "root":
            metas = await projects.all_(self.ctx)
            return [
                Line(f"{m.name}/  {count(len(m.apps), 'apps')}, {count(len(m.components), 'components')}")
                for m in metas
            ] or [Line("no projects yet", "hint")]
        meta = await projects.get(self.ctx, where.project or "")
        if where.level == "project":
            apps = [
                Line(
                    f"{a.name}/  app ({a.kind})"
                    + (f", depends on {', '.join(a.depends_on)}" if a.depends_on else "")
                )
                for a in meta.apps
            ]
            return apps + [Line(f"{c.name}  component ({c.kind})") for c in meta.components]
        if where.level == "component":
            return [Line(f"{where.component}: a component, manifests only; nothing below it", "hint")]
        if where.level == "app":
            return [Line(f"{e.name}/  autonomy level {int(e.autonomy)}") for e in meta.environments]
        return await self.deployed(where.project or "", where.app or "", where.env or "")

    async def deployed(self, project: str, app: str, env: str) -> list[Line]:
        if env == "agents":
            return [
                Line(
                    f"{app}/agents runs the evidence, fix and verification agents as Jobs; no artifacts",
                    "hint",
                )
            ]
        rows = await queries.instances(self.ctx, "artifact", project=project, limit=LIMIT)
        here = [r for r in rows if r.state.get("app") == app and deployed_in(r, env)]
        if not here:
            return [Line(f"nothing deployed to {app}/{env} yet", "hint")]
        first = here[0]
        return [
            Line(f"{r.id}  {r.phase}  {r.state.get('image', '')}" + ("  (current)" if r is first else ""))
            for r in here
        ]

    async def status(self) -> list[Line]:
        s = await queries.status(self.ctx)
        lines = [Line(f"PathOps {s.version}; projects: {', '.join(s.projects) or 'none'}")]
        for kind, phases in sorted(s.instances.items()):
            counts = ", ".join(f"{n} {phase}" for phase, n in sorted(phases.items()))
            lines.append(Line(f"{kind}: {counts}"))
        lines.append(
            Line(f"outbox: {s.outbox_pending} pending, {s.outbox_failed} failed; timers: {s.timers}")
        )
        return lines

    async def rows(self, kind: str, where: Location, *, open_only: bool = False) -> list[InstanceRead]:
        rows = await queries.instances(self.ctx, kind, project=where.project, limit=LIMIT)
        return [r for r in rows if matches(r, where) and not (open_only and r.final)]

    async def listing(self, kind: str, where: Location, *, open_only: bool = False) -> list[Line]:
        rows = await self.rows(kind, where, open_only=open_only)
        if not rows:
            scope = "" if where.level == "root" else f" in {where.path}"
            return [Line(f"no {'open ' if open_only else ''}{LABELS[kind]}{scope}", "hint")]
        return [line for row in rows for line in describe(row)]

    async def evidence(self, id: str) -> list[Line]:
        try:
            snaps = [await queries.evidence(self.ctx, id)]
        except NotFound:
            try:
                incident = await queries.instance(self.ctx, "incident", id)
            except NotFound:
                raise NotFound(f"no evidence snapshot or incident {id!r}") from None
            snaps = await queries.evidence_list(self.ctx, incident=id)
            if not snaps:
                return [Line(f"{id} has no evidence snapshot yet ({incident.phase})", "hint")]
        return [
            line
            for snap in snaps
            for line in _snapshot(snap.id, snap.incident, snap.summary, snap.pointers.items())
        ]

    async def act(self, kind: str, action: str, id: str, comment: str) -> list[Line]:
        before = await queries.instance(self.ctx, kind, id)
        applied = await actions.act(self.ctx, self.who, kind=kind, id=id, action=action, comment=comment)
        if applied.phase != before.phase:
            return [Line(f"{action} {id}: {before.phase} -> {applied.phase}", "ok")]
        after = await queries.instance(self.ctx, kind, id)
        reason, step = after.state.get("reason"), last_step(after)
        why = f" ({reason})" if reason else (f" (last step: {step})" if step else "")
        return [Line(f"{action} {id}: no change, still {after.phase}{why}", "hint")]


def _snapshot(id: str, incident: str, summary: str, pointers: Iterable[tuple[str, str]]) -> list[Line]:
    lines = [Line(f"{id}  incident {incident}"), Line(f"  {summary}")]
    for name, where in pointers:
        lines.append(
            Line(f"  {name}: {where}", href=where if where.startswith(("http://", "https://")) else None)
        )
    return lines
