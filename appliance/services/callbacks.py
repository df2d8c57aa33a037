"""Callbacks from agents and CI jobs, and the GitLab and Argo CD webhooks.

A callback spends its per-job token and delivers its event in one transaction: either both happen
or neither, so a crash in between loses nothing and a retry is answered with 409 "duplicate".
"""

from __future__ import annotations

from typing import Any

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
from appliance.services import access
from appliance.services.context import Context
from appliance.services.errors import Invalid, NotFound, ServiceError

# which CI jobs' tokens may post which callback
EVIDENCE_JOBS = ("schedule-evidence-collector",)
FIX_JOBS = ("build-fix-agent",)
CI_JOBS = ("create-mr-from-patch", "build", "promote", "deploy-preflight", "schedule-verification")
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
    data = {
        "patch_id": payload.patch_id,
        "summary": payload.summary,
        "recommended_checks": payload.recommended_checks,
        "risk": payload.risk,
    }
    return await _deliver(
        ctx,
        authorization,
        body,
        action="callback fix",
        jobs=FIX_JOBS,
        instance=payload.incident_id,
        kind="incident",
        event=Event(name="patch_ready", data=data),
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


async def jenkins(
    ctx: Context, payload: JenkinsCallback, *, authorization: str | None, body: bytes
) -> Accepted:
    if payload.status == "success":
        if not payload.mr_url:
            raise Invalid("a successful create-mr-from-patch callback needs mr_url")
        event = Event(
            name="mr_opened",
            data={"changeset_id": payload.changeset_id, "mr_url": payload.mr_url, "status": payload.status},
        )
        return await _deliver(
            ctx,
            authorization,
            body,
            action="webhook jenkins",
            jobs=CI_JOBS,
            instance=None,
            kind="changeset",
            event=event,
            target=payload.changeset_id,
        )
    event = Event(name="job_failed", data={"job": payload.job, "reason": payload.detail or payload.status})
    return await _deliver(
        ctx,
        authorization,
        body,
        action="webhook jenkins",
        jobs=CI_JOBS,
        instance=None,
        kind=None,
        event=event,
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
    """GitLab project hooks: merge request events move the change set whose branch they name."""
    attrs = _mapping(payload.get("object_attributes"))
    action = str(attrs.get("action") or "")
    branch = str(attrs.get("source_branch") or "")
    names = {"merge": "merged", "approved": "approved", "close": "close"}
    async with ctx.store.transaction() as tx:
        target = await tx.open_instance(kind="changeset", correlation=branch) if branch else None
        delivered = None
        if target is not None and action in names:
            user = _mapping(payload.get("user"))
            by = str(user.get("username") or "gitlab")
            envelope = Envelope(
                id=f"gitlab:{attrs.get('id')}:{action}:{attrs.get('updated_at')}",
                instance=target.id,
                kind="changeset",
                at=ctx.clock.now(),
                actor=f"gitlab:{by}",
                event=Event(
                    name=names[action],
                    data={"by": by, "role": "reviewer", "mr_url": str(attrs.get("url") or "")},
                ),
            )
            delivered = await ctx.engine.deliver(tx, envelope)
        await tx.add_audit(
            at=ctx.clock.now(),
            actor="gitlab",
            action=f"webhook gitlab {event_name}",
            object=branch or "gitlab",
            outcome="ok" if delivered else "ignored",
            links={},
            detail=action,
        )
    ctx.engine.committed()
    return Accepted(accepted=int(delivered is not None), instances=[delivered.instance] if delivered else [])


async def argocd(ctx: Context, payload: ArgoCdNotification) -> Accepted:
    """Argo CD notifications: recorded in the audit trail; the preflight runs read sync state from it."""
    async with ctx.store.transaction() as tx:
        await tx.add_audit(
            at=ctx.clock.now(),
            actor="argocd",
            action=f"webhook argocd {payload.trigger}".strip(),
            object=f"application:{payload.app}",
            outcome="ok",
            links={},
            detail=f"sync={payload.sync_status} health={payload.health_status} rev={payload.revision}",
        )
    return Accepted(accepted=1, instances=[])


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
