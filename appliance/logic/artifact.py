"""The Artifact machine: an image built from a commit, and the evidence that lets it reach production.

Phases (the contracts' `ArtifactState`, plus `building` and `promoting`, internal phases that people
see as built and verified):
  building        start event `build_requested {app, commit_sha, project, changeset_id?, autonomy?,
                  risk?}`: CI job `build` ran (key `{id}:build:{attempt}`), timer `step`; its
                  callback `built {image, digest}` registers the artifact (not-promotable) and starts
                  the preflight run `pf-{id}` (`started`); a build failure retries, then rejects
  built           the image exists (start event `built {app, commit_sha, image, project}`)
  not-promotable  registered in the registry (`registered`); waiting for preflight evidence
  verified        a preflight verification passed (`verification_passed {report_id}`, only from
                  not-promotable); waiting for a promotion approval
  promoting       promotion approved; CI job `promote` ran (key `{id}:promote:{attempt}`), timer `step`
  promoted        final: `promoted`, only from promoting
  rejected        final: `verification_failed`, or `reject {by}`, before promotion started; or a
                  `built` whose `vulnerabilities` (the registry's scan, vulnerabilities.py) hold a
                  fixable High or Critical finding: never deployed, it opens the security incident
                  `inc-scan-{id}` (`alert_fired`, fingerprint `scan:{id}`, env preflight, the
                  advisories in its data) for the Fix Agent to bump the dependency

`promotion_approved {by, role, risk?, autonomy?}` applies only in `verified`, and only for an owner,
or for `by: "autopilot"` when the autonomy policy lets it promote (level >= 2, low risk, no protected
path); otherwise it is ignored and nothing changes. So the invariant: no sequence of events reaches
`promoted` without `verification_passed` having been applied (the state keeps its `report_id`).
An artifact built with an `autonomy` and a `risk` that let the autopilot promote starts its promotion
itself as soon as it is verified.

The change set the artifact was built for (`changeset_id`, given at the start or later by `linked`)
hears of it: `preflight_started`, `verification_passed` / `verification_failed` and `promoted` are sent on.

A `timeout` or `job_failed` of the current promote attempt retries (at once, or after a backoff) until
`max_attempts`; then the artifact goes back to `verified` with the reason, to be approved again. A
permanent failure goes back at once: the artifact is still good, its promotion is what failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from appliance.contracts.entities import Advisory, ArtifactState, Role
from appliance.contracts.workflow import CancelTimer, Effect, Event, Notify, Send, StepRecord, TriggerJob
from appliance.logic import lane, steps, vulnerabilities
from appliance.logic.autonomy import may_auto_promote
from appliance.logic.machine import Decision, InvalidEvent, Machine, backoff, require

KIND = "artifact"
BUILD_JOB = "build"
PROMOTE_JOB = "promote"
AUTOPILOT = "autopilot"

BUILDING = "building"
BUILT = ArtifactState.BUILT.value
NOT_PROMOTABLE = ArtifactState.NOT_PROMOTABLE.value
VERIFIED = ArtifactState.VERIFIED.value
PROMOTING = "promoting"
PROMOTED = ArtifactState.PROMOTED.value
REJECTED = ArtifactState.REJECTED.value
FINAL = frozenset({PROMOTED, REJECTED})
PHASES = (BUILDING, BUILT, NOT_PROMOTABLE, VERIFIED, PROMOTING, PROMOTED, REJECTED)
REJECTABLE = (BUILDING, BUILT, NOT_PROMOTABLE, VERIFIED)
BY_PEOPLE = ("reject", "promotion_approved")
BY_SYSTEMS = (
    "build_requested",
    "linked",
    "release",
    "built",
    "registered",
    "verification_passed",
    "verification_failed",
    "promoted",
)
EVENTS = frozenset((*BY_PEOPLE, *BY_SYSTEMS, "timeout", "job_failed"))


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    build_timeout_s: int = 1200
    promote_timeout_s: int = 900
    max_attempts: int = 3


class ArtifactRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The artifact as its machine keeps it (`ArtifactState` is the contracts' lifecycle enum)."""

    id: str
    phase: str
    project: str
    app: str
    commit_sha: str
    image: str
    built_at: datetime
    updated_at: datetime
    policy: Policy = Policy()
    digest: str | None = None
    report_id: str | None = None  # the passing verification: set only by `verification_passed`
    approved_by: str | None = None
    attempt: int = 0  # promote attempts so far
    round_start: int = 1  # the first attempt of the current approval
    build_attempt: int = 0
    changeset_id: str | None = None
    autonomy: int = 0
    risk: float | None = None
    preflight_id: str | None = None
    hold: bool = False  # wait for `release` from the change set before preflight
    stage: str = ""  # "merge-request": built from an MR's head, for evidence before the merge; never promoted
    incident_id: str | None = None  # the security incident its scan opened
    reason: str = ""
    steps: tuple[StepRecord, ...] = ()

    @property
    def lifecycle(self) -> ArtifactState:
        if self.phase == BUILDING:
            return ArtifactState.BUILT
        return ArtifactState.VERIFIED if self.phase == PROMOTING else ArtifactState(self.phase)


def _move(
    s: ArtifactRecord, phase: str, now: datetime, step: str, outcome: str, message: str
) -> ArtifactRecord:
    s = msgspec.structs.replace(s, phase=phase, updated_at=now, reason="" if outcome == "ok" else message)
    retries = max(0, s.attempt - s.round_start)
    new = steps.record(s.steps, at=now, step=step, outcome=outcome, message=message, retries=retries)
    return msgspec.structs.replace(s, steps=new)


def _notify(s: ArtifactRecord, what: str, message: str) -> Notify:
    return steps.notify("artifact", s.id, what, message, {"image": s.image})


def _approval(event: Event) -> str | None:
    """Why the promotion may go ahead, or None if this approval does not count."""
    (by,) = require(event, "by")
    if event.data.get("role") == Role.OWNER:
        return f"approved by owner {by}"
    if by != AUTOPILOT:
        return None
    try:
        verdict = may_auto_promote(event.data.get("autonomy", 0), event.data.get("risk"))
    except ValueError as exc:
        raise InvalidEvent(f"event 'promotion_approved': {exc}") from None
    return f"autopilot: {verdict.reason}" if verdict.allowed else None


def _promote(
    s: ArtifactRecord, now: datetime, *, round_start: int, delay: timedelta = timedelta(), why: str = ""
) -> Decision[ArtifactRecord]:
    """Run CI job `promote` (the next attempt) and arm its timeout."""
    attempt = s.attempt + 1
    s = msgspec.structs.replace(s, attempt=attempt, round_start=round_start)
    s = _move(s, PROMOTING, now, PROMOTE_JOB, "waiting" if attempt == round_start else "retry", why)
    params = {"artifact_id": s.id, "app": s.app, "project": s.project, "image": s.image, "env": "production"}
    params |= {"commit_sha": s.commit_sha, "report_id": s.report_id or "", "approved_by": s.approved_by or ""}
    deadline = now + delay + timedelta(seconds=s.policy.promote_timeout_s)
    key = f"{s.id}:{PROMOTE_JOB}:{attempt}"
    job = TriggerJob(key=key, job=PROMOTE_JOB, params=params, delay_s=delay.total_seconds())
    return Decision(s, (job, steps.timer(PROMOTING, attempt, deadline)))


def _retry_or_give_up(
    s: ArtifactRecord, now: datetime, reason: str, *, wait: bool, permanent: bool = False
) -> Decision[ArtifactRecord]:
    """Try the promotion again, or go back to verified with the reason (the evidence still holds)."""
    if not permanent and steps.can_retry(s.attempt, s.round_start, s.policy.max_attempts):
        delay = backoff(s.attempt - s.round_start + 1) if wait else timedelta()
        return _promote(s, now, round_start=s.round_start, delay=delay)
    s = _move(s, VERIFIED, now, PROMOTE_JOB, "failed", reason)
    return Decision(s, (CancelTimer(name=steps.TIMER), _notify(s, f"promotion-failed:{s.attempt}", reason)))


def _to_changeset(s: ArtifactRecord, name: str, data: dict[str, object]) -> tuple[Effect, ...]:
    """Tell the change set this artifact was built for (if any) how it went."""
    if not s.changeset_id:
        return ()
    stage = {"stage": s.stage} if s.stage else {}
    event = Event(name=name, data={**data, **stage, "app": s.app, "artifact_id": s.id})
    return (
        Send(
            kind="changeset",
            instance=s.changeset_id,
            event_id=f"{s.id}:{name}{':' + s.stage if s.stage else ''}",
            event=event,
        ),
    )


def _run_build(
    s: ArtifactRecord, now: datetime, *, delay: timedelta = timedelta()
) -> Decision[ArtifactRecord]:
    attempt = s.build_attempt + 1
    s = msgspec.structs.replace(s, build_attempt=attempt)
    s = _move(s, BUILDING, now, BUILD_JOB, "waiting" if attempt == 1 else "retry", s.commit_sha)
    params = {"artifact_id": s.id, "app": s.app, "project": s.project, "commit_sha": s.commit_sha}
    job = TriggerJob(
        key=f"{s.id}:{BUILD_JOB}:{attempt}", job=BUILD_JOB, params=params, delay_s=delay.total_seconds()
    )
    deadline = now + delay + timedelta(seconds=s.policy.build_timeout_s)
    return Decision(s, (job, steps.timer(BUILDING, attempt, deadline)))


def _build_failed(
    s: ArtifactRecord, now: datetime, reason: str, *, wait: bool, permanent: bool
) -> Decision[ArtifactRecord]:
    if not permanent and steps.can_retry(s.build_attempt, 1, s.policy.max_attempts):
        return _run_build(s, now, delay=backoff(s.build_attempt) if wait else timedelta())
    s = _move(s, REJECTED, now, BUILD_JOB, "failed", reason)
    relay = _to_changeset(s, "verification_failed", {"report_id": "none", "reason": reason})
    return Decision(s, (CancelTimer(name=steps.TIMER), _notify(s, REJECTED, f"rejected: {reason}"), *relay))


def _registered(s: ArtifactRecord, event: Event, now: datetime) -> Decision[ArtifactRecord]:
    """`built {image, digest, vulnerabilities?, scan?}` of the build this artifact waits for: rejected
    if its scan found a blocking vulnerability; else registered, and into preflight (or, held, reported
    to its change set to wait for `release`)."""
    (image,) = require(event, "image")
    digest = event.data.get("digest")
    try:
        blocked = vulnerabilities.blocking(vulnerabilities.findings(event.data.get("vulnerabilities")))
    except ValueError as exc:
        raise InvalidEvent(f"event 'built': {exc}") from None
    scan = str(event.data.get("scan") or "")
    s = msgspec.structs.replace(s, image=str(image), digest=str(digest) if digest else None)
    s = _move(s, BUILT, now, "build", "ok", str(image))
    if blocked:
        return _vulnerable(s, now, blocked)
    if scan:
        s = _move(s, BUILT, now, "scan", "ok", scan)
    s = _move(s, NOT_PROMOTABLE, now, "registry", "ok", str(digest or image))
    effects: tuple[Effect, ...] = (
        CancelTimer(name=steps.TIMER),
        _notify(s, BUILT, f"built from {s.commit_sha}: {s.image}"),
    )
    if s.hold and s.changeset_id:
        return Decision(s, (*effects, *_to_changeset(s, "artifact_built", {})))
    started = _to_preflight(s, now)
    return Decision(started.state, (*effects, *started.effects))


def _vulnerable(s: ArtifactRecord, now: datetime, found: tuple[Advisory, ...]) -> Decision[ArtifactRecord]:
    """Rejected by its scan, before any deploy; a security incident asks the Fix Agent for the bump."""
    reason = f"vulnerable dependency: {vulnerabilities.describe(found)}"
    incident = f"inc-scan-{s.id}"
    s = _move(msgspec.structs.replace(s, incident_id=incident), REJECTED, now, "scan", "failed", reason)
    labels = {"app": s.app, "env": "preflight", "class": "security", "alertname": "VulnerableDependency"}
    alert = Event(
        name="alert_fired",
        data={
            "fingerprint": f"scan:{s.id}",
            "labels": {**labels, "artifact": s.id},
            "annotations": {
                "summary": f"the image scan of {s.id} found {vulnerabilities.describe(found, fixes=True)}"
            },
            "project": s.project,
            "commit_sha": s.commit_sha,
            "advisories": vulnerabilities.as_json(found),
        },
    )
    opened = Send(kind="incident", instance=incident, event_id=f"{s.id}:scan", event=alert)
    relay = _to_changeset(s, "verification_failed", {"report_id": "none", "reason": reason})
    return Decision(
        s, (CancelTimer(name=steps.TIMER), _notify(s, REJECTED, f"rejected: {reason}"), opened, *relay)
    )


def _to_preflight(s: ArtifactRecord, now: datetime) -> Decision[ArtifactRecord]:
    """Queue the preflight run `pf-{id}` of this artifact in its app's lane, and tell the change set."""
    s = msgspec.structs.replace(s, preflight_id=f"pf-{s.id}", hold=False)
    data = {"app": s.app, "artifact_id": s.id, "project": s.project, "commit_sha": s.commit_sha}
    enqueue = Event(
        name="enqueue",
        data={
            "preflight_id": f"pf-{s.id}",
            "project": s.project,
            "app": s.app,
            "started": {**data, "image": s.image},
        },
    )
    preflight = Send(
        kind=lane.KIND, instance=lane.lane_id(s.project, s.app), event_id=f"{s.id}:preflight", event=enqueue
    )
    relay = _to_changeset(s, "preflight_started", {"preflight_id": f"pf-{s.id}"})
    return Decision(s, (preflight, *relay))


def _verified(s: ArtifactRecord, event: Event, now: datetime) -> Decision[ArtifactRecord]:
    (report,) = require(event, "report_id")
    s = msgspec.structs.replace(s, report_id=str(report))
    s = _move(s, VERIFIED, now, "verification", "ok", str(report))
    effects: tuple[Effect, ...] = (_notify(s, VERIFIED, f"verified by report {report}"),)
    effects += _to_changeset(s, "verification_passed", {"report_id": str(report)})
    verdict = may_auto_promote(s.autonomy, s.risk)
    if not verdict.allowed or s.stage:
        return Decision(s, effects)
    s = msgspec.structs.replace(s, approved_by=AUTOPILOT)
    promotion = _promote(s, now, round_start=s.attempt + 1, why=f"autopilot: {verdict.reason}")
    return Decision(promotion.state, (*effects, *promotion.effects))


def _linked(s: ArtifactRecord, event: Event, now: datetime) -> Decision[ArtifactRecord]:
    """The change set this commit came from, learnt late (the push came before the merge event)."""
    changeset = event.data.get("changeset_id")
    if s.stage and event.name == "build_requested" and not event.data.get("stage"):
        # the same commit, now on the default branch (a fast-forward merge): promotable from here on
        s = _move(msgspec.structs.replace(s, stage=""), s.phase, now, "merged", "ok", "on the default branch")
        relays = _to_changeset(s, "verification_passed", {"report_id": s.report_id}) if s.report_id else ()
        return Decision(s, relays)
    if not changeset or s.changeset_id:
        return Decision(s)
    s = msgspec.structs.replace(
        s, changeset_id=str(changeset), autonomy=int(steps.number(event, "autonomy") or s.autonomy),
        risk=steps.number(event, "risk") if event.data.get("risk") is not None else s.risk,
        hold=s.hold or (s.phase == BUILDING and bool(event.data.get("hold"))),  # still in time to wait
    )  # fmt: skip
    s = _move(s, s.phase, now, "linked", "ok", str(changeset))
    effects: tuple[Effect, ...] = ()
    if s.preflight_id:
        effects += _to_changeset(s, "preflight_started", {"preflight_id": s.preflight_id})
    if s.report_id:
        effects += _to_changeset(s, "verification_passed", {"report_id": s.report_id})
    return Decision(s, effects)


def _request(instance: str, event: Event, now: datetime) -> Decision[ArtifactRecord]:
    app, sha, project = (str(v) for v in require(event, "app", "commit_sha", "project"))
    changeset = event.data.get("changeset_id")
    s = ArtifactRecord(
        id=instance,
        phase=BUILDING,
        project=project,
        app=app,
        commit_sha=sha,
        image="",
        built_at=now,
        updated_at=now,
        policy=steps.policy_of(event, Policy),
        changeset_id=str(changeset) if changeset else None,
        autonomy=int(steps.number(event, "autonomy") or 0),
        risk=steps.number(event, "risk"),
        hold=bool(event.data.get("hold")) and bool(changeset),
        stage=str(event.data.get("stage") or ""),
        steps=(StepRecord(at=now, step="build requested", outcome="ok", message=sha),),
    )
    return _run_build(s, now)


def _build(instance: str, event: Event, now: datetime) -> Decision[ArtifactRecord]:
    if event.name == "build_requested":
        return _request(instance, event, now)
    if event.name != "built":
        raise InvalidEvent(f"an artifact starts with 'build_requested' or 'built', not {event.name!r}")
    app, sha, image, project = (str(v) for v in require(event, "app", "commit_sha", "image", "project"))
    s = ArtifactRecord(
        id=instance,
        phase=BUILT,
        project=project,
        app=app,
        commit_sha=sha,
        image=image,
        built_at=now,
        updated_at=now,
        policy=steps.policy_of(event, Policy),
        steps=(StepRecord(at=now, step="build", outcome="ok", message=image),),
    )
    return Decision(s, (_notify(s, BUILT, f"built from {sha}: {image}"),))


def decide(
    state: ArtifactRecord | None, instance: str, event: Event, now: datetime
) -> Decision[ArtifactRecord]:
    if state is None:
        return _build(instance, event, now)
    s, name, ignore = state, event.name, Decision(state)
    if name not in EVENTS:
        raise InvalidEvent(f"artifact has no event {name!r}")
    if s.phase in FINAL:
        return ignore
    if name in ("build_requested", "linked"):
        return _linked(s, event, now)
    if s.phase == BUILDING:
        return _building(s, event, now)
    if name == "release" and s.phase == NOT_PROMOTABLE and s.hold:
        released = _to_preflight(_move(s, s.phase, now, "release", "ok", "its turn in deploy order"), now)
        return released
    if name == "registered" and s.phase == BUILT:
        digest = event.data.get("digest")
        s = msgspec.structs.replace(s, digest=str(digest) if digest else None)
        return Decision(_move(s, NOT_PROMOTABLE, now, "registry", "ok", str(digest or s.image)))
    if name == "verification_passed" and s.phase == NOT_PROMOTABLE:
        return _verified(s, event, now)
    if name in ("verification_failed", "reject") and s.phase in REJECTABLE:
        return _rejected(s, event, now)
    if name == "promotion_approved" and s.phase == VERIFIED and not s.stage:
        why = _approval(event)
        if why is None:
            return ignore  # not an owner, or the autopilot may not: nothing changes
        s = msgspec.structs.replace(s, approved_by=str(event.data["by"]))
        return _promote(s, now, round_start=s.attempt + 1, why=why)
    if name == "promoted" and s.phase == PROMOTING:
        s = _move(s, PROMOTED, now, "promotion", "ok", f"promoted by {s.approved_by}")
        relay = _to_changeset(s, "promoted", {"mr_url": str(event.data.get("mr_url") or "")})
        return Decision(
            s, (CancelTimer(name=steps.TIMER), _notify(s, PROMOTED, "promoted to production"), *relay)
        )
    if name == "timeout" and s.phase == PROMOTING and steps.is_current_timeout(event, PROMOTING, s.attempt):
        waited = steps.minutes(timedelta(seconds=s.policy.promote_timeout_s))
        return _retry_or_give_up(s, now, f"promotion stalled: no promote callback in {waited}", wait=False)
    if name == "job_failed" and s.phase == PROMOTING and require(event, "job")[0] == PROMOTE_JOB:
        if steps.is_stale_failure(event, s.attempt):
            return ignore
        reason = f"promote failed: {event.data.get('reason', 'no reason given')}"
        return _retry_or_give_up(s, now, reason, wait=True, permanent=bool(event.data.get("permanent")))
    return ignore  # late, out of order, or not for this phase


def _rejected(s: ArtifactRecord, event: Event, now: datetime) -> Decision[ArtifactRecord]:
    if event.name == "reject":
        reason = f"rejected by {require(event, 'by')[0]}"
    else:
        report = event.data.get("report_id", "no report")
        reason = f"verification failed ({report}): {event.data.get('reason', 'no reason given')}"
    s = _move(s, REJECTED, now, event.name.replace("_", " "), "failed", reason)
    cancel: tuple[Effect, ...] = (CancelTimer(name=steps.TIMER),) if event.name == "reject" else ()
    relay = _to_changeset(
        s, "verification_failed", {"report_id": str(event.data.get("report_id") or "none"), "reason": reason}
    )
    return Decision(s, (*cancel, _notify(s, REJECTED, f"rejected: {reason}"), *relay))


def _building(s: ArtifactRecord, event: Event, now: datetime) -> Decision[ArtifactRecord]:
    name = event.name
    if name == "built":
        return _registered(s, event, now)
    if name == "timeout" and steps.is_current_timeout(event, BUILDING, s.build_attempt):
        waited = steps.minutes(timedelta(seconds=s.policy.build_timeout_s))
        return _build_failed(s, now, f"stalled: no build callback in {waited}", wait=False, permanent=False)
    if name == "job_failed" and require(event, "job")[0] == BUILD_JOB:
        if steps.is_stale_failure(event, s.build_attempt):
            return Decision(s)
        reason = f"build failed: {event.data.get('reason', 'no reason given')}"
        return _build_failed(s, now, reason, wait=True, permanent=bool(event.data.get("permanent")))
    if name == "reject":
        return _rejected(s, event, now)
    return Decision(s)


MACHINE: Machine[ArtifactRecord] = Machine(
    kind=KIND,
    state_type=ArtifactRecord,
    decide=decide,
    is_final=lambda s: s.phase in FINAL,
    phase=lambda s: s.phase,
)
