"""The ChangeSet machine: one unit of intended change, from its merge request to production.

Phases, in order (only `proposing` arms the timer `step`):
  proposing     waiting for the MR: /webhooks/jenkins -> `mr_opened {mr_url, status}`
  open          the MR is open; waiting for review: `approved` or `rejected` by an owner or reviewer
  approved      waiting for `merged`
  merged        waiting for `preflight_started`
  in-preflight  waiting for `verification_passed` for every app (or `verification_failed`, which also
                ends a merged one whose artifact was rejected before preflight, e.g. by its image scan)

Several apps (a feature): `apps` is in deploy order (dependencies first), each app has its own MR,
`merged {app}` counts per app and the change set is merged once every app is. Each app's artifact
holds after its build (`artifact_built {app, artifact_id}`); once every app is merged and built, the
change set sends `release` to the first app's artifact, and to the next one when the one before has
passed verification, so an app is deployed to preflight only after what it depends on passed.
  verified      waiting for `promoted`
  stalled       proposing ran out of attempts; waiting for a person to `retry` or `close`
  promoted | rejected | closed | failed   final

Who runs CI job `create-mr-from-patch`: a change set no incident created (origin "feature") triggers
it on creation and on each retry, keyed `{id}:create-mr-from-patch:{attempt}`. One created by an
incident (origin "inc-...") does not: the incident triggered the job and owns its retries (CI reports a
failure to the job's owner); the change set's timer is a watchdog counting the same attempts, and it
relays to the incident a failure that reaches it anyway (`job_failed`), a `retry`, the `mr_opened` and,
once in production, `fix_promoted`.

Evidence before the merge (one app): `mr_opened {commit_sha}` names the MR's head; the change set
has it built and taken through preflight (artifact `art-<app>-<sha12>`, stage "merge-request"). An
approval counts only once that preflight passed (`verification_passed {stage: merge-request}`); a
failing one fails the change set. With autonomy level 2 (`autonomy` in `mr_opened`) and a low risk,
the autopilot approves itself and CI job `merge-mr` merges the MR; protected paths never do. Its
wait for `merged` arms the timer `step`: a timeout or a failure of the job runs it again (a new
key), up to `max_attempts`; then the change set stays approved and says a person must merge.

A merge in GitLab before an approval here is what happened, so it counts: the change set moves on,
marked `unapproved_merge` (its artifact is then promoted only by an owner, whatever the autonomy).

Any phase: `close` -> closed. `timeout`/`job_failed` count only for the current attempt (steps.py); a
timeout retries at once, a failure after a backoff; `mr_opened` with a status other than "success" is
a `job_failed`. A late `mr_opened` still opens a stalled change set (the MR exists). An `approved` or
`rejected` by a role that may not decide (a viewer) is recorded as ignored, never applied.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from appliance.contracts.entities import Role
from appliance.contracts.workflow import CancelTimer, Effect, Event, Notify, Send, StepRecord, TriggerJob
from appliance.logic import steps
from appliance.logic.autonomy import may_auto_merge
from appliance.logic.machine import Decision, InvalidEvent, Machine, backoff, require

KIND = "changeset"
MR_JOB = "create-mr-from-patch"
MERGE_JOB = "merge-mr"
PRE_MERGE = "merge-request"  # the stage of an artifact built from the MR's head

PROPOSING = "proposing"
OPEN = "open"
APPROVED = "approved"
MERGED = "merged"
IN_PREFLIGHT = "in-preflight"
VERIFIED = "verified"
STALLED = "stalled"
PROMOTED = "promoted"
REJECTED = "rejected"
CLOSED = "closed"
FAILED = "failed"
FINAL = frozenset({PROMOTED, REJECTED, CLOSED, FAILED})
ACTIVE = (PROPOSING, OPEN, APPROVED, MERGED, IN_PREFLIGHT, VERIFIED, STALLED)
PHASES = (*ACTIVE, PROMOTED, REJECTED, CLOSED, FAILED)
BY_PEOPLE = ("approved", "rejected", "merged", "close", "retry")
BY_SYSTEMS = (
    "created",
    "mr_opened",
    "artifact_built",
    "preflight_started",
    "verification_passed",
    "verification_failed",
    "promoted",
)
EVENTS = frozenset((*BY_PEOPLE, *BY_SYSTEMS, "timeout", "job_failed"))
DECIDERS = (Role.OWNER, Role.REVIEWER)


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    mr_timeout_s: int = 600
    merge_timeout_s: int = 600
    max_attempts: int = 3


class ChangeSetState(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    phase: str
    project: str
    title: str
    origin: str  # the incident that proposed it ("inc-..."), or "feature"
    branch: str
    apps: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    policy: Policy = Policy()
    patch_id: str | None = None
    risk: float | None = None
    mr_url: str | None = None
    approved_by: str | None = None
    preflights: tuple[str, ...] = ()
    reports: dict[str, str] = {}  # app -> its passing verification report
    mrs: dict[str, str] = {}  # app -> its merge request (several apps)
    merged_apps: tuple[str, ...] = ()
    artifacts: dict[str, str] = {}  # app -> its held artifact, waiting for `release`
    released: tuple[str, ...] = ()
    head_sha: str | None = None  # the MR's head (one app), preflighted before the merge
    head_report: str | None = None  # its passing verification
    autonomy: int = 0
    merge_attempt: int = 0  # the merge-mr run waited for (the autopilot's merge); 0: none
    unapproved_merge: bool = False  # merged in GitLab before an approval here
    waiting_for: str = ""  # the MR passed preflight and waits for a person: why the autopilot did not approve
    attempt: int = 1
    round_start: int = 1  # the first attempt of the current round (a person's retry starts a round)
    reason: str = ""
    stalled_in: str | None = None
    steps: tuple[StepRecord, ...] = ()

    @property
    def from_incident(self) -> bool:
        return self.origin.startswith("inc-")


def _note(s: ChangeSetState, now: datetime, step: str, outcome: str, message: str = "") -> ChangeSetState:
    retries = s.attempt - s.round_start
    new = steps.record(s.steps, at=now, step=step, outcome=outcome, message=message, retries=retries)
    return s if new is s.steps else msgspec.structs.replace(s, steps=new, updated_at=now)


def _move(s: ChangeSetState, phase: str, now: datetime, step: str, message: str = "") -> ChangeSetState:
    s = msgspec.structs.replace(s, phase=phase, updated_at=now, reason="", stalled_in=None, waiting_for="")
    return _note(s, now, step, "ok", message)


def _notify(s: ChangeSetState, what: str, message: str, links: dict[str, str] | None = None) -> Notify:
    return steps.notify("change set", s.id, what, message, links)


def _to_incident(s: ChangeSetState, name: str, data: dict[str, object]) -> Send:
    event_id = f"{s.id}:{name}" if name == "mr_opened" else f"{s.id}:{name}:{s.attempt}"
    return Send(kind="incident", instance=s.origin, event_id=event_id, event=Event(name=name, data=data))


def _job_params(s: ChangeSetState) -> dict[str, str]:
    params = {"changeset_id": s.id, "project": s.project, "branch": s.branch, "title": s.title}
    params |= {"apps": ",".join(s.apps), "origin": s.origin}
    return params | ({"patch_id": s.patch_id} if s.patch_id else {})


def _propose(
    s: ChangeSetState, now: datetime, *, attempt: int, round_start: int, delay: timedelta = timedelta()
) -> Decision[ChangeSetState]:
    """Wait for the MR (attempt `attempt`): trigger the job unless an incident owns it; arm the timer."""
    s = msgspec.structs.replace(s, phase=PROPOSING, attempt=attempt, round_start=round_start, stalled_in=None)
    s = _note(s, now, MR_JOB, "waiting" if attempt == round_start else "retry")
    deadline = now + delay + timedelta(seconds=s.policy.mr_timeout_s)
    effects: tuple[Effect, ...] = (steps.timer(PROPOSING, attempt, deadline),)
    if not s.from_incident:
        key, params = f"{s.id}:{MR_JOB}:{attempt}", _job_params(s)
        effects = (TriggerJob(key=key, job=MR_JOB, params=params, delay_s=delay.total_seconds()), *effects)
    return Decision(msgspec.structs.replace(s, reason="", updated_at=now), effects)


def _finish(s: ChangeSetState, phase: str, now: datetime, reason: str) -> Decision[ChangeSetState]:
    s = msgspec.structs.replace(s, phase=phase, updated_at=now, reason=reason, stalled_in=None)
    s = _note(s, now, phase, "failed" if phase == FAILED else "ok", reason)
    return Decision(s, (CancelTimer(name=steps.TIMER), _notify(s, phase, f"{phase}: {reason}")))


def _retry_or_stall(s: ChangeSetState, now: datetime, reason: str, *, wait: bool) -> Decision[ChangeSetState]:
    """Try again (after a backoff if the job failed; at once if the wait timed out), or stall."""
    if steps.can_retry(s.attempt, s.round_start, s.policy.max_attempts):
        delay = backoff(s.attempt - s.round_start + 1) if wait else timedelta()
        return _propose(s, now, attempt=s.attempt + 1, round_start=s.round_start, delay=delay)
    s = msgspec.structs.replace(s, phase=STALLED, stalled_in=PROPOSING, updated_at=now, reason=reason)
    s = _note(s, now, MR_JOB, "stalled", reason)
    return Decision(s, (CancelTimer(name=steps.TIMER), _notify(s, f"stalled:{s.attempt}", reason)))


def _job_failed(s: ChangeSetState, event: Event, now: datetime) -> Decision[ChangeSetState]:
    job = str(require(event, "job")[0]) if event.name == "job_failed" else MR_JOB
    if job == MERGE_JOB:
        if s.phase != APPROVED or not s.merge_attempt or steps.is_stale_failure(event, s.merge_attempt):
            return Decision(s)
        detail = str(event.data.get("reason") or "no reason given")
        return _merge_again(s, now, f"{MERGE_JOB} failed: {detail}", wait=True)
    if s.phase != PROPOSING or job != MR_JOB or steps.is_stale_failure(event, s.attempt):
        return Decision(s)
    data = event.data
    detail = str(data.get("reason") or data.get("detail") or data.get("status") or "no reason given")
    permanent = bool(data.get("permanent"))
    reason = f"{job} failed: {detail}"
    decision = _finish(s, FAILED, now, reason) if permanent else _retry_or_stall(s, now, reason, wait=True)
    if not s.from_incident:
        return decision
    relay = _to_incident(s, "job_failed", {"job": job, "reason": detail, "permanent": permanent})
    return Decision(decision.state, (relay, *decision.effects))


def _opened(s: ChangeSetState, event: Event, now: datetime) -> Decision[ChangeSetState]:
    (url,) = require(event, "mr_url")
    mrs = event.data.get("mrs")
    s = msgspec.structs.replace(_move(s, OPEN, now, "merge request", str(url)), mr_url=str(url))
    if isinstance(mrs, dict):
        s = msgspec.structs.replace(s, mrs={str(k): str(v) for k, v in mrs.items() if k in s.apps})
    effects: tuple[Effect, ...] = (
        CancelTimer(name=steps.TIMER),
        _notify(s, OPEN, "MR opened", {"mr": str(url)}),
    )
    if s.from_incident:
        effects = (*effects, _to_incident(s, "mr_opened", {"changeset_id": s.id, "mr_url": str(url)}))
    head = str(event.data.get("commit_sha") or "")
    if head and len(s.apps) == 1 and s.head_sha is None:
        level = int(steps.number(event, "autonomy") or 0)
        s = msgspec.structs.replace(s, head_sha=head, autonomy=level)
        data = {
            "app": s.apps[0],
            "commit_sha": head,
            "project": s.project,
            "changeset_id": s.id,
            "stage": PRE_MERGE,
        }
        build = Send(kind="artifact", instance=f"art-{s.apps[0]}-{head[:12]}", event_id=f"{s.id}:head:{head}",
                     event=Event(name="build_requested", data=data))  # fmt: skip
        effects = (*effects, build)
    return Decision(s, effects)


def _head_verdict(s: ChangeSetState, event: Event, now: datetime) -> Decision[ChangeSetState]:
    """The preflight of the MR's head, before the merge: evidence for the approval, or the end."""
    if event.name == "verification_failed":
        reason = f"the MR failed preflight before its merge: {event.data.get('reason', 'no reason given')}"
        return _finish(s, FAILED, now, reason)
    (report,) = require(event, "report_id")
    s = _note(
        msgspec.structs.replace(s, head_report=str(report)), now, "preflight", "ok", f"MR head: {report}"
    )
    verdict = may_auto_merge(s.autonomy, s.risk)
    if s.phase != OPEN or not verdict.allowed:
        if s.phase == OPEN:
            s = msgspec.structs.replace(s, waiting_for=f"an approval by a person: {verdict.reason}")
        return Decision(s, (_notify(s, "head-verified", "the MR passed preflight: it may be approved"),))
    s = msgspec.structs.replace(_move(s, APPROVED, now, "review", f"autopilot: {verdict.reason}"),
                                approved_by="autopilot")  # fmt: skip
    merge = _merge(s, now, attempt=1)
    return Decision(merge.state, (_notify(s, APPROVED, "approved by the autopilot"), *merge.effects))


def _merge(
    s: ChangeSetState, now: datetime, *, attempt: int, delay: timedelta = timedelta()
) -> Decision[ChangeSetState]:
    """Run CI job `merge-mr` (attempt `attempt`) and wait for `merged`."""
    s = msgspec.structs.replace(s, merge_attempt=attempt)
    if attempt > 1:
        s = _note(s, now, MERGE_JOB, "retry", f"attempt {attempt}")
    params = {"changeset_id": s.id, "project": s.project, "app": s.apps[0], "mr_url": s.mr_url or "",
              "commit_sha": s.head_sha or ""}  # fmt: skip
    merge = TriggerJob(
        key=f"{s.id}:{MERGE_JOB}:{attempt}", job=MERGE_JOB, params=params, delay_s=delay.total_seconds()
    )
    timer = steps.timer(APPROVED, attempt, now + delay + timedelta(seconds=s.policy.merge_timeout_s))
    return Decision(s, (merge, timer))


def _merge_again(s: ChangeSetState, now: datetime, reason: str, *, wait: bool) -> Decision[ChangeSetState]:
    """The autopilot's merge failed or timed out: run it again, or leave the merge to a person."""
    if s.merge_attempt < s.policy.max_attempts:
        return _merge(
            s, now, attempt=s.merge_attempt + 1, delay=backoff(s.merge_attempt) if wait else timedelta()
        )
    message = f"{reason}; after {s.merge_attempt} attempts the MR waits for a person to merge it"
    s = _note(msgspec.structs.replace(s, merge_attempt=0), now, MERGE_JOB, "stalled", message)
    return Decision(s, (CancelTimer(name=steps.TIMER), _notify(s, "merge-stalled", message)))


def _review(s: ChangeSetState, event: Event, now: datetime) -> Decision[ChangeSetState]:
    """`approved` (from open) or `rejected` (from open or approved), if the role may decide."""
    if s.phase not in ((OPEN,) if event.name == "approved" else (OPEN, APPROVED)):
        return Decision(s)
    (by,) = require(event, "by")
    role = event.data.get("role")
    if event.name == "approved" or role is not None:
        (role,) = require(event, "role")
        if role not in DECIDERS:
            message = f"{event.name} by {by} ignored: a {role} may not decide"
            return Decision(_note(s, now, "review", "ignored", message))
    if event.name == "rejected":
        decision = _finish(s, REJECTED, now, f"rejected by {by}")
        if not s.from_incident:
            return decision
        relay = _to_incident(decision.state, "fix_rejected", {"changeset_id": s.id, "by": str(by)})
        return Decision(decision.state, (*decision.effects, relay))
    s = _move(s, APPROVED, now, "review", f"approved by {by} ({role})")
    s = msgspec.structs.replace(s, approved_by=str(by))
    return Decision(s, (_notify(s, APPROVED, f"approved by {by}"),))


def _preflight_started(s: ChangeSetState, event: Event, now: datetime) -> Decision[ChangeSetState]:
    run = str(event.data.get("preflight_id") or "")
    runs = s.preflights if not run or run in s.preflights else (*s.preflights, run)
    if s.phase == IN_PREFLIGHT and runs == s.preflights:
        return Decision(s)  # heard of already
    return Decision(_move(msgspec.structs.replace(s, preflights=runs), IN_PREFLIGHT, now, "preflight", run))


def _verification_passed(s: ChangeSetState, event: Event, now: datetime) -> Decision[ChangeSetState]:
    """A passing report for one app (`app`) or, without `app`, for all of them: verified once all have one."""
    (report,) = require(event, "report_id")
    app = event.data.get("app")
    if app is not None and app not in s.apps:
        return Decision(s)
    reports = {a: str(report) for a in ([str(app)] if app else s.apps)} | s.reports
    if reports == s.reports:
        return Decision(s)
    s = _note(msgspec.structs.replace(s, reports=reports), now, "verification", "ok", f"report {report}")
    if set(s.apps) - set(reports):
        return Decision(s)
    s = _move(s, VERIFIED, now, "verified", ", ".join(f"{a}: {r}" for a, r in sorted(reports.items())))
    return Decision(s, (_notify(s, VERIFIED, "verified in preflight"),))


def _merged(s: ChangeSetState, event: Event, now: datetime) -> Decision[ChangeSetState]:
    """One app's MR merged (`app`), or, without `app`, all of them."""
    app = event.data.get("app")
    if app is not None and app not in s.apps:
        return Decision(s)
    merged = tuple(dict.fromkeys((*s.merged_apps, *([str(app)] if app else s.apps))))
    by = event.data.get("by", "someone")
    s = msgspec.structs.replace(s, merged_apps=merged)
    if set(s.apps) - set(merged):
        return Decision(_note(s, now, "merge", "ok", f"{app} merged by {by}"))
    s = _move(s, MERGED, now, "merge", f"merged by {by}")
    released = _release_next(s, now)
    return Decision(released.state, (_notify(s, MERGED, "merged"), *released.effects))


def _release_next(
    s: ChangeSetState, now: datetime, effects: tuple[Effect, ...] = ()
) -> Decision[ChangeSetState]:
    """Send `release` to the next held artifact in deploy order, once its turn has come."""
    if s.phase not in (MERGED, IN_PREFLIGHT) or len(s.apps) < 2:
        return Decision(s, effects)
    for app in s.apps:  # deploy order
        if app in s.reports:
            continue  # passed: the next one may go
        if app in s.released or app not in s.artifacts:
            return Decision(s, effects)  # on its way, or not built yet: wait
        s = _note(msgspec.structs.replace(s, released=(*s.released, app)), now, "release", "ok", app)
        release = Event(name="release", data={"changeset_id": s.id})
        send = Send(
            kind="artifact", instance=s.artifacts[app], event_id=f"{s.id}:release:{app}", event=release
        )
        return Decision(s, (*effects, send))
    return Decision(s, effects)


def _create(instance: str, event: Event, now: datetime) -> Decision[ChangeSetState]:
    if event.name != "created":
        raise InvalidEvent(f"a change set starts with 'created', not {event.name!r}")
    project, title, origin, branch, apps = require(event, "project", "title", "origin", "branch", "apps")
    if not isinstance(apps, list | tuple) or not apps or not all(isinstance(a, str) and a for a in apps):
        raise InvalidEvent("event 'created' needs 'apps', a non-empty list of app names")
    patch = event.data.get("patch_id")
    s = ChangeSetState(
        id=instance,
        phase=PROPOSING,
        project=str(project),
        title=str(title),
        origin=str(origin),
        branch=str(branch),
        apps=tuple(dict.fromkeys(apps)),
        created_at=now,
        updated_at=now,
        policy=steps.policy_of(event, Policy),
        patch_id=str(patch) if patch else None,
        risk=steps.number(event, "risk"),
        steps=(StepRecord(at=now, step="created", outcome="ok", message=str(title)),),
    )
    return _propose(s, now, attempt=1, round_start=1)


def decide(
    state: ChangeSetState | None, instance: str, event: Event, now: datetime
) -> Decision[ChangeSetState]:
    if state is None:
        return _create(instance, event, now)
    s, name, ignore = state, event.name, Decision(state)
    if name not in EVENTS:
        raise InvalidEvent(f"change set has no event {name!r}")
    if s.phase in FINAL or name == "created":
        return ignore
    if name == "close":
        return _finish(s, CLOSED, now, f"closed by {event.data.get('by', 'someone')}")
    if name == "timeout" and s.phase == APPROVED:
        if not s.merge_attempt or not steps.is_current_timeout(event, APPROVED, s.merge_attempt):
            return ignore
        waited = steps.minutes(timedelta(seconds=s.policy.merge_timeout_s))
        return _merge_again(s, now, f"no merge in {waited}", wait=False)
    if name == "timeout":
        if s.phase != PROPOSING or not steps.is_current_timeout(event, PROPOSING, s.attempt):
            return ignore
        waited = steps.minutes(timedelta(seconds=s.policy.mr_timeout_s))
        return _retry_or_stall(s, now, f"stalled: no merge request callback in {waited}", wait=False)
    if name == "job_failed" or (name == "mr_opened" and (event.data.get("status") or "success") != "success"):
        return _job_failed(s, event, now)
    if name == "retry" and s.phase == STALLED:
        decision = _propose(s, now, attempt=s.attempt + 1, round_start=s.attempt + 1)
        if not s.from_incident:
            return decision
        relay = _to_incident(decision.state, "retry", {"by": str(event.data.get("by") or "someone")})
        return Decision(decision.state, (relay, *decision.effects))
    if name == "mr_opened" and s.phase in (PROPOSING, STALLED):
        return _opened(s, event, now)
    if name in ("verification_passed", "verification_failed") and event.data.get("stage") == PRE_MERGE:
        if s.phase not in (OPEN, APPROVED) or s.head_report is not None:
            return ignore
        return _head_verdict(s, event, now)
    if name == "approved" and s.phase == OPEN and s.head_sha and s.head_report is None:
        by = event.data.get("by", "someone")
        return Decision(_note(s, now, "review", "waiting", f"approval by {by} waits for the MR's preflight"))
    if name in ("approved", "rejected"):
        return _review(s, event, now)
    if name == "merged" and s.phase == APPROVED:
        merged = _merged(s, event, now)
        if merged.state.phase == APPROVED:
            return merged  # an app of several, or not one of its apps
        return Decision(merged.state, (CancelTimer(name=steps.TIMER), *merged.effects))
    if name == "merged" and s.phase == OPEN:  # GitLab merged it before an approval here: it happened
        named = {str(event.data["app"])} if event.data.get("app") else set(s.apps)
        if not named & set(s.apps) or named <= set(s.merged_apps):
            return ignore  # not one of its apps, or heard already
        by = event.data.get("by", "someone")
        message = f"merged in GitLab by {by} before an approval here: only an owner may promote it"
        s = _note(msgspec.structs.replace(s, unapproved_merge=True), now, "review", "skipped", message)
        merged = _merged(s, event, now)
        flag = _notify(s, "unapproved-merge", message)
        return Decision(merged.state, (flag, *merged.effects))
    if name == "artifact_built" and (s.phase in (APPROVED, MERGED, IN_PREFLIGHT) or s.unapproved_merge):
        app, artifact = (str(v) for v in require(event, "app", "artifact_id"))
        if app not in s.apps or app in s.artifacts:
            return ignore
        s = _note(
            msgspec.structs.replace(s, artifacts={**s.artifacts, app: artifact}), now, "build", "ok", app
        )
        return _release_next(s, now)
    if name == "preflight_started" and s.phase in (MERGED, IN_PREFLIGHT):
        return _preflight_started(s, event, now)
    if name == "verification_passed" and s.phase == IN_PREFLIGHT:
        passed = _verification_passed(s, event, now)
        return _release_next(passed.state, now, passed.effects) if len(s.apps) > 1 else passed
    if name == "verification_failed" and s.phase in (
        MERGED,
        IN_PREFLIGHT,
    ):  # MERGED: rejected before preflight
        (report,) = require(event, "report_id")
        reason = f"verification failed ({report}): {event.data.get('reason', 'no reason given')}"
        return _finish(s, FAILED, now, reason)
    if name == "promoted" and s.phase == VERIFIED:
        decision = _finish(s, PROMOTED, now, "promoted to production")
        if not s.from_incident:
            return decision
        relay = _to_incident(decision.state, "fix_promoted", {"changeset_id": s.id})
        return Decision(decision.state, (*decision.effects, relay))
    return ignore  # late, out of order, or not for this phase


MACHINE: Machine[ChangeSetState] = Machine(
    kind=KIND,
    state_type=ChangeSetState,
    decide=decide,
    is_final=lambda s: s.phase in FINAL,
    phase=lambda s: s.phase,
)
