"""The Artifact machine: built -> not-promotable -> verified -> promoted, and who may promote."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from appliance.contracts.entities import ArtifactState
from appliance.contracts.workflow import CancelTimer, Event, Notify, Send, StartTimer, TriggerJob
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


REQUESTED = ev("build_requested", app="api", commit_sha="abc1234", project="shop", changeset_id="cs-1")
BUILT_BY_CI = ev("built", image="registry/shop/api:abc1234", digest="sha256:00ff")


def _sends(decision: Decision[ArtifactRecord]) -> dict[tuple[str, str], Event]:
    return {(s.instance, s.event.name): s.event for s in only(decision.effects, Send)}


def test_a_requested_build_runs_ci_then_starts_its_preflight_and_tells_the_change_set() -> None:
    requested = decide(None, REQUESTED)
    assert requested.state.phase == "building"
    [job] = only(requested.effects, TriggerJob)
    assert (job.job, job.key, job.params["commit_sha"]) == ("build", "art-1:build:1", "abc1234")
    built = decide(requested.state, BUILT_BY_CI)
    assert (built.state.phase, built.state.image, built.state.digest) == (
        "not-promotable", "registry/shop/api:abc1234", "sha256:00ff",
    )  # fmt: skip
    sends = _sends(built)
    queued = sends[("lane-shop-api", "enqueue")].data  # the app's preflight lane starts the run in turn
    assert queued["preflight_id"] == "pf-art-1" and queued["started"]["image"] == "registry/shop/api:abc1234"
    assert sends[("cs-1", "preflight_started")].data["preflight_id"] == "pf-art-1"
    passed = decide(built.state, PASSED)
    assert _sends(passed)[("cs-1", "verification_passed")].data == {
        "report_id": "rep-1", "app": "api", "artifact_id": "art-1",
    }  # fmt: skip
    assert passed.state.phase == "verified"  # autonomy 0: an owner must approve


def test_a_failing_build_is_retried_then_rejects_the_artifact() -> None:
    state = decide(None, REQUESTED).state
    failed = decide(state, ev("job_failed", job="build", reason="ci/ tests failed", key="art-1:build:1"))
    [retry] = only(failed.effects, TriggerJob)
    assert retry.key == "art-1:build:2" and retry.delay_s > 0
    state = failed.state
    for attempt in (2, 3):
        state = decide(
            state, ev("job_failed", job="build", reason="tests", key=f"art-1:build:{attempt}")
        ).state
    assert state.phase == "rejected" and "build failed" in state.reason
    permanent = decide(
        decide(None, REQUESTED).state, ev("job_failed", job="build", reason="x", permanent=True)
    )
    assert permanent.state.phase == "rejected"
    assert _sends(permanent)[("cs-1", "verification_failed")].data["reason"] == "build failed: x"


def test_level_two_low_risk_promotes_itself_once_verified_and_higher_risk_waits() -> None:
    low = ev("build_requested", app="api", commit_sha="abc1234", project="shop", autonomy=2, risk=10)
    state = run(low, BUILT_BY_CI)
    promoting = decide(state, PASSED)
    assert (promoting.state.phase, promoting.state.approved_by) == ("promoting", "autopilot")
    assert only(promoting.effects, TriggerJob)[0].job == "promote"
    high = ev("build_requested", app="api", commit_sha="abc1234", project="shop", autonomy=2, risk=80)
    assert decide(run(high, BUILT_BY_CI), PASSED).state.phase == "verified"
    level1 = ev("build_requested", app="api", commit_sha="abc1234", project="shop", autonomy=1, risk=5)
    assert decide(run(level1, BUILT_BY_CI), PASSED).state.phase == "verified"


def test_a_late_link_to_its_change_set_replays_what_it_missed() -> None:
    plain = ev("build_requested", app="api", commit_sha="abc1234", project="shop")
    state = run(plain, BUILT_BY_CI, PASSED)
    linked = decide(state, ev("linked", changeset_id="cs-9"))
    assert set(_sends(linked)) == {("cs-9", "preflight_started"), ("cs-9", "verification_passed")}
    assert decide(linked.state, ev("linked", changeset_id="cs-10")).state == linked.state
    promoted = run(plain, BUILT_BY_CI, PASSED, ev("linked", changeset_id="cs-9"), OWNER, ev("promoted"))
    assert promoted.phase == "promoted" and promoted.changeset_id == "cs-9"


def test_a_held_artifact_reports_its_build_and_enters_preflight_only_when_released() -> None:
    held = ev(
        "build_requested", app="web", commit_sha="abc1234", project="shop", changeset_id="cs-1", hold=True
    )
    built = decide(decide(None, held).state, BUILT_BY_CI)
    assert built.state.phase == "not-promotable"
    assert set(_sends(built)) == {("cs-1", "artifact_built")}
    released = decide(built.state, ev("release", changeset_id="cs-1"))
    assert set(_sends(released)) == {("lane-shop-web", "enqueue"), ("cs-1", "preflight_started")}
    assert decide(released.state, ev("release", changeset_id="cs-1")).state == released.state


def test_an_artifact_of_a_merge_request_head_is_verified_but_never_promoted() -> None:
    head = ev("build_requested", app="api", commit_sha="abc1234", project="shop", changeset_id="cs-1",
              stage="merge-request", autonomy=2, risk=5)  # fmt: skip
    verified = decide(run(head, BUILT_BY_CI), PASSED)
    assert verified.state.phase == "verified" and not only(verified.effects, TriggerJob)  # no auto-promotion
    assert _sends(verified)[("cs-1", "verification_passed")].data["stage"] == "merge-request"
    assert decide(verified.state, OWNER).state == verified.state  # nor by an owner
    landed = decide(verified.state, ev("build_requested", app="api", commit_sha="abc1234", project="shop"))
    assert landed.state.stage == "" and ("cs-1", "verification_passed") in _sends(landed)
    assert decide(landed.state, OWNER).state.phase == "promoting"  # a fast-forward merge: the same commit


FLASK = {"id": "CVE-2018-1000656", "package": "flask", "version": "0.12", "fix_version": "0.12.3",
         "severity": "High"}  # fmt: skip
VULNERABLE = ev(
    "built", image="registry/shop/api:abc1234", digest="sha256:00ff", vulnerabilities=[FLASK],
    scan="Trivy: 1 vulnerability, 1 fixable High/Critical: flask 0.12 (CVE-2018-1000656, High)",
)  # fmt: skip


def test_a_scan_with_a_fixable_high_finding_rejects_the_artifact_and_opens_a_security_incident() -> None:
    rejected = decide(decide(None, REQUESTED).state, VULNERABLE)
    state = rejected.state
    assert (state.phase, state.incident_id) == ("rejected", "inc-scan-art-1")
    assert state.reason == "vulnerable dependency: flask 0.12 (CVE-2018-1000656, High)"
    assert state.steps[-1].step == "scan" and state.steps[-1].outcome == "failed"
    assert CancelTimer(name="step") in rejected.effects
    sends = _sends(rejected)
    assert not [k for k in sends if k[0].startswith("lane-")]  # never deployed to preflight
    alert = sends[("inc-scan-art-1", "alert_fired")].data
    assert alert["fingerprint"] == "scan:art-1" and alert["commit_sha"] == "abc1234"
    assert alert["labels"]["class"] == "security" and alert["labels"]["env"] == "preflight"
    assert alert["advisories"] == [
        {
            "id": "CVE-2018-1000656",
            "package": "flask",
            "version": "0.12",
            "fixed": "0.12.3",
            "severity": "High",
        }
    ]
    assert "fixed in 0.12.3" in alert["annotations"]["summary"]
    assert sends[("cs-1", "verification_failed")].data["reason"] == state.reason
    assert decide(state, VULNERABLE).state == state  # final: a repeat changes nothing


@pytest.mark.parametrize(
    "findings",
    [
        [],
        [{**FLASK, "severity": "Medium"}],  # not severe enough to block
        [{**FLASK, "fix_version": ""}],  # no fix to move to yet
    ],
)
def test_a_clean_scan_or_findings_that_do_not_block_go_on_to_preflight(
    findings: list[dict[str, str]],
) -> None:
    event = ev("built", image="registry/shop/api:abc1234", digest="sha256:00ff", vulnerabilities=findings,
               scan="Trivy: clean")  # fmt: skip
    built = decide(decide(None, REQUESTED).state, event)
    assert (built.state.phase, built.state.incident_id) == ("not-promotable", None)
    assert ("lane-shop-api", "enqueue") in _sends(built)
    assert not [k for k in _sends(built) if k[0].startswith("inc-")]
    assert [s.message for s in built.state.steps if s.step == "scan"] == ["Trivy: clean"]
    without_scan = decide(decide(None, REQUESTED).state, BUILT_BY_CI)  # a CI that asks for no scan
    assert without_scan.state.phase == "not-promotable"
    assert not [s for s in without_scan.state.steps if s.step == "scan"]


def test_malformed_vulnerabilities_are_invalid() -> None:
    with pytest.raises(InvalidEvent, match="scan findings"):
        decide(decide(None, REQUESTED).state, ev("built", image="i", vulnerabilities=[{"id": "x"}]))
