"""From a merged change to production: GitLab pushes start builds, Argo CD tells preflight runs how
their deploy went.

A push to the default branch of an app's source repository (`<project>/<app>`) requests a build of
the pushed commit: the artifact `art-<app>-<sha12>` starts (or, if it exists, learns the change set).
A merge request merged into it also names its change set, so the artifact can report back to it.
An Argo CD notification for `<app>-preflight` reaches the preflight run of that app that waits for a
sync (or is still deploying: the run keeps what it heard until it knows its revision).
"""

from __future__ import annotations

import re
from typing import Any

from appliance.contracts.entities import EnvName, ProjectMeta
from appliance.contracts.webhooks import ArgoCdNotification
from appliance.contracts.workflow import Applied, Envelope, Event
from appliance.logic import artifact, changeset, preflight
from appliance.ports.store import Tx
from appliance.services.context import Context
from appliance.services.projects import decode_meta

WAITING = (preflight.DEPLOYING, preflight.SYNCING, preflight.STALLED)
MERGE_MESSAGE = re.compile(r"^Merge branch '([^']+)' into ")


def mapping(value: Any) -> dict[str, Any]:
    """A webhook payload's object, or {} when the sender left it out or sent something else."""
    return value if isinstance(value, dict) else {}


def artifact_id(app: str, sha: str) -> str:
    return f"art-{app}-{sha[:12]}"


async def _app_of(tx: Tx, path: str) -> tuple[ProjectMeta, str] | None:
    """The project and app whose source repository is `path` ("shop/shop-api"), if any."""
    project, _, repo = path.partition("/")
    raw = await tx.project(project) if project else None
    if raw is None:
        return None
    meta = decode_meta(raw)
    return (meta, repo) if any(a.name == repo for a in meta.apps) else None


def promotion_autonomy(meta: ProjectMeta) -> int:
    """The autonomy level that governs promotion: production's own, if the project sets one."""
    levels = [int(e.autonomy) for e in meta.environments if e.name == EnvName.PRODUCTION]
    return levels[0] if levels else int(meta.autonomy)


async def merge_autonomy(ctx: Context, changeset_id: str) -> int:
    """The autonomy level that governs merging a change set's MRs: the project's own (0 if unknown)."""
    async with ctx.store.read() as r:
        row = await r.instance(changeset_id)
        raw = await r.project(row.project) if row is not None else None
    return int(decode_meta(raw).autonomy) if raw is not None else 0


async def request_build(
    ctx: Context, tx: Tx, *, path: str, sha: str, actor: str, changeset_id: str | None = None
) -> Applied | None:
    """Build `sha` of the app repository `path`; None when `path` is no app's source repository."""
    found = await _app_of(tx, path)
    if found is None or not sha or set(sha) == {"0"}:
        return None
    meta, app = found
    data: dict[str, Any] = {"app": app, "commit_sha": sha, "project": meta.name}
    data["autonomy"] = promotion_autonomy(meta)
    if changeset_id:
        row = await tx.instance(changeset_id)
        state = ctx.engine.decode(row) if row is not None and row.kind == changeset.KIND else None
        data["changeset_id"] = changeset_id
        if state is not None and state.risk is not None:
            data["risk"] = state.risk
        if state is not None and state.unapproved_merge:
            data["autonomy"] = min(data["autonomy"], 1)  # no one approved it here: an owner promotes it
        if state is not None and len(state.apps) > 1:
            data["hold"] = True  # the change set releases its apps in deploy order
    envelope = Envelope(
        id=f"build:{path}:{sha}:{changeset_id or 'push'}",
        instance=artifact_id(app, sha),
        kind=artifact.KIND,
        at=ctx.clock.now(),
        actor=actor,
        event=Event(name="build_requested", data=data),
    )
    return await ctx.engine.deliver(tx, envelope)


async def push(ctx: Context, tx: Tx, payload: dict[str, Any]) -> Applied | None:
    """A GitLab push event: a new commit on the default branch of an app's repository is built."""
    project = mapping(payload.get("project"))
    default = str(project.get("default_branch") or "main")
    if payload.get("ref") != f"refs/heads/{default}":
        return None
    path = str(project.get("path_with_namespace") or "")
    user = str(payload.get("user_username") or "gitlab")
    sha = str(payload.get("after") or "")
    changeset = await _merged_changeset(tx, payload, sha)
    return await request_build(ctx, tx, path=path, sha=sha, actor=f"gitlab:{user}", changeset_id=changeset)


async def _merged_changeset(tx: Tx, payload: dict[str, Any], sha: str) -> str | None:
    """The open change set whose branch the pushed head commit merged ("Merge branch 'B' into 'main'"),
    so that a push heard before its merge request event still builds for that change set."""
    commits = payload.get("commits")
    commits = commits if isinstance(commits, list) else []
    head = next((c for c in commits if isinstance(c, dict) and c.get("id") == sha), None)
    found = MERGE_MESSAGE.match(str(head.get("message") or "")) if head else None
    row = await tx.open_instance(kind=changeset.KIND, correlation=found.group(1)) if found else None
    return row.id if row is not None else None


async def merged(ctx: Context, tx: Tx, payload: dict[str, Any], changeset_id: str) -> Applied | None:
    """A merged merge request of a change set: its merge commit is built for that change set."""
    attrs, project = mapping(payload.get("object_attributes")), mapping(payload.get("project"))
    sha = str(attrs.get("merge_commit_sha") or attrs.get("squash_commit_sha") or "")
    if not sha:  # a fast-forward merge: the source branch's head is what landed
        sha = str(mapping(attrs.get("last_commit")).get("id") or "")
    path = str(project.get("path_with_namespace") or "")
    return await request_build(ctx, tx, path=path, sha=sha, actor="gitlab", changeset_id=changeset_id)


async def argocd(ctx: Context, tx: Tx, payload: ArgoCdNotification) -> Applied | None:
    """Deliver a notification for `<app>-preflight` to the run of that app that waits for it."""
    app = payload.app.removesuffix(f"-{EnvName.PREFLIGHT}")
    if app == payload.app or not payload.health_status:
        return None
    waiting = []
    for phase in WAITING:
        for row in await tx.instances(kind=preflight.KIND, phase=phase, limit=50):
            state = ctx.engine.decode(row)
            if state.app == app and state.waiting_for in (preflight.DEPLOYING, preflight.SYNCING):
                waiting.append(state)
    if not waiting:
        return None
    run = max(waiting, key=lambda s: s.started_at)  # an older run's wait is superseded by the newest
    data = {
        "health": payload.health_status,
        "sync_status": payload.sync_status or "Synced",
        "revision": payload.revision,
        "images": list(payload.images),
        "message": payload.message,
    }
    envelope = Envelope(
        id=f"argocd:{payload.app}:{payload.trigger}:{payload.revision}:{payload.health_status}:{run.id}",
        instance=run.id,
        kind=preflight.KIND,
        at=ctx.clock.now(),
        actor="argocd",
        event=Event(name="synced", data=data),
    )
    return await ctx.engine.deliver(tx, envelope)
