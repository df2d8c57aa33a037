"""What people do: approve or reject a change set, promote an artifact, retry or close an incident.

Roles are checked here (reviewers and owners approve MRs; only owners promote to production); the
machines then decide whether the action applies in the current phase.
"""

from __future__ import annotations

from appliance.contracts.entities import Role
from appliance.contracts.workflow import Applied, Envelope, Event
from appliance.services import access
from appliance.services.access import Principal
from appliance.services.context import Context
from appliance.services.errors import NotFound

RULES: dict[tuple[str, str], tuple[str, tuple[Role, ...]]] = {
    # (kind, action): (event name, roles allowed)
    ("changeset", "approve"): ("approved", (Role.OWNER, Role.REVIEWER)),
    ("changeset", "reject"): ("rejected", (Role.OWNER, Role.REVIEWER)),
    ("changeset", "close"): ("close", (Role.OWNER,)),
    ("artifact", "promote"): ("promotion_approved", (Role.OWNER,)),
    ("artifact", "reject"): ("reject", (Role.OWNER,)),
    ("incident", "retry"): ("retry", (Role.OWNER, Role.REVIEWER)),
    ("incident", "close"): ("close", (Role.OWNER,)),
}


async def act(ctx: Context, who: Principal, *, kind: str, id: str, action: str, comment: str = "") -> Applied:
    name, roles = RULES[(kind, action)]
    await access.require_role(ctx, who, roles, action=f"{action} {kind}")
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        row = await tx.instance(id)
        if row is None or row.kind != kind:
            raise NotFound(f"no {kind} {id!r}")
        event = Event(name=name, data={"by": who.name, "role": str(who.role), "comment": comment})
        envelope = Envelope(
            id=ctx.ids.new("act"), instance=id, kind=kind, at=now, actor=who.name, event=event
        )
        applied = await ctx.engine.deliver(tx, envelope)
        changed = applied.phase != row.phase
        await tx.add_audit(
            at=now,
            actor=who.name,
            action=f"{action} {kind}",
            object=f"{kind}:{id}",
            outcome="ok" if changed else "no change",
            links={},
            detail=f"{row.phase} -> {applied.phase}",
        )
    ctx.engine.committed()
    return applied
