"""What production runs, per app: its promotions and the level-3 rollbacks done since
(appliance/logic/rollback.py decides which release that is, and which one a rollback goes back to).

Read by the alert intake (the `last_good` of an incident opening in production) and by the console's
deploys view, so both name the same release.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import msgspec

from appliance.logic import artifact, incident, rollback
from appliance.logic.rollback import Release
from appliance.ports.store import Reader
from appliance.services.context import Context

LIMIT = 500  # promotions and incidents read per project: the newest ones


@dataclass
class History:
    promoted: list[Release] = field(default_factory=list)
    rolled_back: list[Release] = field(default_factory=list)

    @property
    def running(self) -> Release | None:
        return rollback.running(self.promoted, self.rolled_back)

    @property
    def last_good(self) -> rollback.LastGood | None:
        return rollback.last_good(self.promoted, self.rolled_back)


async def histories(
    ctx: Context, reader: Reader, project: str | None = None
) -> dict[tuple[str, str], History]:
    """(project, app) -> its production history; apps never promoted are absent."""
    found: dict[tuple[str, str], History] = defaultdict(History)
    rows = await reader.instances(kind=artifact.KIND, project=project, phase=artifact.PROMOTED, limit=LIMIT)
    for a in (ctx.engine.decode(row) for row in rows):
        if not a.stage:  # built from an MR's head: never promoted, but be sure
            release = Release(
                artifact_id=a.id,
                image=a.image,
                commit_sha=a.commit_sha,
                report_id=a.report_id,
                at=a.updated_at,
            )
            found[(a.project, a.app)].promoted.append(release)
    for row in await reader.instances(kind=incident.KIND, project=project, limit=LIMIT):
        i = ctx.engine.decode(row)
        if i.rollback == rollback.DONE and i.rollback_to is not None and i.rolled_back_at is not None:
            release = Release(**msgspec.structs.asdict(i.rollback_to), at=i.rolled_back_at, by=i.id)
            found[(i.project, i.app)].rolled_back.append(release)
    return dict(found)


async def everywhere(ctx: Context) -> dict[tuple[str, str], History]:
    """Every app's production history (`History.running`: what its production runs now)."""
    async with ctx.store.read() as r:
        return await histories(ctx, r)
