"""The Artifact machine: built -> not-promotable -> verified -> promoted, and who may promote."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from appliance.contracts.entities import ArtifactState
from appliance.contracts.workflow import CancelTimer, Event, Notify, StartTimer, TriggerJob
from appliance.logic import artifact
from appliance.logic.artifact import ArtifactRecord
from appliance.logic.machine import Decision, InvalidEvent
from tests.unit.alphabets import NOW, ev, only

BUILT = ev("built", app="api", commit_sha="abc1234", image="registry/shop/api:abc1234", project="shop")
REGISTERED = ev("registered", digest="sha256:00ff")
PASSED = ev("verification_passed", report_id="rep-1")
OWNER = ev("promotion_approved", by="olga", role="owner")


def decide(state: ArtifactRecord | None, event: Event, at: datetime = NOW) -> Decision[ArtifactRecord]:
    return artifact.decide(state, "art-1", event, at)


def run(*events: Event) -> ArtifactRecord:
    state = None
    for event in events:
        state = decide(state, event).state
    assert state is not None
    return state


def test_the_lifecycle_to_production() -> None:
    built = decide(None, BUILT)
    assert (built.state.phase, built.state.image) == ("built", "registry/shop/api:abc1234")
    state = decide(built.state, REGISTERED).state
    assert (state.phase, state.digest) == ("not-promotable", "sha256:00ff")
    verified = decide(state, PASSED)
    assert (verified.state.phase, verified.state.report_id) == ("verified", "rep-1")
    assert only(verified.effects, Notify)
    promoting = decide(verified.state, OWNER)
    assert promoting.state.phase == "promoting"
    assert promoting.state.lifecycle == ArtifactState.VERIFIED  # people see an internal phase as verified
    [job] = only(promoting.effects, TriggerJob)
    assert (job.job, job.key) == ("promote", "art-1:promote:1")
    assert job.params["report_id"] == "rep-1"
    assert job.params["approved_by"] == "olga"
    [timer] = only(promoting.effects, StartTimer)
    assert timer.at == NOW + timedelta(minutes=15)
    promoted = decide(promoting.state, ev("promoted"))
    assert promoted.state.phase == "promoted"
    assert promoted.state.lifecycle == ArtifactState.PROMOTED
    assert CancelTimer(name="step") in promoted.effects


def test_verification_counts_only_once_registered() -> None:
    state = run(BUILT)
    assert decide(state, PASSED).state == state
    assert run(BUILT, PASSED, OWNER, ev("promoted")).phase == "built"


@pytest.mark.parametrize(
    "approval",
    [
        ev("promotion_approved", by="rui", role="reviewer"),
        ev("promotion_approved", by="vic", role="viewer"),
        ev("promotion_approved", by="autopilot", autonomy=1, risk=5),
        ev("promotion_approved", by="autopilot", autonomy=3, risk=45),
        ev("promotion_approved", by="autopilot", autonomy=3, risk=None),
        ev("promotion_approved", by="autopilot", autonomy=2, risk="medium"),
        ev("promotion_approved", by="mallory", autonomy=3, risk=1),
    ],
)
def test_an_approval_that_does_not_count_changes_nothing(approval: Event) -> None:
    state = run(BUILT, REGISTERED, PASSED)
    assert decide(state, approval) == Decision(state)


@pytest.mark.parametrize("risk", [12, "low"])
def test_the_autopilot_promotes_a_low_risk_artifact_at_level_2(risk: Any) -> None:
    state = run(BUILT, REGISTERED, PASSED)
    promoting = decide(state, ev("promotion_approved", by="autopilot", autonomy=2, risk=risk))
    assert promoting.state.phase == "promoting"
    assert promoting.state.approved_by == "autopilot"


def test_an_approval_before_verification_changes_nothing() -> None:
    for state in (run(BUILT), run(BUILT, REGISTERED)):
        assert decide(state, OWNER).state == state
        assert decide(state, ev("promoted")).state == state


def test_failing_evidence_or_an_owner_rejects() -> None:
    failed = decide(run(BUILT, REGISTERED), ev("verification_failed", report_id="rep-2", reason="5xx"))
    assert (failed.state.phase, failed.state.reason) == ("rejected", "verification failed (rep-2): 5xx")
    rejected = decide(run(BUILT, REGISTERED, PASSED), ev("reject", by="olga"))
    assert (rejected.state.phase, rejected.state.reason) == ("rejected", "rejected by olga")
    assert decide(rejected.state, OWNER).state == rejected.state


def test_a_promotion_that_times_out_retries_then_goes_back_to_verified() -> None:
    state = run(BUILT, REGISTERED, PASSED, OWNER)
    retried = decide(state, ev("timeout", phase="promoting", attempt=1))
    [job] = only(retried.effects, TriggerJob)
    assert (job.key, job.delay_s) == ("art-1:promote:2", 0.0)
    state = decide(retried.state, ev("timeout", phase="promoting", attempt=2)).state
    back = decide(state, ev("timeout", phase="promoting", attempt=3))
    assert back.state.phase == "verified"
    assert back.state.reason == "promotion stalled: no promote callback in 15m"
    assert back.state.report_id == "rep-1"
    again = decide(back.state, OWNER)
    assert [j.key for j in only(again.effects, TriggerJob)] == ["art-1:promote:4"]
    assert decide(again.state, ev("timeout", phase="promoting", attempt=3)).state == again.state  # stale


def test_a_permanent_promote_failure_goes_back_to_verified_at_once() -> None:
    state = run(BUILT, REGISTERED, PASSED, OWNER)
    failed = decide(state, ev("job_failed", job="promote", reason="no gitops repo", permanent=True))
    assert (failed.state.phase, failed.state.reason) == ("verified", "promote failed: no gitops repo")
    retried = decide(state, ev("job_failed", job="promote", reason="502", attempt=1))
    assert retried.state.phase == "promoting"
    assert only(retried.effects, TriggerJob)[0].delay_s > 0
    assert (
        decide(retried.state, ev("job_failed", job="promote", reason="502", attempt=1)).state == retried.state
    )


@pytest.mark.parametrize(
    "event",
    [
        ev("built", app="api", commit_sha="abc1234", project="shop"),
        ev("registered"),
    ],
)
def test_a_malformed_start_is_invalid(event: Event) -> None:
    with pytest.raises(InvalidEvent):
        decide(None, event)


def test_an_autopilot_approval_with_a_level_that_does_not_exist_is_invalid() -> None:
    with pytest.raises(InvalidEvent, match="autonomy level"):
        decide(run(BUILT, REGISTERED, PASSED), ev("promotion_approved", by="autopilot", autonomy=7, risk=1))
