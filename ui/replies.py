"""One typed line in, one reply out: a command (run by ui/shell.py) or free text of the three kinds.

Free text (ui/freetext.py says which kind):
  feature   inside a project: asks for `yes`, then `features.request` (owners and reviewers)
  bug       `reports.bug`: an audit row anyone may add
  question  answered read-only from the queries
  refused   a polite line naming the three kinds and `help`
Every refusal of a service (Forbidden, NotFound, Conflict, Invalid, an event a machine refuses) is an
answer line, never a traceback.
"""

from __future__ import annotations

from appliance.contracts.api import FeatureCreate
from appliance.logic.machine import InvalidEvent
from appliance.services import access, features, projects, queries, reports
from appliance.services.errors import NotFound, ServiceError
from ui import commands, freetext
from ui.commands import FreeText, Location, ParseError
from ui.freetext import Question
from ui.shell import LABELS, NAMES, Line, Reply, Shell, count, last_step, refusal

REFUSAL = (
    "Sorry, I can't do that from free text. I take three kinds of it: a feature request "
    "('add …', 'I want …', 'feature: …'), a bug report ('bug: …', '… is broken'), or a question about "
    "state ('how many incidents are open?'). Actions are commands: type help."
)
EXAMPLES = (
    "I can answer: how many incidents are open? which change sets are open? what is deployed in "
    "preflight? why was <artifact id> rejected? what is <id>? which apps are there?"
)


async def run(shell: Shell, line: str) -> Reply:
    try:
        if shell.pending is not None:
            confirmed = await confirm(shell, line)
            if confirmed is not None:
                return confirmed
        parsed = commands.parse(line, shell.cwd)
        if isinstance(parsed, ParseError):
            return Reply((Line(parsed.message, "error"),))
        if isinstance(parsed, FreeText):
            return Reply(tuple(await free_text(shell, parsed.text)))
        return await shell.command(parsed)
    except (ServiceError, InvalidEvent) as exc:
        return Reply((refusal(exc),))


async def confirm(shell: Shell, line: str) -> Reply | None:
    """The answer to a pending feature request: `yes` requests it, `no` drops it, anything else
    drops it and runs as usual (None)."""
    pending, shell.pending = shell.pending, None
    answer = line.strip().lower()
    if pending is None or answer not in ("yes", "y", "no", "n"):
        return None
    if answer in ("no", "n"):
        return Reply((Line("feature request dropped", "hint"),))
    id = await features.request(shell.ctx, shell.who, pending)
    return Reply((Line(f"requested: change set {id} ({pending.title}); CI opens its merge requests", "ok"),))


async def free_text(shell: Shell, text: str) -> list[Line]:
    kind = commands.classify(text)
    if kind == "feature":
        return await feature(shell, text)
    if kind == "bug":
        where = await reports.bug(shell.ctx, shell.who, text=freetext.body(text), where=shell.cwd)
        return [Line(f"bug report recorded in the audit trail ({where}); thank you", "ok")]
    if kind == "question":
        return await answer(shell, freetext.question(text, await shell.snapshot()))
    return [Line(REFUSAL, "hint")]


async def feature(shell: Shell, text: str) -> list[Line]:
    where = await shell.here()
    if where.project is None:
        names = ", ".join(p.name for p in await projects.all_(shell.ctx))
        return [Line(f"a feature request belongs to a project: cd into one first ({names})", "hint")]
    await access.require_role(shell.ctx, shell.who, features.MAY_REQUEST, action="request feature")
    title = freetext.body(text)
    shell.pending = FeatureCreate(
        project=where.project,
        title=title if len(title) <= 200 else title[:199] + "…",
        description=text,
        apps=[where.app] if where.app else [],
    )
    scope = f"{where.project}/{where.app}" if where.app else f"{where.project} (its apps as needed)"
    return [
        Line(f"feature request for {scope}: {shell.pending.title}"),
        Line("type yes to request it (a change set, one merge request per app), no to drop it", "hint"),
    ]


async def answer(shell: Shell, q: Question) -> list[Line]:
    where = await shell.here()
    if q.topic == "about":
        return await about(shell, q.id, why=q.why)
    if q.topic in ("count", "list"):
        kinds = [q.kind] if q.kind else list(LABELS)
        if q.topic == "list":
            return [
                line for kind in kinds for line in await shell.listing(kind, where, open_only=q.open_only)
            ]
        scope = "" if where.level == "root" else f" in {where.path}"
        counted = [(len(await shell.rows(kind, where, open_only=q.open_only)), kind) for kind in kinds]
        adjective = "open " if q.open_only else ""
        return [Line(count(n, adjective + LABELS[kind]) + scope) for n, kind in counted]
    if q.topic == "deployed":
        return await deployed(shell, q, where)
    if q.topic == "projects":
        metas = await projects.all_(shell.ctx)
        return [
            Line(
                f"{m.name}: apps {', '.join(a.name for a in m.apps) or 'none'}; components "
                f"{', '.join(c.name for c in m.components) or 'none'}"
            )
            for m in metas
        ] or [Line("no projects yet", "hint")]
    return [Line(EXAMPLES, "hint")]


async def deployed(shell: Shell, q: Question, where: Location) -> list[Line]:
    metas = await projects.all_(shell.ctx)
    envs = [q.env] if q.env else ["preflight", "production"]
    lines: list[Line] = []
    for meta in metas:
        if where.project and meta.name != where.project:
            continue
        for app in [a.name for a in meta.apps if a.name == (q.app or where.app or a.name)]:
            for env in envs:
                lines.append(Line(f"{meta.name}/{app}/{env}:"))
                lines += await shell.deployed(meta.name, app, env)
    return lines or [Line("no such app here", "hint")]


async def about(shell: Shell, id: str, *, why: bool) -> list[Line]:
    for kind in (*LABELS, "preflight"):
        try:
            row = await queries.instance(shell.ctx, kind, id)
        except NotFound:
            continue
        reason = row.state.get("reason") or ""
        lines = [Line(f"{id} is {NAMES[kind]}, {row.phase}" + (f": {reason}" if reason else ""))]
        if why and not reason:
            step = last_step(row)
            lines.append(
                Line(f"no reason recorded; its last step: {step}" if step else "no reason recorded", "hint")
            )
        return lines
    try:
        snap = await queries.evidence(shell.ctx, id)
    except NotFound:
        return [Line(f"I know no incident, change set, artifact or evidence snapshot {id!r}", "hint")]
    return [Line(f"{id} is an evidence snapshot of {snap.incident}: {snap.summary}")]
