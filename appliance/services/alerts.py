"""Alertmanager's webhook -> incidents, grouped by fingerprint and deduplicated.

A firing alert whose fingerprint has an open incident joins it (the machine ignores the repeat); a
new fingerprint opens an incident; a resolved alert resolves the open incident. The whole payload is
one transaction, so a grouped notification is taken all or nothing.
"""

from __future__ import annotations

import msgspec

from appliance.contracts.entities import EnvName
from appliance.contracts.webhooks import Accepted, AlertmanagerAlert, AlertmanagerWebhook
from appliance.contracts.workflow import Envelope, Event
from appliance.logic import incident
from appliance.ports.store import Tx
from appliance.services import production, releases
from appliance.services.context import Context
from appliance.services.projects import decode_meta


async def receive_alertmanager(
    ctx: Context, payload: AlertmanagerWebhook, *, project: str | None = None
) -> Accepted:
    now = ctx.clock.now()
    accepted = duplicates = 0
    touched: list[str] = []
    async with ctx.store.transaction() as tx:
        for alert in payload.alerts:
            open_row = await tx.open_instance(kind=incident.KIND, correlation=alert.fingerprint)
            if alert.status == "resolved" and open_row is None:
                duplicates += 1  # nothing open for it: already resolved, or never seen
                continue
            instance = open_row.id if open_row else ctx.ids.new("inc")
            envelope = Envelope(
                id=_event_id(alert),
                instance=instance,
                kind=incident.KIND,
                at=now,
                actor="alertmanager",
                event=await _with_remediation(ctx, tx, _event(alert, payload, project, ctx)),
            )
            applied = await ctx.engine.deliver(tx, envelope)
            if applied.duplicate or (open_row is not None and alert.status == "firing"):
                duplicates += 1
            else:
                accepted += 1
            touched.append(instance)
        await tx.add_audit(
            at=now,
            actor="alertmanager",
            action="webhook alertmanager",
            object=payload.group_key or "alerts",
            outcome="ok",
            links={f"incident:{i}": f"/api/incidents/{i}" for i in touched},
            detail=f"{payload.status}: {len(payload.alerts)} alert(s), {accepted} new, {duplicates} duplicate",
        )
    ctx.engine.committed()
    return Accepted(accepted=accepted, duplicates=duplicates, instances=sorted(set(touched)))


async def _with_remediation(ctx: Context, tx: Tx, event: Event) -> Event:
    """A firing alert in production, with what a level-3 rollback needs to know (rollback.py):
    production's autonomy level, and the release promoted before the one production runs, a rollback
    counted (`last_good`, services/production.py)."""
    labels = {str(k): str(v) for k, v in dict(event.data.get("labels") or {}).items()}
    app, env = incident.app_and_env(labels)
    project = str(event.data.get("project") or "")
    raw = (
        await tx.project(project)
        if event.name == "alert_fired" and env == EnvName.PRODUCTION and project
        else None
    )
    if raw is None:
        return event
    data = {**event.data, "autonomy": releases.promotion_autonomy(decode_meta(raw))}
    history = (await production.histories(ctx, tx, project)).get((project, app))
    last = history.last_good if history is not None else None
    if last is not None:
        data["last_good"] = msgspec.to_builtins(last)
    return Event(name=event.name, data=data)


def _event_id(alert: AlertmanagerAlert) -> str:
    return f"am:{alert.fingerprint}:{alert.starts_at.isoformat()}:{alert.status}"


def _event(
    alert: AlertmanagerAlert, payload: AlertmanagerWebhook, project: str | None, ctx: Context
) -> Event:
    if alert.status == "resolved":
        return Event(name="alert_resolved", data={"fingerprint": alert.fingerprint})
    data = {
        "fingerprint": alert.fingerprint,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "starts_at": alert.starts_at.isoformat(),
        "generator_url": alert.generator_url,
        "group_key": payload.group_key,
        "policy": ctx.incident_policy,
    }
    if project or alert.labels.get("project"):
        data["project"] = project or alert.labels["project"]
    return Event(name="alert_fired", data=msgspec.to_builtins(data))
