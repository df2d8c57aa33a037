"""The Preflight machine: one artifact of one app deployed to `<app>-preflight`, verified, judged.

Its `started` comes from the app's lane (lane.py) when the namespace is its turn; any final phase
sends the lane `released`.

Phases, in order (each wait arms the timer `step`):
  deploying   CI job `deploy-preflight` ran (a gitops commit); waiting for `deployed`
  syncing     waiting for Argo CD: `synced {health, revision?}`; "Healthy" (and sync "Synced", if
              given) moves on; "Degraded" (crash loops, failed pulls) fails the run as a failed
              verification would; any other health is recorded and the wait goes on. A `synced`
              for another gitops revision than the one deployed is ignored unless its `images`
              hold the run's image (a later commit elsewhere in the repo); one that arrives while
              deploying is kept and judged once `deployed` names its revision
  verifying   CI job `schedule-verification` ran; waiting for /api/verification/callback
              (`verification_callback {status, report_id}`)
  stalled     a wait ran out of attempts; waiting for a person to `retry` or `close`
  passed      final: sends `verification_passed {report_id}` to the artifact
  failed      final: a failed verification sends `verification_failed` to the artifact and opens an
              incident `inc-{id}` (`alert_fired`, fingerprint `preflight:{id}`, class deploy); a permanent
              CI failure ends here too, without judging the artifact (it is no evidence about it)
  closed      final: `close`

Retries as in steps.py: a timeout retries at once, a job failure after a backoff, each attempt with a
new key `{id}:{job}:{attempt}` (syncing has no job: a retry waits again); then the run stalls. A late
callback for the wait a run stalled in still counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from appliance.contracts.workflow import CancelTimer, Effect, Event, Send, StepRecord, TriggerJob
from appliance.logic import lane, steps
from appliance.logic.machine import Decision, InvalidEvent, Machine, backoff, require

KIND = "preflight"
DEPLOY_JOB = "deploy-preflight"
VERIFY_JOB = "schedule-verification"

DEPLOYING = "deploying"
SYNCING = "syncing"
VERIFYING = "verifying"
STALLED = "stalled"
PASSED = "passed"
FAILED = "failed"
CLOSED = "closed"
FINAL = frozenset({PASSED, FAILED, CLOSED})
PHASES = (DEPLOYING, SYNCING, VERIFYING, STALLED, PASSED, FAILED, CLOSED)
BY_PEOPLE = ("retry", "close")
BY_SYSTEMS = ("started", "deployed", "synced", "verification_callback")
EVENTS = frozenset((*BY_PEOPLE, *BY_SYSTEMS, "timeout", "job_failed"))
ZERO = timedelta()
ITS_IMAGE = "image"  # `early`'s key for a report heard while deploying whose images hold the run's image

# waiting phase -> (the CI job run on entering it, if any; what it waits for)
STEPS: dict[str, tuple[str | None, str]] = {
    DEPLOYING: (DEPLOY_JOB, "deploy callback"),
    SYNCING: (None, "Argo CD sync"),
    VERIFYING: (VERIFY_JOB, "verification callback"),
}


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    deploy_timeout_s: int = 600
    sync_timeout_s: int = 600
    verification_timeout_s: int = 1200
    max_attempts: int = 3

    def timeout(self, phase: str) -> timedelta:
        seconds = {DEPLOYING: self.deploy_timeout_s, SYNCING: self.sync_timeout_s}
        return timedelta(seconds=seconds.get(phase, self.verification_timeout_s))


class PreflightState(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    phase: str
    project: str
    app: str
    artifact_id: str
    commit_sha: str
    started_at: datetime
    updated_at: datetime
    policy: Policy = Policy()
    image: str | None = None
    revision: str = ""
    health: str = ""
    early: dict[str, str] = {}  # gitops revision (or ITS_IMAGE) -> health heard while deploying
    report_id: str | None = None
    incident_id: str | None = None
    attempt: int = 1
    round_start: int = 1
    reason: str = ""
    stalled_in: str | None = None
    steps: tuple[StepRecord, ...] = ()

    @property
    def waiting_for(self) -> str:
        """The wait this run is in, stalled or not."""
        return self.stalled_in if self.phase == STALLED and self.stalled_in else self.phase


def _note(s: PreflightState, now: datetime, step: str, outcome: str, message: str = "") -> PreflightState:
    retries = s.attempt - s.round_start
    new = steps.record(s.steps, at=now, step=step, outcome=outcome, message=message, retries=retries)
    return s if new is s.steps else msgspec.structs.replace(s, steps=new, updated_at=now)


def _job_params(s: PreflightState) -> dict[str, str]:
    params = {"preflight_id": s.id, "app": s.app, "project": s.project, "env": "preflight"}
    params |= {"namespace": f"{s.app}-preflight", "agents_namespace": f"{s.app}-agents"}
    params |= {"artifact_id": s.artifact_id, "commit_sha": s.commit_sha}
    return params | ({"image": s.image} if s.image else {}) | ({"revision": s.revision} if s.revision else {})


def _enter(
    s: PreflightState,
    phase: str,
    now: datetime,
    *,
    attempt: int = 1,
    round_start: int = 1,
    delay: timedelta = ZERO,
) -> Decision[PreflightState]:
    """Move to a waiting phase: run its CI job, if it has one, and arm its timeout."""
    job, waits_for = STEPS[phase]
    s = msgspec.structs.replace(s, phase=phase, attempt=attempt, round_start=round_start, stalled_in=None)
    s = _note(s, now, job or waits_for, "waiting" if attempt == round_start else "retry")
    effects: tuple[Effect, ...] = (steps.timer(phase, attempt, now + delay + s.policy.timeout(phase)),)
    if job:
        key, params = f"{s.id}:{job}:{attempt}", _job_params(s)
        effects = (TriggerJob(key=key, job=job, params=params, delay_s=delay.total_seconds()), *effects)
    return Decision(msgspec.structs.replace(s, reason="", updated_at=now), effects)


def _finish(
    s: PreflightState, phase: str, now: datetime, reason: str, *sends: Send
) -> Decision[PreflightState]:
    s = msgspec.structs.replace(s, phase=phase, updated_at=now, reason=reason, stalled_in=None)
    s = _note(s, now, phase, "failed" if phase == FAILED else "ok", reason)
    note = steps.notify("preflight", s.id, phase, f"{phase}: {reason}", {"artifact": s.artifact_id})
    released = Event(name="released", data={"preflight_id": s.id, "project": s.project, "app": s.app})
    free = Send(
        kind=lane.KIND, instance=lane.lane_id(s.project, s.app), event_id=f"{s.id}:released", event=released
    )
    return Decision(s, (CancelTimer(name=steps.TIMER), *sends, free, note))


def _retry_or_stall(s: PreflightState, now: datetime, reason: str, *, wait: bool) -> Decision[PreflightState]:
    if steps.can_retry(s.attempt, s.round_start, s.policy.max_attempts):
        delay = backoff(s.attempt - s.round_start + 1) if wait else ZERO
        return _enter(s, s.phase, now, attempt=s.attempt + 1, round_start=s.round_start, delay=delay)
    job, waits_for = STEPS[s.phase]
    s = msgspec.structs.replace(s, phase=STALLED, stalled_in=s.phase, updated_at=now, reason=reason)
    s = _note(s, now, job or waits_for, "stalled", reason)
    note = steps.notify("preflight", s.id, f"stalled:{s.stalled_in}:{s.attempt}", reason)
    return Decision(s, (CancelTimer(name=steps.TIMER), note))


def _to_artifact(s: PreflightState, name: str, data: dict[str, object]) -> Send:
    event = Event(name=name, data={**data, "preflight_id": s.id, "app": s.app})
    return Send(kind="artifact", instance=s.artifact_id, event_id=f"{s.id}:{name}", event=event)


def _verdict(s: PreflightState, event: Event, now: datetime) -> Decision[PreflightState]:
    status, report = (str(v) for v in require(event, "status", "report_id"))
    summary = str(event.data.get("summary") or "")
    s = msgspec.structs.replace(s, report_id=report)
    if status == "passed":
        passed = _to_artifact(s, "verification_passed", {"report_id": report})
        return _finish(s, PASSED, now, f"verified: report {report}", passed)
    if status != "failed":
        raise InvalidEvent(f"verification status must be 'passed' or 'failed', not {status!r}")
    return _failed(s, now, report, summary, f"verification failed: report {report}")


def _sync(s: PreflightState, health: str, sync: str, now: datetime, message: str) -> Decision[PreflightState]:
    s = msgspec.structs.replace(s, health=health)
    if health == "Degraded":
        reason = f"deploy degraded in {s.app}-preflight: {message or 'Argo CD reports Degraded'}"
        s = _note(s, now, "sync", "failed", f"{sync}, {health}")
        return _failed(s, now, "none", reason, reason)
    if health != "Healthy" or sync != "Synced":
        return Decision(_note(s, now, "sync", "waiting", f"{sync}, {health}"))
    return _enter(_note(s, now, "sync", "ok", f"{sync}, {health}"), VERIFYING, now)


def _failed(
    s: PreflightState, now: datetime, report: str, summary: str, reason: str
) -> Decision[PreflightState]:
    """Block the artifact and open an incident for what went wrong in preflight."""
    incident = f"inc-{s.id}"
    labels = {"app": s.app, "env": "preflight", "class": "deploy", "alertname": "PreflightVerificationFailed"}
    alert = Event(
        name="alert_fired",
        data={
            "fingerprint": f"preflight:{s.id}",
            "labels": labels,
            "annotations": {
                "summary": f"preflight verification of {s.artifact_id} failed: {summary or report}"
            },
            "project": s.project,
            "commit_sha": s.commit_sha,
        },
    )
    failed = _to_artifact(s, "verification_failed", {"report_id": report, "reason": summary or "failed"})
    opened = Send(kind="incident", instance=incident, event_id=f"{s.id}:alert_fired", event=alert)
    s = msgspec.structs.replace(s, incident_id=incident)
    return _finish(s, FAILED, now, reason, failed, opened)


def is_its_deploy(s: PreflightState, revision: str, images: object) -> bool:
    """Argo CD's report at `revision` is about this run's deploy: the revision it committed, or a later
    one whose desired state still runs its image (a commit elsewhere in the gitops repo, an agent's
    Job say, moved the revision on without touching preflight)."""
    if not revision or not s.revision or revision == s.revision:
        return True
    return bool(s.image) and isinstance(images, (list, tuple)) and s.image in images


def _start(instance: str, event: Event, now: datetime) -> Decision[PreflightState]:
    if event.name != "started":
        raise InvalidEvent(f"a preflight starts with 'started', not {event.name!r}")
    app, artifact, project, sha = (
        str(v) for v in require(event, "app", "artifact_id", "project", "commit_sha")
    )
    image = event.data.get("image")
    s = PreflightState(
        id=instance,
        phase=DEPLOYING,
        project=project,
        app=app,
        artifact_id=artifact,
        commit_sha=sha,
        started_at=now,
        updated_at=now,
        policy=steps.policy_of(event, Policy),
        image=str(image) if image else None,
        steps=(StepRecord(at=now, step="preflight", outcome="ok", message=f"{app} {artifact}"),),
    )
    return _enter(s, DEPLOYING, now)


def decide(
    state: PreflightState | None, instance: str, event: Event, now: datetime
) -> Decision[PreflightState]:
    if state is None:
        return _start(instance, event, now)
    s, name, ignore = state, event.name, Decision(state)
    if name not in EVENTS:
        raise InvalidEvent(f"preflight has no event {name!r}")
    if s.phase in FINAL or name == "started":
        return ignore
    if name == "close":
        return _finish(s, CLOSED, now, f"closed by {event.data.get('by', 'someone')}")
    if name == "retry":
        if s.phase != STALLED or s.stalled_in is None:
            return ignore
        return _enter(s, s.stalled_in, now, attempt=s.attempt + 1, round_start=s.attempt + 1)
    if name == "timeout":
        if s.phase not in STEPS or not steps.is_current_timeout(event, s.phase, s.attempt):
            return ignore
        waited = f"stalled: no {STEPS[s.phase][1]} in {steps.minutes(s.policy.timeout(s.phase))}"
        return _retry_or_stall(s, now, waited, wait=False)
    if name == "job_failed":
        (job,) = require(event, "job")
        if s.phase not in STEPS or STEPS[s.phase][0] != job or steps.is_stale_failure(event, s.attempt):
            return ignore
        reason = f"{job} failed: {event.data.get('reason', 'no reason given')}"
        if event.data.get("permanent"):
            return _finish(s, FAILED, now, reason)
        return _retry_or_stall(s, now, reason, wait=True)
    if name == "deployed" and s.waiting_for == DEPLOYING:
        revision = str(event.data.get("revision") or "")
        s = _note(msgspec.structs.replace(s, revision=revision), now, "deploy", "ok", revision)
        entered = _enter(s, SYNCING, now)
        early = s.early.get(revision) if revision else None
        early = early or s.early.get(ITS_IMAGE)
        if early:
            heard = _sync(entered.state, early, "Synced", now, "")
            return Decision(heard.state, (*entered.effects, *heard.effects))
        return entered
    if name == "synced":
        (health,) = require(event, "health")
        revision = str(event.data.get("revision") or "")
        if s.waiting_for == DEPLOYING and revision and str(health) in ("Healthy", "Degraded"):
            images = event.data.get("images")
            ours = bool(s.image) and isinstance(images, (list, tuple)) and s.image in images
            return Decision(
                msgspec.structs.replace(s, early={**s.early, ITS_IMAGE if ours else revision: str(health)})
            )
        if s.waiting_for != SYNCING or not is_its_deploy(s, revision, event.data.get("images")):
            return ignore
        sync = str(event.data.get("sync_status") or "Synced")
        return _sync(s, str(health), sync, now, str(event.data.get("message") or ""))
    if name == "verification_callback" and s.waiting_for == VERIFYING:
        return _verdict(s, event, now)
    return ignore  # late, out of order, or not for this phase


MACHINE: Machine[PreflightState] = Machine(
    kind=KIND,
    state_type=PreflightState,
    decide=decide,
    is_final=lambda s: s.phase in FINAL,
    phase=lambda s: s.phase,
)
