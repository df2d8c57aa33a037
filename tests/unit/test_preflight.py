"""The Preflight machine: deploy to preflight, wait for Argo CD, verify, judge the artifact."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from appliance.contracts.workflow import CancelTimer, Event, Notify, Send, StartTimer, TriggerJob
from appliance.logic import preflight
from appliance.logic.machine import Decision, InvalidEvent
from appliance.logic.preflight import PreflightState
from tests.unit.alphabets import NOW, ev, only

STARTED = ev(
    "started", app="api", artifact_id="art-1", project="shop", commit_sha="abc1234", image="reg/api:abc"
)
DEPLOYED = ev("deployed", revision="r1")
HEALTHY = ev("synced", health="Healthy", sync_status="Synced")


def decide(state: PreflightState | None, event: Event, at: datetime = NOW) -> Decision[PreflightState]:
    return preflight.decide(state, "pf-1", event, at)


def run(*events: Event) -> PreflightState:
    state = None
    for event in events:
        state = decide(state, event).state
    assert state is not None
    return state


def test_deploy_sync_verify_pass_tells_the_artifact() -> None:
    started = decide(None, STARTED)
    assert started.state.phase == "deploying"
    [deploy] = only(started.effects, TriggerJob)
    assert (deploy.job, deploy.key) == ("deploy-preflight", "pf-1:deploy-preflight:1")
    assert deploy.params["namespace"] == "api-preflight"
    assert deploy.params["image"] == "reg/api:abc"
    deployed = decide(started.state, DEPLOYED)
    assert deployed.state.phase == "syncing"
    assert not only(deployed.effects, TriggerJob)  # Argo CD applies, not PathOps
    [timer] = only(deployed.effects, StartTimer)
    assert timer.event == ev("timeout", phase="syncing", attempt=1)
    synced = decide(deployed.state, HEALTHY)
    assert synced.state.phase == "verifying"
    [verify] = only(synced.effects, TriggerJob)
    assert (verify.job, verify.key) == ("schedule-verification", "pf-1:schedule-verification:1")
    assert verify.params["revision"] == "r1"
    passed = decide(synced.state, ev("verification_callback", status="passed", report_id="rep-1"))
    assert passed.state.phase == "passed"
    send, free = only(passed.effects, Send)
    assert (free.instance, free.event.name) == ("lane-shop-api", "released")  # the next run may deploy
    assert (send.kind, send.instance, send.event_id) == ("artifact", "art-1", "pf-1:verification_passed")
    assert send.event == ev("verification_passed", report_id="rep-1", preflight_id="pf-1", app="api")
    assert CancelTimer(name="step") in passed.effects


def test_failing_verification_rejects_the_artifact_and_opens_an_incident() -> None:
    state = run(STARTED, DEPLOYED, HEALTHY)
    failed = decide(
        state, ev("verification_callback", status="failed", report_id="rep-2", summary="5xx on /pay")
    )
    assert (failed.state.phase, failed.state.incident_id) == ("failed", "inc-pf-1")
    to_artifact, to_incident, _free = only(failed.effects, Send)
    assert (to_artifact.instance, to_artifact.event.name) == ("art-1", "verification_failed")
    assert to_artifact.event.data["report_id"] == "rep-2"
    assert (to_incident.kind, to_incident.instance, to_incident.event.name) == (
        "incident",
        "inc-pf-1",
        "alert_fired",
    )
    assert to_incident.event.data["fingerprint"] == "preflight:pf-1"
    assert to_incident.event.data["labels"] == {
        "app": "api",
        "env": "preflight",
        "class": "deploy",
        "alertname": "PreflightVerificationFailed",
    }
    assert only(failed.effects, Notify)


@pytest.mark.parametrize(
    "report",
    [
        ev("synced", health="Progressing", sync_status="Synced"),
        ev("synced", health="Healthy", sync_status="OutOfSync"),
    ],
)
def test_a_sync_that_is_not_healthy_yet_is_noted_and_the_wait_goes_on(report: Event) -> None:
    state = run(STARTED, DEPLOYED)
    noted = decide(state, report)
    assert noted.state.phase == "syncing"
    assert noted.state.health == report.data["health"]
    assert noted.effects == ()
    assert decide(noted.state, report).state == noted.state


def test_waits_retry_with_new_keys_then_stall_and_a_person_can_retry() -> None:
    state = run(STARTED)
    state = decide(state, ev("timeout", phase="deploying", attempt=1), NOW + timedelta(minutes=10)).state
    failed = decide(state, ev("job_failed", job="deploy-preflight", reason="502", attempt=2))
    [job] = only(failed.effects, TriggerJob)
    assert job.key == "pf-1:deploy-preflight:3"
    assert job.delay_s > 0
    stalled = decide(failed.state, ev("timeout", phase="deploying", attempt=3))
    assert (stalled.state.phase, stalled.state.stalled_in) == ("stalled", "deploying")
    assert stalled.state.reason == "stalled: no deploy callback in 10m"
    again = decide(stalled.state, ev("retry", by="olga"))
    assert [j.key for j in only(again.effects, TriggerJob)] == ["pf-1:deploy-preflight:4"]


def test_a_late_callback_still_counts_for_the_stalled_wait() -> None:
    state = run(STARTED, DEPLOYED, HEALTHY, *(ev("timeout", phase="verifying", attempt=n) for n in (1, 2, 3)))
    assert (state.phase, state.stalled_in) == ("stalled", "verifying")
    assert decide(state, DEPLOYED).state == state  # not the wait it stalled in
    assert (
        decide(state, ev("verification_callback", status="passed", report_id="rep-1")).state.phase == "passed"
    )


def test_a_syncing_wait_retries_without_a_job() -> None:
    state = run(STARTED, DEPLOYED)
    retried = decide(state, ev("timeout", phase="syncing", attempt=1))
    assert (retried.state.phase, retried.state.attempt) == ("syncing", 2)
    assert not only(retried.effects, TriggerJob)
    stalled = run(STARTED, DEPLOYED, *(ev("timeout", phase="syncing", attempt=n) for n in (1, 2, 3)))
    assert stalled.reason == "stalled: no Argo CD sync in 10m"


def test_a_permanent_ci_failure_fails_the_run_without_judging_the_artifact() -> None:
    failed = decide(
        run(STARTED), ev("job_failed", job="deploy-preflight", reason="no gitops repo", permanent=True)
    )
    assert failed.state.phase == "failed"
    assert [s.kind for s in only(failed.effects, Send)] == ["lane"]  # nothing to the artifact


def test_close_ends_the_run() -> None:
    closed = decide(run(STARTED, DEPLOYED), ev("close", by="olga"))
    assert closed.state.phase == "closed"
    assert decide(closed.state, HEALTHY).state == closed.state


@pytest.mark.parametrize(
    ("state_events", "event"),
    [
        ((), ev("started", app="api", project="shop", commit_sha="abc")),
        ((STARTED, DEPLOYED, HEALTHY), ev("verification_callback", status="maybe", report_id="rep-1")),
        ((STARTED, DEPLOYED), ev("synced", sync_status="Synced")),
        ((STARTED,), ev("deploy")),
    ],
)
def test_malformed_events_are_invalid(state_events: tuple[Event, ...], event: Event) -> None:
    with pytest.raises(InvalidEvent):
        decide(run(*state_events) if state_events else None, event)


def test_a_degraded_deploy_fails_the_run_and_opens_a_deploy_incident() -> None:
    state = run(STARTED, DEPLOYED)
    degraded = decide(state, ev("synced", health="Degraded", sync_status="Synced", revision="r1",
                                message="back-off restarting failed container"))  # fmt: skip
    assert degraded.state.phase == "failed"
    assert "deploy degraded in api-preflight" in degraded.state.reason
    sends = {s.kind: s for s in only(degraded.effects, Send)}
    assert sends["artifact"].event.name == "verification_failed"
    incident = sends["incident"]
    assert (incident.instance, incident.event.name) == ("inc-pf-1", "alert_fired")
    assert incident.event.data["labels"]["env"] == "preflight"
    assert incident.event.data["commit_sha"] == "abc1234"


def test_a_later_revision_that_still_runs_the_runs_image_counts_and_one_without_it_does_not() -> None:
    state = run(STARTED, DEPLOYED)
    elsewhere = ev("synced", health="Degraded", revision="r2", images=["reg/api:other"])
    assert decide(state, elsewhere).state == state  # another run's image: not about this deploy
    later = decide(state, ev("synced", health="Healthy", revision="r2", images=["reg/api:abc"]))
    assert later.state.phase == "verifying"
    # heard while deploying, at a revision the deploy callback will not name: kept by the image
    early = run(STARTED, ev("synced", health="Degraded", revision="r2", images=["reg/api:abc"]))
    assert early.phase == "deploying"
    assert decide(early, DEPLOYED).state.phase == "failed"


def test_a_sync_of_another_revision_is_ignored_and_an_early_one_is_kept_until_deployed() -> None:
    state = run(STARTED, DEPLOYED)
    assert decide(state, ev("synced", health="Degraded", revision="r0")).state == state
    early = run(STARTED, ev("synced", health="Healthy", sync_status="Synced", revision="r1"))
    assert early.phase == "deploying"
    deployed = decide(early, DEPLOYED)
    assert deployed.state.phase == "verifying"
    assert [j.job for j in only(deployed.effects, TriggerJob)] == ["schedule-verification"]
