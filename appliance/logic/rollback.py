"""Level 3, auto-remediate: an incident that opens in production rolls production back to the last
release that was verified and promoted before the current one, while the autopilot works on a fix.

The shell tells the incident's first event what it needs to know: production's autonomy level
(`autonomy`) and the release to go back to (`last_good {artifact_id, image, commit_sha, report_id?}`).
The rollback is CI job `rollback` (a gitops MR to production with that release, as a promotion
makes); it calls back `rolled_back {revision, mr_url}` or fails once, visibly: a failed rollback
is not retried, since production may have moved on since.

What production runs is the newest of its promotions and its rollbacks (`running`); the release to go
back to is the one promoted before that release was first promoted (`last_good`), so a second
incident after a rollback goes further back instead of "back" to what already runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from appliance.contracts.entities import EnvName
from appliance.logic.autonomy import may_rollback

JOB = "rollback"

# what became of the rollback, on the incident
NONE = ""
REQUESTED = "requested"
DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"


class LastGood(msgspec.Struct, frozen=True, kw_only=True):
    artifact_id: str
    image: str
    commit_sha: str
    report_id: str | None = None


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    status: str  # REQUESTED, SKIPPED, or NONE (not production, or no autonomy level given: nothing to say)
    reason: str
    params: dict[str, str] = {}  # the rollback job's, when REQUESTED
    to: LastGood | None = None  # the release it goes back to, when REQUESTED


class Release(msgspec.Struct, frozen=True, kw_only=True):
    """A release production ran from `at`: promoted then, or gone back to by incident `by`'s rollback."""

    artifact_id: str
    image: str
    commit_sha: str
    report_id: str | None = None
    at: datetime
    by: str = ""  # "" for a promotion; the incident whose rollback it was


def running(promoted: Sequence[Release], rolled_back: Sequence[Release] = ()) -> Release | None:
    """What production runs: the newest promotion or rollback (None before the first promotion)."""
    return max((*promoted, *rolled_back), key=lambda r: r.at, default=None)


def last_good(promoted: Sequence[Release], rolled_back: Sequence[Release] = ()) -> LastGood | None:
    """The release a rollback goes back to: the newest one promoted before what runs now was first
    promoted (releases production was rolled back from are newer, so they never count)."""
    now = running(promoted, rolled_back)
    if now is None:
        return None
    since = min((p.at for p in promoted if p.artifact_id == now.artifact_id), default=now.at)
    earlier = [p for p in promoted if p.at < since and p.artifact_id != now.artifact_id]
    newest = max(earlier, key=lambda r: r.at, default=None)
    if newest is None:
        return None
    return LastGood(**{name: getattr(newest, name) for name in LastGood.__struct_fields__})


def plan(*, incident_id: str, app: str, project: str, env: str, data: dict[str, object]) -> Plan:
    """Whether an incident opening with `data` rolls production back, and why (or why not)."""
    level = data.get("autonomy")
    if env != EnvName.PRODUCTION or level is None:  # not production, or no project known to say
        return Plan(status=NONE, reason="")
    verdict = may_rollback(level if isinstance(level, int | str) else 0, env=EnvName.PRODUCTION)
    if not verdict.allowed:
        return Plan(status=SKIPPED, reason=f"no rollback: {verdict.reason}")
    try:
        last = msgspec.convert(data.get("last_good"), LastGood) if data.get("last_good") else None
    except msgspec.ValidationError:
        last = None
    if last is None:
        return Plan(
            status=SKIPPED, reason="no rollback: no earlier verified release of this app in production"
        )
    params = {"incident_id": incident_id, "app": app, "project": project, "artifact_id": last.artifact_id,
              "image": last.image, "commit_sha": last.commit_sha}  # fmt: skip
    if last.report_id:
        params["report_id"] = last.report_id
    return Plan(
        status=REQUESTED, reason=f"roll back to {last.artifact_id}: {verdict.reason}", params=params, to=last
    )
