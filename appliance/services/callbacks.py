"""Callbacks from agents and CI jobs, and the GitLab and Argo CD webhooks.

A callback spends its per-job token and delivers its event in one transaction: either both happen
or neither, so a crash in between loses nothing and a retry is answered with 409 "duplicate".
"""

from __future__ import annotations

from typing import Any

import msgspec

from appliance.contracts.webhooks import (
    Accepted,
    ArgoCdNotification,
    EvidenceCallback,
    FixCallback,
    FixPatchInline,
    JenkinsCallback,
    VerificationCallback,
)
from appliance.contracts.workflow import Envelope, Event
from appliance.logic.risk import risk_score
from appliance.ports.store import EvidenceRow
from appliance.services import access, releases
from appliance.services.context import Context
from appliance.services.errors import Invalid, NotFound, ServiceError

# which CI jobs' tokens may post which callback
EVIDENCE_JOBS = ("schedule-evidence-collector",)
FIX_JOBS = ("build-fix-agent",)
CI_JOBS = (
    "create-mr-from-patch",
    "build",
    "promote",
    "deploy-preflight",
    "schedule-verification",
    "rollback",
)
VERIFICATION_JOBS = ("schedule-verification",)


async def _deliver(
    ctx: Context,
    authorization: str | None,
    body: bytes,
    *,
    action: str,
    jobs: tuple[str, ...],
    instance: str | None,
    kind: str | None,
    event: Event,
    evidence: EvidenceRow | None = None,
    target: str | None = None,
) -> Accepted:
    """Spend the token (issued for `instance`, or any instance if None) and deliver `event` to `target`
    (default: the token's instance), whose kind must be `kind` (None: whatever it is)."""
    try:
        return await _deliver_once(
            ctx, authorization, body, action, jobs, instance, kind, event, evidence, target
        )
    except ServiceError as exc:
        raise await access.deny(ctx, actor="job", action=action, reason=str(exc), error=type(exc)) from None


async def _deliver_once(
    ctx: Context,
    authorization: str | None,
    body: bytes,
    action: str,
    jobs: tuple[str, ...],
    instance: str | None,
    kind: str | None,
    event: Event,
    evidence: EvidenceRow | None,
    target: str | None,
) -> Accepted:
    async with ctx.store.transaction() as tx:
        token = await access.consume_callback(
            ctx, tx, authorization, action=action, jobs=jobs, instance=instance, body=body
        )
        target = target or instance or token.instance
        row = await tx.instance(target)
        if row is None or (kind is not None and row.kind != kind):
            raise NotFound(f"no {kind or 'instance'} {target!r}")
        if target != token.instance and getattr(ctx.engine.decode(row), "origin", None) != token.instance:
            raise Invalid(f"{target} does not belong to the job's {token.instance}")
        kind = row.kind
        if event.name == "job_failed":  # name the attempt that failed, so a late repeat is seen as stale
            event = Event(name=event.name, data=event.data | {"key": token.key})
        if evidence is not None:
            await tx.add_evidence(evidence)
        envelope = Envelope(
            id=f"callback:{token.key}",
            instance=target,
            kind=kind,
            at=ctx.clock.now(),
            actor=f"job:{token.job}",
            event=event,
        )
        applied = await ctx.engine.deliver(tx, envelope)
        await tx.add_audit(
            at=ctx.clock.now(),
            actor=f"job:{token.job}",
            action=action,
            object=f"{kind}:{target}",
            outcome="ok",
            links={k: v for k, v in event.data.items() if isinstance(v, str) and k.endswith(("_id", "_url"))},
            detail=event.name,
        )
    ctx.crashpoints.hit("callback-accepted")
    ctx.engine.committed()
    return Accepted(
        accepted=0 if applied.duplicate else 1, duplicates=int(applied.duplicate), instances=[target]
    )


async def evidence(
    ctx: Context, payload: EvidenceCallback, *, authorization: str | None, body: bytes
) -> Accepted:
    data: dict[str, Any] = {"snapshot_id": payload.snapshot_id, "summary": payload.summary}
    if payload.commit_sha:
        data["commit_sha"] = payload.commit_sha
    row = EvidenceRow(
        id=payload.snapshot_id,
        incident=payload.incident_id,
        summary=payload.summary,
        pointers=payload.pointers,
        created_at=ctx.clock.now(),
    )
    return await _deliver(
        ctx,
        authorization,
        body,
        action="callback evidence",
        jobs=EVIDENCE_JOBS,
        instance=payload.incident_id,
        kind="incident",
        event=Event(name="evidence_ready", data=data),
        evidence=row,
    )


async def fix(ctx: Context, payload: FixCallback, *, authorization: str | None, body: bytes) -> Accepted:
    if payload.status == "no_fix":
        reason = payload.reason or payload.summary or "no reason given"
        event = Event(
            name="job_failed", data={"job": FIX_JOBS[0], "reason": f"no fix: {reason}", "permanent": True}
        )
    elif not payload.patch_id:
        raise Invalid("a fix callback with status 'patch' needs patch_id")
    else:
        data = {
            "patch_id": payload.patch_id,
            "summary": payload.summary,
            "slug": payload.slug,
            "recommended_checks": payload.recommended_checks,
            "risk": payload.risk,
        }
        event = Event(name="patch_ready", data=data)
    return await _deliver(
        ctx,
        authorization,
        body,
        action="callback fix",
        jobs=FIX_JOBS,
        instance=payload.incident_id,
        kind="incident",
        event=event,
    )


async def fix_inline(
    ctx: Context, payload: FixPatchInline, *, authorization: str | None, body: bytes
) -> Accepted:
    risk = risk_score(payload.diff, protected_paths=("auth/", "security/", "payment/"))
    if not risk.files:
        raise Invalid("diff holds no file changes (expected a unified diff with ---/+++ headers)")
    data = {
        "patch_id": payload.patch_id,
        "summary": payload.summary,
        "slug": payload.slug,
        "recommended_checks": payload.recommended_checks,
        "risk": risk.score,
        "base_sha": payload.base_sha,
        "diff": payload.diff,
    }
    return await _deliver(
        ctx,
        authorization,
        body,
        action="callback fix inline",
        jobs=FIX_JOBS,
        instance=payload.incident_id,
        kind="incident",
        event=Event(name="patch_ready", data=data),
    )


# what a successful CI callback must name, and the event it becomes: job -> (target field, kind, event)
JENKINS_ROUTES: dict[str, tuple[str, str, str]] = {
    "create-mr-from-patch": ("changeset_id", "changeset", "mr_opened"),
    "build": ("artifact_id", "artifact", "built"),
    "deploy-preflight": ("preflight_id", "preflight", "deployed"),
    "schedule-verification": ("preflight_id", "preflight", ""),  # success comes from the agent
    "promote": ("artifact_id", "artifact", "promoted"),
    "rollback": ("incident_id", "incident", "rolled_back"),
}
# a field the success event needs, per job
JENKINS_NEEDS = {
    "create-mr-from-patch": "mr_url",
    "build": "image",
    "deploy-preflight": "revision",
    "rollback": "revision",
}


async def jenkins(
    ctx: Context, payload: JenkinsCallback, *, authorization: str | None, body: bytes
) -> Accepted:
    field, kind, name = JENKINS_ROUTES[payload.job]
    target = str(getattr(payload, field))
    if not target:
        raise Invalid(f"a {payload.job} callback needs {field}")
    if payload.status == "success" and not name:
        raise Invalid(f"{payload.job} reports success through its agent's callback, not /webhooks/jenkins")
    if payload.status == "success":
        needed = JENKINS_NEEDS.get(payload.job)
        if needed and not getattr(payload, needed):
            raise Invalid(f"a successful {payload.job} callback needs {needed}")
        data: dict[str, Any] = {"status": payload.status}
        for key in ("changeset_id", "mr_url", "mrs", "image", "digest", "revision", "commit_sha", "scan"):
            if value := getattr(payload, key):
                data[key] = value
        if payload.vulnerabilities:
            data["vulnerabilities"] = msgspec.to_builtins(payload.vulnerabilities)
        if payload.job == "create-mr-from-patch":
            data["autonomy"] = await releases.merge_autonomy(ctx, target)
        event = Event(name=name, data=data)
    else:
        # a build whose tests fail fails again when re-run: only a person's change can help; one that
        # could not reach the registry or the scanner (retryable) is built again
        reason = payload.detail or payload.status
        permanent = payload.job == "build" and not payload.retryable
        failed = {"job": payload.job, "reason": reason, "permanent": permanent}
        event = Event(name="job_failed", data=failed)
    return await _deliver(
        ctx,
        authorization,
        body,
        action="webhook jenkins",
        jobs=CI_JOBS,
        instance=None,
        kind=kind if payload.status == "success" else None,
        event=event,
        target=target if payload.status == "success" else None,
    )


async def verification(
    ctx: Context, payload: VerificationCallback, *, authorization: str | None, body: bytes
) -> Accepted:
    event = Event(
        name="verification_callback",
        data={
            "status": payload.status,
            "report_id": payload.report_id,
            "verification_id": payload.verification_id,
            "summary": payload.summary,
        },
    )
    return await _deliver(
        ctx,
        authorization,
        body,
        action="callback verification",
        jobs=VERIFICATION_JOBS,
        instance=None,
        kind="preflight",
        event=event,
    )


async def gitlab(ctx: Context, event_name: str, payload: dict[str, Any]) -> Accepted:
    """GitLab project hooks: merge request events move the change set whose branch they name (a merge
    also builds the merge commit for it); a push to an app's default branch builds the new commit."""
    attrs = releases.mapping(payload.get("object_attributes"))
    kind = str(payload.get("object_kind") or "")
    action = str(attrs.get("action") or "")
    branch = str(attrs.get("source_branch") or "")
    names = {"merge": "merged", "approved": "approved", "close": "close"}
    touched: list[str] = []
    async with ctx.store.transaction() as tx:
        target = await tx.open_instance(kind="changeset", correlation=branch) if branch else None
        if target is not None and action in names:
            user = releases.mapping(payload.get("user"))
            by = str(user.get("username") or "gitlab")
            envelope = Envelope(
                id=f"gitlab:{attrs.get('id')}:{action}:{attrs.get('updated_at')}",
                instance=target.id,
                kind="changeset",
                at=ctx.clock.now(),
                actor=f"gitlab:{by}",
                event=Event(
                    name=names[action],
                    data={"by": by, "role": "reviewer", "mr_url": str(attrs.get("url") or "")}
                    | ({"app": app} if (app := _repo(payload)) else {}),
                ),
            )
            touched.append((await ctx.engine.deliver(tx, envelope)).instance)
            if action == "merge" and (built := await releases.merged(ctx, tx, payload, target.id)):
                touched.append(built.instance)
        if kind == "push" and (built := await releases.push(ctx, tx, payload)):
            touched.append(built.instance)
        await tx.add_audit(
            at=ctx.clock.now(),
            actor="gitlab",
            action=f"webhook gitlab {event_name}",
            object=branch or str(payload.get("ref") or "gitlab"),
            outcome="ok" if touched else "ignored",
            links={},
            detail=action or kind,
        )
    ctx.engine.committed()
    return Accepted(accepted=len(touched), instances=touched)


async def argocd(ctx: Context, payload: ArgoCdNotification) -> Accepted:
    """Argo CD notifications: recorded in the audit trail, and delivered to the preflight run that
    waits for that app's sync."""
    async with ctx.store.transaction() as tx:
        delivered = await releases.argocd(ctx, tx, payload)
        await tx.add_audit(
            at=ctx.clock.now(),
            actor="argocd",
            action=f"webhook argocd {payload.trigger}".strip(),
            object=f"application:{payload.app}",
            outcome="ok",
            links={"preflight": delivered.instance} if delivered else {},
            detail=f"sync={payload.sync_status} health={payload.health_status} rev={payload.revision}",
        )
    ctx.engine.committed()
    instances = [delivered.instance] if delivered else []
    return Accepted(accepted=1, duplicates=int(bool(delivered and delivered.duplicate)), instances=instances)


def _repo(payload: dict[str, Any]) -> str:
    """The repository a GitLab hook is about ("shop-api" of "shop/shop-api")."""
    return str(releases.mapping(payload.get("project")).get("path_with_namespace") or "").rpartition("/")[2]
