"""Feature change sets: a request for change across apps becomes one change set, its apps in deploy
order (what an app depends on first), one MR per app opened by CI, and preflight app by app."""

from __future__ import annotations

from appliance.contracts.api import FeatureCreate
from appliance.contracts.entities import Role
from appliance.contracts.workflow import Envelope, Event
from appliance.logic import changeset, steps
from appliance.logic.deploy_order import CycleError, deploy_order
from appliance.services import access, projects
from appliance.services.access import Principal
from appliance.services.context import Context
from appliance.services.errors import Invalid

MAY_REQUEST = (Role.OWNER, Role.REVIEWER)


def plan(apps: list[str], depends_on: dict[str, list[str]]) -> list[str]:
    """`apps` in deploy order, by the dependencies among them (a dependency outside the feature is
    already in production and does not order anything)."""
    chosen = set(apps)
    try:
        return deploy_order({a: [d for d in depends_on.get(a, []) if d in chosen] for a in apps})
    except CycleError as exc:
        raise Invalid(f"the apps of this feature depend on each other in a circle: {exc}") from None


async def request(ctx: Context, who: Principal, data: FeatureCreate) -> str:
    """Create the feature's change set; returns its id."""
    await access.require_role(ctx, who, MAY_REQUEST, action="request feature")
    meta = await projects.get(ctx, data.project)
    known = {a.name: [str(d) for d in a.depends_on] for a in meta.apps}
    apps = list(dict.fromkeys(data.apps)) or sorted(known)
    unknown = [a for a in apps if a not in known]
    if unknown:
        raise Invalid(
            f"project {meta.name!r} has no app {', '.join(map(repr, unknown))}; it has {', '.join(sorted(known))}"
        )
    ordered = plan(apps, known)
    id = ctx.ids.new("cs")
    event = Event(
        name="created",
        data={
            "project": meta.name,
            "title": data.title,
            "description": data.description,
            "origin": "feature",
            "branch": f"{id}-{steps.slug(data.title, 'feature')}",
            "apps": ordered,
        },
    )
    envelope = Envelope(
        id=f"feature:{id}", instance=id, kind=changeset.KIND, at=ctx.clock.now(), actor=who.name, event=event
    )
    await ctx.engine.submit(envelope)
    return id
