"""The ChangeSet machine: from its merge request, through review and preflight, to production."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest

from appliance.contracts.workflow import CancelTimer, Event, Notify, Send, StartTimer, TriggerJob
from appliance.logic import changeset
from appliance.logic.changeset import ChangeSetState
from appliance.logic.machine import Decision, InvalidEvent
from tests.unit.alphabets import NOW, ev, only

MR_JOB = "create-mr-from-patch"
FEATURE = ev(
    "created", project="shop", title="Add search", origin="feature", branch="cs-1-search", apps=["api"]
)
FROM_INCIDENT = ev(
    "created",
    project="shop",
    title="Raise the memory limit",
    origin="inc-7",
    branch="cs-7-fix-raise-the-memory-limit",
    apps=["checkout"],
    patch_id="patch-1",
    risk=8,
)
OPENED = ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1", status="success")


def decide(state: ChangeSetState | None, event: Event, at: datetime = NOW) -> Decision[ChangeSetState]:
    return changeset.decide(state, "cs-1", event, at)


def run(*events: Event, at: datetime = NOW) -> ChangeSetState:
    state = None
    for event in events:
        state = decide(state, event, at).state
    assert state is not None
    return state


def keys(effects: Iterable[object]) -> list[str]:
    return [e.key for e in effects if isinstance(e, TriggerJob)]


def test_a_feature_change_set_triggers_its_merge_request_job() -> None:
    created = decide(None, FEATURE)
    assert created.state.phase == "proposing"
    [job] = only(created.effects, TriggerJob)
    assert (job.job, job.key) == (MR_JOB, "cs-1:create-mr-from-patch:1")
    assert job.params == {
        "changeset_id": "cs-1",
        "project": "shop",
        "branch": "cs-1-search",
        "title": "Add search",
        "apps": "api",
        "origin": "feature",
    }
    [timer] = only(created.effects, StartTimer)
    assert timer.at == NOW + timedelta(minutes=10)
    assert timer.event == ev("timeout", phase="proposing", attempt=1)


def test_a_change_set_from_an_incident_leaves_the_job_to_the_incident_and_tells_it_of_the_mr() -> None:
    created = decide(None, FROM_INCIDENT)
    assert not only(created.effects, TriggerJob)
    assert only(created.effects, StartTimer)  # the watchdog
    assert (created.state.patch_id, created.state.risk) == ("patch-1", 8.0)
    opened = decide(created.state, OPENED)
    assert opened.state.phase == "open"
    [send] = only(opened.effects, Send)
    assert (send.kind, send.instance, send.event_id) == ("incident", "inc-7", "cs-1:mr_opened")
    assert send.event == ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1")


def test_the_whole_way_to_production() -> None:
    state = run(FEATURE, OPENED)
    assert (state.phase, state.mr_url) == ("open", "http://scm/mr/1")
    approved = decide(state, ev("approved", by="rui", role="reviewer"))
    assert (approved.state.phase, approved.state.approved_by) == ("approved", "rui")
    assert only(approved.effects, Notify)
    state = run(FEATURE, OPENED, ev("approved", by="rui", role="reviewer"), ev("merged", by="olga"))
    assert state.phase == "merged"
    state = decide(state, ev("preflight_started", preflight_id="pf-1")).state
    assert (state.phase, state.preflights) == ("in-preflight", ("pf-1",))
    verified = decide(state, ev("verification_passed", report_id="rep-1"))
    assert (verified.state.phase, verified.state.reports) == ("verified", {"api": "rep-1"})
    promoted = decide(verified.state, ev("promoted"))
    assert promoted.state.phase == "promoted"
    assert changeset.MACHINE.is_final(promoted.state)
    assert CancelTimer(name="step") in promoted.effects


def test_a_viewer_approval_is_recorded_but_not_applied_and_a_repeat_adds_nothing() -> None:
    state = run(FEATURE, OPENED)
    once = decide(state, ev("approved", by="vic", role="viewer"))
    assert once.state.phase == "open"
    assert once.state.approved_by is None
    assert once.effects == ()
    assert (once.state.steps[-1].outcome, once.state.steps[-1].message) == (
        "ignored",
        "approved by vic ignored: a viewer may not decide",
    )
    assert decide(once.state, ev("approved", by="vic", role="viewer")).state == once.state


def test_rejection_by_a_reviewer_is_final_and_by_a_viewer_is_ignored() -> None:
    state = run(FEATURE, OPENED)
    assert decide(state, ev("rejected", by="vic", role="viewer")).state.phase == "open"
    rejected = decide(state, ev("rejected", by="rui", role="reviewer"))
    assert (rejected.state.phase, rejected.state.reason) == ("rejected", "rejected by rui")
    assert decide(rejected.state, ev("approved", by="olga", role="owner")).state == rejected.state


def test_a_merge_in_gitlab_before_an_approval_here_counts_and_is_flagged() -> None:
    state = run(FEATURE, OPENED)
    merged = decide(state, ev("merged", by="mallory"))
    assert merged.state.phase == "merged" and merged.state.unapproved_merge
    assert "merged in GitLab by mallory before an approval here" in merged.state.steps[-2].message
    assert any(n.key == "cs-1:notify:unapproved-merge" for n in only(merged.effects, Notify))
    assert decide(merged.state, ev("merged", by="mallory")).state == merged.state


def test_a_timeout_retries_at_once_with_a_new_key_then_stalls() -> None:
    state = run(FEATURE)
    retried = decide(state, ev("timeout", phase="proposing", attempt=1))
    [job] = only(retried.effects, TriggerJob)
    assert (job.key, job.delay_s) == ("cs-1:create-mr-from-patch:2", 0.0)
    state = decide(retried.state, ev("timeout", phase="proposing", attempt=2)).state
    assert decide(state, ev("timeout", phase="proposing", attempt=2)).state == state  # stale
    stalled = decide(state, ev("timeout", phase="proposing", attempt=3))
    assert stalled.state.phase == "stalled"
    assert stalled.state.reason == "stalled: no merge request callback in 10m"
    assert not only(stalled.effects, TriggerJob)


def test_a_failed_merge_request_job_retries_after_a_backoff_and_a_retry_starts_a_new_round() -> None:
    failure = ev("mr_opened", changeset_id="cs-1", status="failure", detail="conflict")
    state = run(FEATURE)
    retried = decide(state, failure)
    [job] = only(retried.effects, TriggerJob)
    assert job.key == "cs-1:create-mr-from-patch:2"
    assert job.delay_s > 0
    state = run(FEATURE, failure, failure, failure)
    assert (state.phase, state.reason) == ("stalled", "create-mr-from-patch failed: conflict")
    again = decide(state, ev("retry", by="olga"))
    assert again.state.phase == "proposing"
    assert keys(again.effects) == ["cs-1:create-mr-from-patch:4"]
    assert decide(again.state, ev("timeout", phase="proposing", attempt=3)).state == again.state


def test_a_failure_that_names_an_older_attempt_is_stale() -> None:
    state = run(FEATURE, ev("timeout", phase="proposing", attempt=1))
    stale = ev("job_failed", job=MR_JOB, reason="boom", key="cs-1:create-mr-from-patch:1")
    assert decide(state, stale).state == state
    assert decide(state, ev("job_failed", job="build", reason="boom")).state == state


def test_a_late_merge_request_still_opens_a_stalled_change_set() -> None:
    state = run(FEATURE, *(ev("timeout", phase="proposing", attempt=n) for n in (1, 2, 3)))
    assert state.phase == "stalled"
    assert decide(state, OPENED).state.phase == "open"


def test_a_failure_reaching_a_change_set_of_an_incident_is_relayed_to_the_incident() -> None:
    state = run(FROM_INCIDENT)
    failed = decide(state, ev("job_failed", job=MR_JOB, reason="push refused"))
    [relay] = only(failed.effects, Send)
    assert (relay.instance, relay.event_id) == ("inc-7", "cs-1:job_failed:1")
    assert relay.event == ev("job_failed", job=MR_JOB, reason="push refused", permanent=False)
    assert not only(failed.effects, TriggerJob)  # the incident retries, not the change set
    assert failed.state.attempt == 2  # the watchdog keeps step with the incident
    gone = decide(state, ev("job_failed", job=MR_JOB, reason="no repo", permanent=True))
    assert gone.state.phase == "failed"
    assert only(gone.effects, Send)[0].event.data["permanent"] is True


def test_a_change_set_of_several_apps_is_verified_once_every_app_passed() -> None:
    created = ev(
        "created", project="shop", title="Search", origin="feature", branch="cs-1-s", apps=["api", "web"]
    )
    approve = ev("approved", by="olga", role="owner")
    state = run(created, OPENED, approve, ev("merged"), ev("preflight_started", preflight_id="pf-1"))
    state = decide(state, ev("preflight_started", preflight_id="pf-2")).state
    assert state.preflights == ("pf-1", "pf-2")
    half = decide(state, ev("verification_passed", report_id="rep-1", app="api")).state
    assert (half.phase, half.reports) == ("in-preflight", {"api": "rep-1"})
    assert decide(half, ev("verification_passed", report_id="rep-9", app="other")).state == half
    full = decide(half, ev("verification_passed", report_id="rep-2", app="web")).state
    assert (full.phase, full.reports) == ("verified", {"api": "rep-1", "web": "rep-2"})


def test_failing_verification_fails_the_change_set() -> None:
    state = run(
        FEATURE, OPENED, ev("approved", by="olga", role="owner"), ev("merged"), ev("preflight_started")
    )
    failed = decide(state, ev("verification_failed", report_id="rep-4", reason="smoke test failed"))
    assert failed.state.phase == "failed"
    assert failed.state.reason == "verification failed (rep-4): smoke test failed"
    assert only(failed.effects, Notify)


@pytest.mark.parametrize("upto", range(1, 6))
def test_close_ends_any_phase(upto: int) -> None:
    path = (FEATURE, OPENED, ev("approved", by="olga", role="owner"), ev("merged"), ev("preflight_started"))
    closed = decide(run(*path[:upto]), ev("close", by="olga"))
    assert (closed.state.phase, closed.state.reason) == ("closed", "closed by olga")


@pytest.mark.parametrize(
    "event",
    [
        ev("created", project="shop", title="t", origin="feature", branch="b", apps=[]),
        ev("created", project="shop", title="t", origin="feature", branch="b", apps=["api"], risk="high"),
        ev("created", project="shop", title="t", origin="feature", apps=["api"]),
        ev("mr_opened", mr_url="http://scm/mr/1"),
    ],
)
def test_a_malformed_start_is_invalid(event: Event) -> None:
    with pytest.raises(InvalidEvent):
        decide(None, event)


def test_an_unknown_event_is_invalid() -> None:
    with pytest.raises(InvalidEvent, match="no event 'explode'"):
        decide(run(FEATURE), ev("explode"))


def test_rejecting_an_incident_fix_tells_the_incident() -> None:
    state = run(FROM_INCIDENT, OPENED)
    rejected = decide(state, ev("rejected", by="rui", role="reviewer"))
    assert rejected.state.phase == "rejected"
    [relay] = [e for e in rejected.effects if isinstance(e, Send)]
    assert (relay.kind, relay.instance, relay.event.name) == ("incident", state.origin, "fix_rejected")
    assert relay.event.data["by"] == "rui"


def test_an_incident_fix_reaching_production_tells_the_incident() -> None:
    opened = ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1", status="success")
    approved, merged = ev("approved", by="olga", role="owner"), ev("merged", by="olga")
    started, passed = ev("preflight_started", preflight_id="pf-1"), ev("verification_passed", report_id="r1")
    state = run(FROM_INCIDENT, opened, approved, merged, started, passed)
    assert state.phase == "verified"
    promoted = decide(state, ev("promoted"))
    [relay] = only(promoted.effects, Send)
    assert (relay.kind, relay.instance, relay.event.name) == ("incident", "inc-7", "fix_promoted")
    assert promoted.state.phase == "promoted"


def test_a_feature_of_two_apps_releases_them_to_preflight_in_deploy_order() -> None:
    feature = ev("created", project="shop", title="Search", origin="feature", branch="cs-1-search",
                 apps=["api", "web"])  # fmt: skip
    approved = ev("approved", by="olga", role="owner")
    state = run(feature, OPENED, approved, ev("merged", by="olga", app="web"))
    assert (state.phase, state.merged_apps) == ("approved", ("web",))
    web_built = decide(state, ev("artifact_built", app="web", artifact_id="art-web"))
    assert not only(web_built.effects, Send)  # not merged everywhere yet, and web waits for api anyway
    merged = decide(web_built.state, ev("merged", by="olga", app="api"))
    assert merged.state.phase == "merged" and not only(merged.effects, Send)  # api not built yet
    api_built = decide(merged.state, ev("artifact_built", app="api", artifact_id="art-api"))
    [release] = only(api_built.effects, Send)
    assert (release.instance, release.event.name) == ("art-api", "release")
    state = decide(api_built.state, ev("preflight_started", preflight_id="pf-art-api")).state
    web_turn = decide(state, ev("verification_passed", report_id="rep-api", app="api"))
    [release] = only(web_turn.effects, Send)
    assert release.instance == "art-web" and web_turn.state.phase == "in-preflight"
    done = decide(web_turn.state, ev("verification_passed", report_id="rep-web", app="web"))
    assert done.state.phase == "verified" and not only(done.effects, Send)


HEAD = "f" * 40


def test_an_incident_fix_is_preflighted_before_its_merge_and_only_then_approved() -> None:
    opened = decide(run(FROM_INCIDENT), ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1",
                                            status="success", commit_sha=HEAD, autonomy=1))  # fmt: skip
    build = [s for s in only(opened.effects, Send) if s.kind == "artifact"]
    assert [(s.instance, s.event.name, s.event.data["stage"]) for s in build] == [
        (f"art-checkout-{HEAD[:12]}", "build_requested", "merge-request")
    ]
    early = decide(opened.state, ev("approved", by="olga", role="owner"))
    assert early.state.phase == "open" and early.state.steps[-1].outcome == "waiting"  # no evidence yet
    passed = decide(
        early.state, ev("verification_passed", report_id="rep-h", app="checkout", stage="merge-request")
    )
    assert passed.state.head_report == "rep-h" and passed.state.phase == "open"  # level 1: a person approves
    assert passed.state.waiting_for.startswith(
        "an approval by a person: autonomy level 1 does not auto-merge"
    )
    assert decide(passed.state, ev("approved", by="olga", role="owner")).state.phase == "approved"


def test_at_level_two_a_low_risk_fix_is_merged_by_ci_once_its_head_passed_preflight() -> None:
    opened = run(FROM_INCIDENT, ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1", status="success",
                                   commit_sha=HEAD, autonomy=2))  # fmt: skip
    passed = decide(
        opened, ev("verification_passed", report_id="rep-h", app="checkout", stage="merge-request")
    )
    assert (passed.state.phase, passed.state.approved_by) == ("approved", "autopilot")
    [merge] = only(passed.effects, TriggerJob)
    assert (merge.job, merge.params["commit_sha"], merge.params["mr_url"]) == (
        "merge-mr",
        HEAD,
        "http://scm/mr/1",
    )
    risky = ev("created", project="shop", title="Touch payments", origin="inc-8", branch="cs-8-fix-pay",
               apps=["checkout"], patch_id="patch-8", risk=85)  # fmt: skip
    state = run(risky, ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/2", status="success",
                          commit_sha=HEAD, autonomy=2))  # fmt: skip
    held = decide(state, ev("verification_passed", report_id="rep-h", app="checkout", stage="merge-request"))
    assert held.state.phase == "open" and not only(held.effects, TriggerJob)  # high risk: a person decides
    assert held.state.waiting_for == (
        "an approval by a person: auto-merge only low-risk changes; this one has high risk (score 85)"
    )
    approved = decide(held.state, ev("approved", by="olga", role="owner"))
    assert approved.state.phase == "approved" and approved.state.waiting_for == ""


def test_a_fix_that_fails_its_preflight_before_the_merge_fails_the_change_set() -> None:
    opened = run(FROM_INCIDENT, ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1", status="success",
                                   commit_sha=HEAD))  # fmt: skip
    failed = decide(
        opened, ev("verification_failed", report_id="r", stage="merge-request", reason="degraded")
    )
    assert failed.state.phase == "failed" and "failed preflight before its merge" in failed.state.reason


def test_the_autopilots_merge_is_run_again_when_it_times_out_or_fails_then_left_to_a_person() -> None:
    opened = run(FROM_INCIDENT, ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1", status="success",
                                   commit_sha=HEAD, autonomy=2))  # fmt: skip
    approved = decide(
        opened, ev("verification_passed", report_id="rep-h", app="checkout", stage="merge-request")
    )
    assert [t.event.data for t in only(approved.effects, StartTimer)] == [{"phase": "approved", "attempt": 1}]
    timed_out = decide(approved.state, ev("timeout", phase="approved", attempt=1))
    [again] = only(timed_out.effects, TriggerJob)
    assert (again.job, again.key, again.delay_s) == ("merge-mr", "cs-1:merge-mr:2", 0.0)
    failed = decide(timed_out.state, ev("job_failed", job="merge-mr", reason="409", key="cs-1:merge-mr:2"))
    [third] = only(failed.effects, TriggerJob)
    assert third.key == "cs-1:merge-mr:3" and third.delay_s > 0
    assert decide(failed.state, ev("job_failed", job="merge-mr", key="cs-1:merge-mr:2")).state == failed.state
    given_up = decide(failed.state, ev("timeout", phase="approved", attempt=3))
    assert given_up.state.phase == "approved" and not only(given_up.effects, TriggerJob)
    assert "waits for a person to merge it" in given_up.state.steps[-1].message
    merged = decide(given_up.state, ev("merged", by="olga"))
    assert merged.state.phase == "merged"


def test_a_merge_whose_artifact_is_rejected_before_preflight_fails_the_change_set() -> None:
    merged = run(FEATURE, OPENED, ev("approved", by="rui", role="reviewer"), ev("merged", by="olga"))
    assert merged.phase == "merged"
    scanned = decide(merged, ev("verification_failed", report_id="none",
                                reason="vulnerable dependency: flask 0.12 (CVE-2018-1000656, High)"))  # fmt: skip
    assert scanned.state.phase == "failed" and "vulnerable dependency: flask 0.12" in scanned.state.reason
