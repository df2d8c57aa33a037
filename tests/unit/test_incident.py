"""The Incident machine: the autopilot golden path, retries and stalls, resolution."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest

from appliance.contracts.entities import IncidentClass
from appliance.contracts.workflow import CancelTimer, Effect, Event, Notify, Send, StartTimer, TriggerJob
from appliance.logic import incident
from appliance.logic.incident import IncidentState
from appliance.logic.machine import Decision, InvalidEvent
from tests.unit.alphabets import NOW, ev

FIRING = ev(
    "alert_fired",
    fingerprint="fp-1",
    labels={"app": "checkout", "namespace": "checkout-production", "alertname": "KubePodCrashLooping"},
    annotations={"summary": "checkout crash-loops"},
    project="shop",
)


def decide(state: incident.IncidentState | None, event: Event, at: datetime = NOW) -> Decision[IncidentState]:
    return incident.decide(state, "inc-1", event, at)


def jobs(effects: Iterable[Effect]) -> list[TriggerJob]:
    return [e for e in effects if isinstance(e, TriggerJob)]


def test_the_autopilot_path_goes_from_alert_to_merge_request() -> None:
    opened = decide(None, FIRING)
    assert opened.state.phase == "collecting-evidence"
    assert opened.state.classification == IncidentClass.DEPLOY  # "crashloop" in the alert name
    [collect] = jobs(opened.effects)
    assert collect.job == "schedule-evidence-collector"
    assert collect.key == "inc-1:schedule-evidence-collector:1"
    assert collect.params["target_namespace"] == "checkout-production"
    assert collect.params["agents_namespace"] == "checkout-agents"

    evidence = decide(opened.state, ev("evidence_ready", snapshot_id="snap-1", commit_sha="abc1234"))
    assert evidence.state.phase == "diagnosing"
    [fix] = jobs(evidence.effects)
    assert (fix.job, fix.params["snapshot_id"], fix.params["commit_sha"]) == (
        "build-fix-agent",
        "snap-1",
        "abc1234",
    )

    patched = decide(
        evidence.state, ev("patch_ready", patch_id="patch-1", summary="Raise the memory limit", risk=8)
    )
    assert patched.state.phase == "proposing"
    [send] = [e for e in patched.effects if isinstance(e, Send)]
    assert (send.kind, send.instance, send.event.name) == ("changeset", "cs-1", "created")
    assert send.event.data["origin"] == "inc-1"
    assert send.event.data["branch"] == "cs-1-fix-raise-the-memory-limit"
    assert send.event.data["apps"] == ["checkout"]
    [mr_job] = jobs(patched.effects)
    assert (mr_job.job, mr_job.params["changeset_id"], mr_job.params["patch_id"]) == (
        "create-mr-from-patch",
        "cs-1",
        "patch-1",
    )

    proposed = decide(patched.state, ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/7"))
    assert proposed.state.phase == "proposed"
    assert proposed.state.mr_url == "http://scm/mr/7"
    assert CancelTimer(name="step") in proposed.effects
    assert [s.step for s in proposed.state.steps] == [
        "alert",
        "schedule-evidence-collector",
        "evidence",
        "build-fix-agent",
        "fix",
        "create-mr-from-patch",
        "merge request",
    ]


def test_a_timeout_retries_with_a_new_key_then_stalls_with_its_reason() -> None:
    state = decide(None, FIRING).state
    keys = []
    for attempt in (1, 2):
        decision = decide(
            state, ev("timeout", phase="collecting-evidence", attempt=attempt), NOW + timedelta(minutes=10)
        )
        [job] = jobs(decision.effects)
        keys.append(job.key)
        [timer] = [e for e in decision.effects if isinstance(e, StartTimer)]
        assert timer.event.data == {"phase": "collecting-evidence", "attempt": attempt + 1}
        state = decision.state
    assert keys == ["inc-1:schedule-evidence-collector:2", "inc-1:schedule-evidence-collector:3"]
    stalled = decide(state, ev("timeout", phase="collecting-evidence", attempt=3))
    assert stalled.state.phase == "stalled"
    assert stalled.state.reason == "stalled: no evidence callback in 10m"
    assert stalled.state.stalled_in == "collecting-evidence"
    assert not jobs(stalled.effects)
    assert any(isinstance(e, Notify) for e in stalled.effects)


def test_a_stale_timeout_is_ignored() -> None:
    state = decide(None, FIRING).state
    assert decide(state, ev("timeout", phase="collecting-evidence", attempt=2)).state == state
    assert decide(state, ev("timeout", phase="diagnosing", attempt=1)).state == state


def test_alert_resolved_resolves_and_nothing_moves_it_afterwards() -> None:
    state = decide(None, FIRING).state
    resolved = decide(state, ev("alert_resolved"))
    assert resolved.state.phase == "resolved"
    assert CancelTimer(name="step") in resolved.effects
    assert decide(resolved.state, ev("evidence_ready", snapshot_id="snap-1")).state == resolved.state


def test_a_permanent_job_failure_stalls_at_once_for_a_person() -> None:
    state = decide(None, FIRING).state
    failure = ev("job_failed", job="schedule-evidence-collector", reason="no such job", permanent=True)
    stalled = decide(state, failure)
    assert stalled.state.phase == "stalled"
    assert stalled.state.reason == "schedule-evidence-collector failed: no such job"
    assert not jobs(stalled.effects)


def test_a_late_callback_is_ignored_and_the_same_alert_is_grouped() -> None:
    state = decide(decide(None, FIRING).state, ev("evidence_ready", snapshot_id="snap-1")).state
    assert decide(state, ev("evidence_ready", snapshot_id="snap-2")).state == state
    assert decide(state, FIRING).state == state


def test_retry_from_stalled_tries_again_with_a_fresh_key() -> None:
    state = decide(None, FIRING).state
    for attempt in (1, 2, 3):
        state = decide(state, ev("timeout", phase="collecting-evidence", attempt=attempt)).state
    assert state.phase == "stalled"
    again = decide(state, ev("retry", by="ann"))
    assert again.state.phase == "collecting-evidence"
    [job] = jobs(again.effects)
    assert job.key not in {f"inc-1:schedule-evidence-collector:{n}" for n in (1, 2, 3)}


def _proposed() -> IncidentState:
    state = decide(None, FIRING).state
    state = decide(state, ev("evidence_ready", snapshot_id="snap-1")).state
    state = decide(state, ev("patch_ready", patch_id="patch-1", summary="Add DATABASE_URL")).state
    return decide(state, ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1")).state


def test_a_retry_opens_a_whole_new_round_of_attempts() -> None:
    state = decide(None, FIRING).state
    for attempt in (1, 2, 3):
        state = decide(state, ev("timeout", phase="collecting-evidence", attempt=attempt)).state
    assert state.phase == "stalled"
    state = decide(state, ev("retry", by="ann")).state
    assert (state.phase, state.attempt, state.round_start) == ("collecting-evidence", 4, 4)
    retried = decide(state, ev("timeout", phase="collecting-evidence", attempt=4))
    assert retried.state.phase == "collecting-evidence"  # the new round has its own max_attempts
    assert [j.key for j in jobs(retried.effects)] == ["inc-1:schedule-evidence-collector:5"]


def test_a_late_failure_of_an_earlier_attempt_is_stale() -> None:
    state = decide(None, FIRING).state
    state = decide(state, ev("timeout", phase="collecting-evidence", attempt=1)).state
    late = ev(
        "job_failed",
        job="schedule-evidence-collector",
        reason="boom",
        key="inc-1:schedule-evidence-collector:1",
    )
    assert decide(state, late).state == state


def test_a_late_merge_request_still_counts_after_the_wait_stalled() -> None:
    state = decide(None, FIRING).state
    state = decide(state, ev("evidence_ready", snapshot_id="snap-1")).state
    state = decide(state, ev("patch_ready", patch_id="patch-1", summary="fix")).state
    failed = ev("job_failed", job="create-mr-from-patch", reason="no such job", permanent=True)
    state = decide(state, failed).state
    assert (state.phase, state.stalled_in) == ("stalled", "proposing")
    opened = decide(state, ev("mr_opened", changeset_id=state.changeset_id, mr_url="http://scm/mr/7"))
    assert (opened.state.phase, opened.state.mr_url) == ("proposed", "http://scm/mr/7")


def test_a_rejected_fix_stalls_and_a_retry_asks_for_a_new_fix_in_a_new_change_set() -> None:
    state = _proposed()
    rejected = decide(state, ev("fix_rejected", changeset_id="cs-1", by="rui")).state
    assert (rejected.phase, rejected.reason) == ("stalled", "fix rejected by rui")
    again = decide(rejected, ev("retry", by="ann"))
    [job] = jobs(again.effects)
    assert job.job == "build-fix-agent"
    assert job.key not in {f"inc-1:build-fix-agent:{n}" for n in range(1, 4)}  # never a key used before
    second = decide(again.state, ev("patch_ready", patch_id="patch-2", summary="another fix"))
    [send] = [e for e in second.effects if isinstance(e, Send)]
    assert send.instance == "cs-1-2"
    assert send.instance != state.changeset_id


def test_the_merge_request_job_gets_the_branch_and_title_and_a_promoted_fix_resolves() -> None:
    state = decide(None, FIRING).state
    state = decide(state, ev("evidence_ready", snapshot_id="snap-1", commit_sha="abc1234")).state
    patched = decide(state, ev("patch_ready", patch_id="patch-1", summary="Set SHOP_DB_URL", risk=8))
    [mr_job] = jobs(patched.effects)
    assert mr_job.params["branch"] == "cs-1-fix-set-shop-db-url"
    assert (mr_job.params["title"], mr_job.params["apps"], mr_job.params["origin"]) == (
        "Set SHOP_DB_URL", "checkout", "inc-1",
    )  # fmt: skip
    proposed = decide(patched.state, ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/7")).state
    assert decide(proposed, ev("fix_promoted", changeset_id="cs-1")).state.phase == "resolved"
    assert decide(patched.state, ev("fix_promoted", changeset_id="cs-1")).state == patched.state  # too early


def test_the_fix_branch_is_named_by_the_patch_slug_when_it_has_one() -> None:
    state = decide(decide(None, FIRING).state, ev("evidence_ready", snapshot_id="snap-1")).state
    summary = (
        "shop-api was OOMKilled (memory limit 16Mi): memory limit 16Mi -> 32Mi in deploy/deployment.yaml"
    )
    patched = decide(
        state, ev("patch_ready", patch_id="patch-1", summary=summary, slug="raise-memory-limit-32mi")
    )
    assert patched.state.branch == "cs-1-fix-raise-memory-limit-32mi"
    assert patched.state.fix_title == summary  # the title still says it all


LAST_GOOD = {"artifact_id": "art-checkout-aaa", "image": "reg/shop/checkout:aaa", "commit_sha": "a" * 40,
             "report_id": "rep-1"}  # fmt: skip


def test_at_level_three_a_production_incident_rolls_back_to_the_last_good_release_once() -> None:
    opened = decide(None, ev(FIRING.name, **FIRING.data, autonomy=3, last_good=LAST_GOOD))
    rollback, collect = jobs(opened.effects)
    assert (rollback.job, rollback.key) == ("rollback", "inc-1:rollback:1")
    assert (
        rollback.params["artifact_id"] == "art-checkout-aaa"
        and rollback.params["image"] == "reg/shop/checkout:aaa"
    )
    assert collect.job == "schedule-evidence-collector"  # the fix is worked on all the same
    assert opened.state.rollback == "requested"
    assert opened.state.steps[-2].step == "rollback" and "autonomy level 3" in opened.state.steps[-2].message
    done = decide(opened.state, ev("rolled_back", revision="g7", mr_url="http://scm/gitops/mr/3"))
    assert done.state.rollback == "done" and done.state.phase == "collecting-evidence"
    assert opened.state.rolled_back_at is None and done.state.rolled_back_at is not None
    assert done.state.rollback_to is not None and done.state.rollback_to.artifact_id == "art-checkout-aaa"
    assert done.state.steps[-1].message == "production rolled back: http://scm/gitops/mr/3"
    assert [e for e in done.effects if isinstance(e, Notify)]
    again = decide(done.state, ev("rolled_back", revision="g7"))
    assert again.state == done.state and not again.effects


def test_below_level_three_or_outside_production_there_is_no_rollback_and_the_reason_says_why() -> None:
    at_two = decide(None, ev(FIRING.name, **FIRING.data, autonomy=2, last_good=LAST_GOOD))
    assert [j.job for j in jobs(at_two.effects)] == ["schedule-evidence-collector"]
    assert at_two.state.rollback == "skipped"
    assert "no rollback: autonomy level 2 does not roll back in production" in at_two.state.steps[-2].message
    nothing_earlier = decide(None, ev(FIRING.name, **FIRING.data, autonomy=3))
    assert nothing_earlier.state.rollback == "skipped"
    assert "no earlier verified release" in nothing_earlier.state.steps[-2].message
    labels = {**FIRING.data["labels"], "env": "preflight", "namespace": "checkout-preflight"}
    in_preflight = decide(
        None, ev(FIRING.name, **{**FIRING.data, "labels": labels}, autonomy=3, last_good=LAST_GOOD)
    )
    assert in_preflight.state.rollback == "" and [j.job for j in jobs(in_preflight.effects)] == [
        "schedule-evidence-collector"
    ]


def test_a_failed_rollback_is_recorded_and_not_retried() -> None:
    opened = decide(None, ev(FIRING.name, **FIRING.data, autonomy=3, last_good=LAST_GOOD))
    failed = decide(
        opened.state, ev("job_failed", job="rollback", reason="merge conflict", key="inc-1:rollback:1")
    )
    assert failed.state.rollback == "failed" and failed.state.phase == "collecting-evidence"
    assert failed.state.rolled_back_at is None  # production still runs what it ran
    assert failed.state.steps[-1].message == "rollback failed: merge conflict" and not jobs(failed.effects)


ADVISORY = {
    "id": "CVE-2018-1000656",
    "package": "flask",
    "version": "0.12",
    "fixed": "0.12.3",
    "severity": "High",
}
SCANNED = ev(
    "alert_fired",
    fingerprint="scan:art-shop-api-abc",
    labels={"app": "shop-api", "env": "preflight", "class": "security", "alertname": "VulnerableDependency"},
    annotations={"summary": "the image scan found flask 0.12"},
    project="shop",
    commit_sha="abc1234",
    advisories=[ADVISORY],
)


def test_a_scan_incident_passes_its_advisories_to_the_evidence_and_keeps_the_scanned_commit() -> None:
    opened = decide(None, SCANNED)
    assert opened.state.classification == IncidentClass.SECURITY
    assert opened.state.namespace == "shop-api-preflight" and opened.state.source_sha == "abc1234"
    [collect] = jobs(opened.effects)
    assert collect.job == "schedule-evidence-collector" and collect.params["commit_sha"] == "abc1234"
    assert json.loads(collect.params["advisories"]) == [ADVISORY]
    # the namespace runs an older release: its commit is not the one to fix
    diagnosing = decide(opened.state, ev("evidence_ready", snapshot_id="snap-1", commit_sha="0123abc"))
    assert diagnosing.state.source_sha == "abc1234"
    [fix] = jobs(diagnosing.effects)
    assert fix.params["commit_sha"] == "abc1234" and "advisories" not in fix.params
    plain = decide(
        decide(None, FIRING).state, ev("evidence_ready", snapshot_id="snap-1", commit_sha="0123abc")
    )
    assert plain.state.source_sha == "0123abc"  # any other incident: the evidence names the commit
    assert "advisories" not in jobs(decide(None, FIRING).effects)[0].params


def test_malformed_advisories_are_invalid() -> None:
    with pytest.raises(InvalidEvent, match="advisories"):
        decide(None, ev("alert_fired", fingerprint="fp", labels={"app": "a"}, advisories=[{"id": "x"}]))
