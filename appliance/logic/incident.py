"""The Incident machine: the autopilot golden path (alert -> evidence -> fix proposal -> MR).

Phases, in order:
  collecting-evidence  CI job `schedule-evidence-collector` ran; waiting for /api/evidence/callback
  diagnosing           CI job `build-fix-agent` ran; waiting for /api/fix/callback (or patch-inline)
  proposing            change set created, CI job `create-mr-from-patch` ran; waiting for /webhooks/jenkins
  proposed             the fix MR is open; waiting for people (review), for the alert to resolve,
                       or for the fix to reach production (`fix_promoted` from its change set)
  stalled              a wait ran out of retries; waiting for a person to `retry` or `close`
  resolved | closed   final

Beside the phases, at autonomy level 3 an incident in production rolls production back to its last
verified release when it opens (rollback.py): CI job `rollback`, then `rolled_back`, or a `job_failed`
for it that is recorded, not retried.

Each wait arms the timer `step`; when it fires, the step is tried again (a new attempt, a new
idempotency key) until `max_attempts`, then the incident stalls with a visible reason.

An incident a registry scan opened (artifact.py: `alert_fired` with `advisories`, class security)
passes its advisories to the Evidence Collector (parameter `advisories`, JSON) and keeps the scanned
commit as the source to fix: the namespace the evidence describes runs another release.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from appliance.contracts.entities import Advisory, IncidentClass
from appliance.contracts.workflow import (
    CancelTimer,
    Effect,
    Event,
    Notify,
    Send,
    StepRecord,
    TriggerJob,
)
from appliance.logic import rollback, steps, vulnerabilities
from appliance.logic.classify import classify
from appliance.logic.machine import Decision, InvalidEvent, Machine, backoff, require
from appliance.logic.rollback import LastGood

KIND = "incident"

COLLECTING = "collecting-evidence"
DIAGNOSING = "diagnosing"
PROPOSING = "proposing"
PROPOSED = "proposed"
STALLED = "stalled"
RESOLVED = "resolved"
CLOSED = "closed"
FINAL = frozenset({RESOLVED, CLOSED})
PHASES = (COLLECTING, DIAGNOSING, PROPOSING, PROPOSED, STALLED, RESOLVED, CLOSED)

# phase -> (CI job run on entering it, the callback it waits for, its timeout)
STEPS: dict[str, tuple[str, str]] = {
    COLLECTING: ("schedule-evidence-collector", "evidence callback"),
    DIAGNOSING: ("build-fix-agent", "fix callback"),
    PROPOSING: ("create-mr-from-patch", "merge request callback"),
}


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    evidence_timeout_s: int = 600
    fix_timeout_s: int = 1200
    mr_timeout_s: int = 600
    max_attempts: int = 3
    time_window_s: int = 900

    def timeout(self, phase: str) -> timedelta:
        seconds = {COLLECTING: self.evidence_timeout_s, DIAGNOSING: self.fix_timeout_s}.get(
            phase, self.mr_timeout_s
        )
        return timedelta(seconds=seconds)


class IncidentState(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    phase: str
    project: str
    app: str
    env: str
    namespace: str
    workload: str
    fingerprint: str
    classification: IncidentClass
    labels: dict[str, str]
    summary: str
    opened_at: datetime
    updated_at: datetime
    policy: Policy = Policy()
    attempt: int = 1
    fixes: int = 0  # fix proposals so far (each gets its own change set)
    round_start: int = 1  # the attempt that opened this round of tries (a person's retry opens one)
    snapshot_id: str | None = None
    patch_id: str | None = None
    source_sha: str | None = None
    changeset_id: str | None = None
    branch: str | None = None  # of the current fix proposal
    fix_title: str | None = None
    mr_url: str | None = None
    reason: str = ""
    stalled_in: str | None = None
    rollback: str = rollback.NONE  # what became of a level-3 rollback (rollback.py)
    rollback_to: LastGood | None = None  # the release it went back to
    rolled_back_at: datetime | None = None  # when it was done: production has run `rollback_to` since
    advisories: tuple[Advisory, ...] = ()  # what a registry scan found (an incident the scan opened)
    steps: tuple[StepRecord, ...] = ()


def _record(
    s: IncidentState, now: datetime, step: str, outcome: str, message: str = ""
) -> tuple[StepRecord, ...]:
    return (
        *s.steps,
        StepRecord(at=now, step=step, outcome=outcome, message=message, retries=s.attempt - s.round_start),
    )


def _job_params(s: IncidentState) -> dict[str, str]:
    params = {
        "app": s.app,
        "env": s.env,
        "incident_id": s.id,
        "project": s.project,
        "target_namespace": s.namespace,
        "agents_namespace": f"{s.app}-agents",
        "time_window": str(s.policy.time_window_s),
    }
    if s.snapshot_id:
        params["snapshot_id"] = s.snapshot_id
    if s.source_sha:
        params["commit_sha"] = s.source_sha
    if s.patch_id:
        params["patch_id"] = s.patch_id
    if s.changeset_id:
        params["changeset_id"] = s.changeset_id
    if s.branch:
        params |= {"branch": s.branch, "title": s.fix_title or s.branch, "apps": s.app, "origin": s.id}
    if s.advisories and s.phase == COLLECTING:
        params["advisories"] = msgspec.json.encode(vulnerabilities.as_json(s.advisories)).decode()
    return params


def _enter(
    s: IncidentState,
    phase: str,
    now: datetime,
    *,
    attempt: int = 1,
    round_start: int | None = None,
    delay: timedelta = timedelta(),
) -> Decision[IncidentState]:
    """Move to a waiting phase: run its CI job (attempt `attempt`) and arm its timeout.

    Attempts count up over the incident's whole life, so every trigger has its own idempotency key
    `{id}:{job}:{attempt}` and a late timer or failure of an earlier attempt is recognised as stale.
    """
    job, _ = STEPS[phase]
    s = msgspec.structs.replace(
        s,
        phase=phase,
        attempt=attempt,
        round_start=attempt if round_start is None else round_start,
        updated_at=now,
        reason="",
        stalled_in=None,
    )
    s = msgspec.structs.replace(
        s, steps=_record(s, now, job, "waiting" if attempt == s.round_start else "retry")
    )
    effects: tuple[Effect, ...] = (
        TriggerJob(
            key=f"{s.id}:{job}:{attempt}", job=job, params=_job_params(s), delay_s=delay.total_seconds()
        ),
        steps.timer(phase, attempt, now + delay + s.policy.timeout(phase)),
    )
    return Decision(s, effects)


def _finish(s: IncidentState, phase: str, now: datetime, reason: str) -> Decision[IncidentState]:
    s = msgspec.structs.replace(s, phase=phase, updated_at=now, reason=reason)
    s = msgspec.structs.replace(s, steps=_record(s, now, phase, "ok", reason))
    note = Notify(
        key=f"{s.id}:notify:{phase}", topic="incident", message=f"incident {s.id} {phase}: {reason}"
    )
    return Decision(s, (CancelTimer(name=steps.TIMER), note))


def _stall(s: IncidentState, now: datetime, reason: str) -> Decision[IncidentState]:
    s = msgspec.structs.replace(s, phase=STALLED, stalled_in=s.phase, updated_at=now, reason=reason)
    s = msgspec.structs.replace(
        s, steps=_record(s, now, STEPS[s.stalled_in or COLLECTING][0], "stalled", reason)
    )
    note = Notify(
        key=f"{s.id}:notify:stalled:{s.stalled_in}:{s.attempt}",
        topic="incident",
        message=f"incident {s.id} {reason}",
    )
    return Decision(s, (CancelTimer(name=steps.TIMER), note))


def _retry_or_stall(s: IncidentState, now: datetime, reason: str, *, wait: bool) -> Decision[IncidentState]:
    """Try the step again (after a backoff if it failed; at once if it timed out), or stall."""
    if steps.can_retry(s.attempt, s.round_start, s.policy.max_attempts):
        delay = backoff(s.attempt) if wait else timedelta()
        return _enter(s, s.phase, now, attempt=s.attempt + 1, round_start=s.round_start, delay=delay)
    return _stall(s, now, reason)


def _waiting(s: IncidentState, phase: str) -> bool:
    """Waiting in `phase`, or stalled there: a late callback for a stalled wait still counts."""
    return s.phase == phase or (s.phase == STALLED and s.stalled_in == phase)


def app_and_env(labels: dict[str, str]) -> tuple[str, str]:
    """The app and environment an alert's labels name (production unless they say otherwise)."""
    app = labels.get("app") or labels.get("service") or labels.get("job") or "unknown"
    return app, labels.get("env") or labels.get("environment") or "production"


def _open(instance: str, event: Event, now: datetime) -> Decision[IncidentState]:
    if event.name != "alert_fired":
        raise InvalidEvent(f"an incident starts with 'alert_fired', not {event.name!r}")
    (fingerprint,) = require(event, "fingerprint")
    labels = {str(k): str(v) for k, v in dict(event.data.get("labels") or {}).items()}
    app, env = app_and_env(labels)
    annotations = dict(event.data.get("annotations") or {})
    policy = steps.policy_of(event, Policy)
    try:
        advisories = vulnerabilities.advisories(event.data.get("advisories"))
    except ValueError as exc:
        raise InvalidEvent(f"event 'alert_fired': {exc}") from None
    s = IncidentState(
        id=instance,
        phase=COLLECTING,
        project=str(event.data.get("project") or labels.get("project") or "default"),
        app=app,
        env=env,
        namespace=labels.get("namespace") or f"{app}-{env}",
        workload=labels.get("workload") or labels.get("deployment") or labels.get("pod") or app,
        fingerprint=str(fingerprint),
        classification=classify(labels, annotations),
        labels=labels,
        summary=str(annotations.get("summary") or labels.get("alertname") or "alert"),
        opened_at=now,
        updated_at=now,
        policy=policy,
        source_sha=event.data.get("commit_sha") or labels.get("commit_sha"),
        advisories=advisories,
    )
    s = msgspec.structs.replace(s, steps=(StepRecord(at=now, step="alert", outcome="ok", message=s.summary),))
    plan = rollback.plan(incident_id=s.id, app=s.app, project=s.project, env=s.env, data=dict(event.data))
    effects: tuple[Effect, ...] = ()
    if plan.status != rollback.NONE:
        outcome = "waiting" if plan.status == rollback.REQUESTED else "skipped"
        s = msgspec.structs.replace(
            s,
            rollback=plan.status,
            rollback_to=plan.to,
            steps=_record(s, now, "rollback", outcome, plan.reason),
        )
    if plan.status == rollback.REQUESTED:
        effects = (TriggerJob(key=f"{s.id}:{rollback.JOB}:1", job=rollback.JOB, params=plan.params),)
    entered = _enter(s, COLLECTING, now)
    return Decision(entered.state, (*effects, *entered.effects))


def _rolled_back(s: IncidentState, event: Event, now: datetime) -> Decision[IncidentState]:
    """The rollback's answer: `rolled_back`, or its job's failure (not retried)."""
    if s.rollback != rollback.REQUESTED:
        return Decision(s)
    if event.name == "rolled_back":
        status, outcome = rollback.DONE, "ok"
        message = (
            f"production rolled back: {event.data.get('mr_url') or event.data.get('revision') or ''}".strip()
        )
    else:
        status, outcome = rollback.FAILED, "failed"
        message = f"rollback failed: {event.data.get('reason', 'no reason given')}"
    s = msgspec.structs.replace(
        s,
        rollback=status,
        rolled_back_at=now if status == rollback.DONE else None,
        updated_at=now,
        steps=_record(s, now, "rollback", outcome, message),
    )
    note = Notify(key=f"{s.id}:notify:rollback", topic="incident", message=f"incident {s.id} {message}")
    return Decision(s, (note,))


def decide(
    state: IncidentState | None, instance: str, event: Event, now: datetime
) -> Decision[IncidentState]:
    if state is None:
        return _open(instance, event, now)
    s, name, ignore = state, event.name, Decision(state)
    if s.phase in FINAL:
        return ignore
    if name == "alert_fired":
        return ignore  # the same alert again: grouped into this incident
    if name == "alert_resolved":
        return _finish(s, RESOLVED, now, "alert resolved")
    if name == "close":
        return _finish(s, CLOSED, now, f"closed by {event.data.get('by', 'someone')}")
    if name == "retry":
        if s.phase != STALLED or not s.stalled_in:
            return ignore
        # a new round of tries, with a fresh idempotency key
        return _enter(s, s.stalled_in, now, attempt=s.attempt + 1, round_start=s.attempt + 1)
    if name == "timeout":
        if s.phase not in STEPS or not steps.is_current_timeout(event, s.phase, s.attempt):
            return ignore
        reason = f"stalled: no {STEPS[s.phase][1]} in {steps.minutes(s.policy.timeout(s.phase))}"
        return _retry_or_stall(s, now, reason, wait=False)
    if name == "rolled_back" or (name == "job_failed" and event.data.get("job") == rollback.JOB):
        return _rolled_back(s, event, now)
    if name == "job_failed":
        (job,) = require(event, "job")
        if s.phase not in STEPS or STEPS[s.phase][0] != job or steps.is_stale_failure(event, s.attempt):
            return ignore
        reason = f"{job} failed: {event.data.get('reason', 'no reason given')}"
        if event.data.get("permanent"):
            return _stall(s, now, reason)  # retrying cannot help until a person fixes the cause
        return _retry_or_stall(s, now, reason, wait=True)
    if name == "fix_rejected" and s.phase == PROPOSED:
        s = msgspec.structs.replace(s, phase=DIAGNOSING)  # a retry asks the fix agent again
        return _stall(s, now, f"fix rejected by {event.data.get('by', 'a reviewer')}")
    if name == "evidence_ready" and _waiting(s, COLLECTING):
        (snapshot,) = require(event, "snapshot_id")
        scanned = s.source_sha if s.advisories else None  # the scanned commit, not what the namespace runs
        s = msgspec.structs.replace(
            s, snapshot_id=str(snapshot), source_sha=scanned or event.data.get("commit_sha") or s.source_sha
        )
        s = msgspec.structs.replace(
            s, steps=_record(s, now, "evidence", "ok", str(event.data.get("summary", "")))
        )
        return _enter(s, DIAGNOSING, now, attempt=s.attempt + 1)
    if name == "patch_ready" and _waiting(s, DIAGNOSING):
        (patch,) = require(event, "patch_id")
        summary = str(event.data.get("summary") or "fix")
        changeset = f"cs-{s.id.removeprefix('inc-')}" + (f"-{s.fixes + 1}" if s.fixes else "")
        branch = f"{changeset}-fix-{steps.slug(str(event.data.get('slug') or summary), 'fix')}"
        s = msgspec.structs.replace(
            s,
            patch_id=str(patch),
            changeset_id=changeset,
            fixes=s.fixes + 1,
            branch=branch,
            fix_title=summary,
        )
        s = msgspec.structs.replace(s, steps=_record(s, now, "fix", "ok", summary))
        created = Event(
            name="created",
            data={
                "project": s.project,
                "title": summary,
                "origin": s.id,
                "branch": branch,
                "apps": [s.app],
                "patch_id": str(patch),
                "risk": event.data.get("risk"),
            },
        )
        decision = _enter(s, PROPOSING, now, attempt=s.attempt + 1)
        return Decision(
            decision.state,
            (
                Send(kind="changeset", instance=changeset, event_id=f"{s.id}:created", event=created),
                *decision.effects,
            ),
        )
    if (
        name == "mr_opened"
        and _waiting(s, PROPOSING)
        and event.data.get("changeset_id") in (None, s.changeset_id)
    ):
        (mr_url,) = require(event, "mr_url")
        s = msgspec.structs.replace(s, phase=PROPOSED, mr_url=str(mr_url), updated_at=now)
        s = msgspec.structs.replace(s, steps=_record(s, now, "merge request", "ok", str(mr_url)))
        note = Notify(
            key=f"{s.id}:notify:mr",
            topic="incident",
            message=f"fix MR opened for {s.id}",
            links={"mr": str(mr_url)},
        )
        return Decision(s, (CancelTimer(name=steps.TIMER), note))
    if name == "fix_promoted" and s.phase in (PROPOSED, STALLED):
        return _finish(s, RESOLVED, now, f"fix {event.data.get('changeset_id', '')} promoted to production")
    if name in {"evidence_ready", "patch_ready", "mr_opened", "fix_rejected", "fix_promoted"}:
        return ignore  # late or out of order
    raise InvalidEvent(f"incident has no event {name!r}")


MACHINE: Machine[IncidentState] = Machine(
    kind=KIND,
    state_type=IncidentState,
    decide=decide,
    is_final=lambda s: s.phase in FINAL,
    phase=lambda s: s.phase,
)
