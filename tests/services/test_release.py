"""From a merged fix to production with port doubles: merge -> build -> preflight -> verification ->
promotion, driven by the same webhooks and callbacks CI, GitLab and Argo CD send."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from appliance.bootstrap import Appliance, build
from appliance.contracts.entities import Role
from appliance.contracts.settings import Settings
from appliance.contracts.webhooks import (
    ArgoCdNotification,
    JenkinsCallback,
    ScanFinding,
    VerificationCallback,
)
from appliance.contracts.workflow import Envelope, Event
from appliance.services import actions, callbacks, projects, queries
from appliance.services.access import Principal
from appliance.services.errors import Invalid
from tests.support.doubles import CountingIds, FakeClock, RecordingCi

META = """
name: shop
autonomy: 1
apps:
  - {name: shop-api, kind: api}
environments:
  - {name: agents}
  - {name: preflight, autonomy: 1}
  - {name: production, autonomy: LEVEL}
"""
SHA = "0123456789abcdef0123456789abcdef01234567"
OWNER = Principal(name="olga", role=Role.OWNER)


async def _setup(appliance: Appliance, ci: RecordingCi, *, level: int, risk: int) -> None:
    ctx = appliance.ctx
    await projects.load(ctx, projects.parse_meta(META.replace("LEVEL", str(level))), actor="test")
    created = Event(
        name="created",
        data={"project": "shop", "title": "Set SHOP_DB_URL", "origin": "feature", "branch": "cs-1-fix",
              "apps": ["shop-api"], "risk": risk},
    )  # fmt: skip
    await ctx.engine.submit(
        Envelope(
            id="t:created", instance="cs-1", kind="changeset", at=ctx.clock.now(), actor="t", event=created
        )
    )
    await appliance.dispatcher.tick()
    token = _token(ci, "create-mr-from-patch")
    opened = JenkinsCallback(
        status="success", changeset_id="cs-1", mr_url="http://gitlab/shop/shop-api/-/merge_requests/1"
    )
    await _jenkins(appliance, opened, token)
    await actions.act(ctx, OWNER, kind="changeset", id="cs-1", action="approve")


def _token(ci: Any, job: str) -> str:
    [params] = [p for j, _, p in ci.calls if j == job][-1:]
    return str(params["CALLBACK_TOKEN"])


async def _jenkins(appliance: Appliance, payload: JenkinsCallback, token: str) -> None:
    body = msgspec.json.encode(payload)
    await callbacks.jenkins(appliance.ctx, payload, authorization=f"Bearer {token}", body=body)


def _merge_hook() -> dict[str, Any]:
    return {
        "object_kind": "merge_request",
        "user": {"username": "olga"},
        "project": {"path_with_namespace": "shop/shop-api", "default_branch": "main"},
        "object_attributes": {"id": 11, "action": "merge", "source_branch": "cs-1-fix", "state": "merged",
                              "merge_commit_sha": SHA, "updated_at": "2026-11-28 08:00:00 UTC",
                              "url": "http://gitlab/shop/shop-api/-/merge_requests/1"},
    }  # fmt: skip


async def _state(appliance: Appliance, kind: str, id: str) -> dict[str, Any]:
    return (await queries.instance(appliance.ctx, kind, id)).state


async def _through_preflight(appliance: Appliance, ci: RecordingCi) -> str:
    ctx = appliance.ctx
    await callbacks.gitlab(ctx, "Merge Request Hook", _merge_hook())
    # the push of the merge commit arrives too: it names the same artifact, no second build
    push = {"object_kind": "push", "ref": "refs/heads/main", "after": SHA, "user_username": "olga",
            "project": {"path_with_namespace": "shop/shop-api", "default_branch": "main"}}  # fmt: skip
    await callbacks.gitlab(ctx, "Push Hook", push)
    await appliance.dispatcher.tick()
    art = f"art-shop-api-{SHA[:12]}"
    assert [k for j, k, _ in ci.calls if j == "build"] == [f"{art}:build:1"]
    assert (await _state(appliance, "changeset", "cs-1"))["phase"] == "merged"
    image = "registry/shop/shop-api:0123456789ab"
    built = JenkinsCallback(status="success", job="build", artifact_id=art, image=image, digest="sha256:aa")
    await _jenkins(appliance, built, _token(ci, "build"))
    await appliance.dispatcher.tick()
    assert (await _state(appliance, "artifact", art))["phase"] == "not-promotable"
    assert (await _state(appliance, "changeset", "cs-1"))["phase"] == "in-preflight"
    [deploy] = [p for j, _, p in ci.calls if j == "deploy-preflight"]
    assert (deploy["image"], deploy["preflight_id"]) == (image, f"pf-{art}")
    # Argo CD may report before the deploy callback: the run keeps it for its revision
    healthy = ArgoCdNotification(app="shop-api-preflight", sync_status="Synced", health_status="Healthy",
                                 revision="rev-1", trigger="on-deployed")  # fmt: skip
    await callbacks.argocd(ctx, healthy)
    deployed = JenkinsCallback(
        status="success", job="deploy-preflight", preflight_id=f"pf-{art}", revision="rev-1"
    )
    await _jenkins(appliance, deployed, _token(ci, "deploy-preflight"))
    await appliance.dispatcher.tick()
    assert (await _state(appliance, "preflight", f"pf-{art}"))["phase"] == "verifying"
    passed = VerificationCallback(app_id="shop-api", env="preflight", verification_id=f"pf-{art}",
                                  status="passed", report_id="rep-1")  # fmt: skip
    await callbacks.verification(ctx, passed, authorization=f"Bearer {_token(ci, 'schedule-verification')}",
                                 body=msgspec.json.encode(passed))  # fmt: skip
    await appliance.dispatcher.tick()
    return art


async def test_an_owner_promotes_at_level_one(appliance: Appliance, ci: RecordingCi) -> None:
    await _setup(appliance, ci, level=1, risk=10)
    art = await _through_preflight(appliance, ci)
    assert (await _state(appliance, "artifact", art))["phase"] == "verified"
    assert (await _state(appliance, "changeset", "cs-1"))["phase"] == "verified"
    assert not [j for j, _, _ in ci.calls if j == "promote"]  # waits for an owner
    await actions.act(appliance.ctx, OWNER, kind="artifact", id=art, action="promote")
    await appliance.dispatcher.tick()
    [promote] = [p for j, _, p in ci.calls if j == "promote"]
    assert (promote["approved_by"], promote["report_id"]) == ("olga", "rep-1")
    done = JenkinsCallback(status="success", job="promote", artifact_id=art, mr_url="http://gitlab/mr/2")
    await _jenkins(appliance, done, _token(ci, "promote"))
    assert (await _state(appliance, "artifact", art))["phase"] == "promoted"
    assert (await _state(appliance, "changeset", "cs-1"))["phase"] == "promoted"


async def test_level_two_low_risk_promotes_itself(appliance: Appliance, ci: RecordingCi) -> None:
    await _setup(appliance, ci, level=2, risk=10)
    art = await _through_preflight(appliance, ci)
    state = await _state(appliance, "artifact", art)
    assert (state["phase"], state["approved_by"]) == ("promoting", "autopilot")
    assert [j for j, _, _ in ci.calls].count("promote") == 1


async def test_a_degraded_preflight_blocks_the_artifact_and_opens_an_incident(
    appliance: Appliance, ci: RecordingCi
) -> None:
    await _setup(appliance, ci, level=2, risk=10)
    ctx = appliance.ctx
    await callbacks.gitlab(ctx, "Merge Request Hook", _merge_hook())
    await appliance.dispatcher.tick()
    art = f"art-shop-api-{SHA[:12]}"
    built = JenkinsCallback(status="success", job="build", artifact_id=art, image="r/shop-api:1")
    await _jenkins(appliance, built, _token(ci, "build"))
    await appliance.dispatcher.tick()
    deployed = JenkinsCallback(
        status="success", job="deploy-preflight", preflight_id=f"pf-{art}", revision="rev-2"
    )
    await _jenkins(appliance, deployed, _token(ci, "deploy-preflight"))
    degraded = ArgoCdNotification(app="shop-api-preflight", sync_status="Synced", health_status="Degraded",
                                  revision="rev-2", trigger="on-health-degraded",
                                  message="back-off restarting failed container")  # fmt: skip
    await callbacks.argocd(ctx, degraded)
    await appliance.dispatcher.tick()
    assert (await _state(appliance, "artifact", art))["phase"] == "rejected"
    assert (await _state(appliance, "changeset", "cs-1"))["phase"] == "failed"
    incident = await _state(appliance, "incident", f"inc-pf-{art}")
    assert (incident["namespace"], incident["phase"]) == ("shop-api-preflight", "collecting-evidence")
    [collect] = [p for j, _, p in ci.calls if j == "schedule-evidence-collector"]
    assert collect["commit_sha"] == SHA


async def test_a_vulnerable_build_is_rejected_undeployed_and_its_incident_gets_the_advisories(
    appliance: Appliance, ci: RecordingCi
) -> None:
    await _setup(appliance, ci, level=1, risk=10)
    await callbacks.gitlab(appliance.ctx, "Merge Request Hook", _merge_hook())
    await appliance.dispatcher.tick()
    art = f"art-shop-api-{SHA[:12]}"
    finding = ScanFinding(id="CVE-2018-1000656", package="flask", version="0.12", fix_version="0.12.3",
                          severity="High")  # fmt: skip
    built = JenkinsCallback(status="success", job="build", artifact_id=art, image="r/shop-api:1",
                            vulnerabilities=[finding], scan="Trivy: 1 vulnerability")  # fmt: skip
    await _jenkins(appliance, built, _token(ci, "build"))
    await appliance.dispatcher.tick()
    state = await _state(appliance, "artifact", art)
    assert state["phase"] == "rejected" and state["reason"].startswith("vulnerable dependency: flask 0.12")
    assert not [j for j, _, _ in ci.calls if j == "deploy-preflight"]
    incident = await _state(appliance, "incident", f"inc-scan-{art}")
    assert (incident["classification"], incident["namespace"]) == ("security", "shop-api-preflight")
    [collect] = [p for j, _, p in ci.calls if j == "schedule-evidence-collector"]
    assert collect["commit_sha"] == SHA
    assert json.loads(collect["advisories"]) == [
        {
            "id": "CVE-2018-1000656",
            "package": "flask",
            "version": "0.12",
            "fixed": "0.12.3",
            "severity": "High",
        }
    ]


async def test_a_failed_build_callback_rejects_without_retrying(
    appliance: Appliance, ci: RecordingCi
) -> None:
    await _setup(appliance, ci, level=1, risk=10)
    await callbacks.gitlab(appliance.ctx, "Merge Request Hook", _merge_hook())
    await appliance.dispatcher.tick()
    art = f"art-shop-api-{SHA[:12]}"
    failed = JenkinsCallback(
        status="failure", job="build", artifact_id=art, detail="ci/ tests failed: 2 of 5"
    )
    await _jenkins(appliance, failed, _token(ci, "build"))
    await appliance.dispatcher.tick()
    state = await _state(appliance, "artifact", art)
    assert state["phase"] == "rejected" and "ci/ tests failed" in state["reason"]
    assert [j for j, _, _ in ci.calls].count("build") == 1
    assert json.dumps(state).count("CALLBACK_TOKEN") == 0


async def test_a_build_that_could_not_reach_a_system_is_built_again(
    appliance: Appliance, ci: RecordingCi, clock: FakeClock
) -> None:
    await _setup(appliance, ci, level=1, risk=10)
    await callbacks.gitlab(appliance.ctx, "Merge Request Hook", _merge_hook())
    await appliance.dispatcher.tick()
    art = f"art-shop-api-{SHA[:12]}"
    failed = JenkinsCallback(status="failure", job="build", artifact_id=art, retryable=True,
                             detail="the scan of r/shop-api:1 did not finish in 300s")  # fmt: skip
    await _jenkins(appliance, failed, _token(ci, "build"))
    await appliance.dispatcher.tick()
    state = await _state(appliance, "artifact", art)
    assert state["phase"] == "building" and state["build_attempt"] == 2
    clock.advance(seconds=120)  # past the back-off
    await appliance.dispatcher.tick()
    assert [k for j, k, _ in ci.calls if j == "build"] == [f"{art}:build:1", f"{art}:build:2"]


async def test_a_feature_across_two_apps_is_planned_in_deploy_order(
    appliance: Appliance, ci: RecordingCi, client: Any, owner_token: str
) -> None:
    meta = """
name: shop
apps:
  - {name: shop-frontend, kind: frontend, depends_on: [shop-api]}
  - {name: shop-api, kind: api, depends_on: [postgres]}
components:
  - {name: postgres, kind: postgres}
"""
    await projects.load(appliance.ctx, projects.parse_meta(meta), actor="test")
    auth = {"Authorization": f"Bearer {owner_token}"}
    created = await client.post(
        "/api/features", json={"project": "shop", "title": "Product search"}, headers=auth
    )
    assert created.status_code == 201, created.text
    state = created.json()["state"]
    assert state["apps"] == ["shop-api", "shop-frontend"]  # the API first: the frontend depends on it
    assert state["branch"].endswith("-product-search") and state["origin"] == "feature"
    await appliance.dispatcher.tick()
    [params] = [p for j, _, p in ci.calls if j == "create-mr-from-patch"]
    assert params["apps"] == "shop-api,shop-frontend" and "patch_id" not in params
    unknown = await client.post("/api/features", json={"project": "shop", "title": "x", "apps": ["billing"]},
                                headers=auth)  # fmt: skip
    assert unknown.status_code == 422 and "no app 'billing'" in unknown.text
    missing = await client.post("/api/features", json={"project": "nope", "title": "x"}, headers=auth)
    assert missing.status_code == 404
    anonymous = await client.post("/api/features", json={"project": "shop", "title": "x"})
    assert anonymous.status_code == 401


async def test_a_failed_verification_job_is_retried_and_its_success_is_not_taken_from_ci(
    appliance: Appliance, ci: RecordingCi, clock: FakeClock
) -> None:
    await _setup(appliance, ci, level=1, risk=10)
    ctx = appliance.ctx
    await callbacks.gitlab(ctx, "Merge Request Hook", _merge_hook())
    await appliance.dispatcher.tick()
    art = f"art-shop-api-{SHA[:12]}"
    await _jenkins(appliance, JenkinsCallback(status="success", job="build", artifact_id=art, image="r/a:1"),
                   _token(ci, "build"))  # fmt: skip
    await appliance.dispatcher.tick()
    deployed = JenkinsCallback(
        status="success", job="deploy-preflight", preflight_id=f"pf-{art}", revision="r9"
    )
    await _jenkins(appliance, deployed, _token(ci, "deploy-preflight"))
    healthy = ArgoCdNotification(
        app="shop-api-preflight", health_status="Healthy", sync_status="Synced", revision="r9"
    )
    await callbacks.argocd(ctx, healthy)
    await appliance.dispatcher.tick()
    claimed = JenkinsCallback(status="success", job="schedule-verification", preflight_id=f"pf-{art}")
    with pytest.raises(Invalid, match="through its agent"):  # a CI job's word is no verification
        await _jenkins(appliance, claimed, _token(ci, "schedule-verification"))
    failed = JenkinsCallback(status="failure", job="schedule-verification", preflight_id=f"pf-{art}",
                             detail="git push rejected")  # fmt: skip
    await _jenkins(appliance, failed, _token(ci, "schedule-verification"))
    clock.advance(seconds=60)
    await appliance.dispatcher.tick()
    keys = [k for j, k, _ in ci.calls if j == "schedule-verification"]
    assert keys == [f"pf-{art}:schedule-verification:1", f"pf-{art}:schedule-verification:2"]


async def test_a_merge_push_heard_before_its_merge_request_event_builds_for_the_change_set(
    appliance: Appliance, ci: RecordingCi
) -> None:
    meta = "name: shop\napps:\n  - {name: shop-api}\n  - {name: shop-web, depends_on: [shop-api]}\n"
    await projects.load(appliance.ctx, projects.parse_meta(meta), actor="test")
    created = Event(name="created", data={"project": "shop", "title": "Search", "origin": "feature",
                                          "branch": "cs-2-search", "apps": ["shop-api", "shop-web"]})  # fmt: skip
    ctx = appliance.ctx
    await ctx.engine.submit(
        Envelope(id="t:c2", instance="cs-2", kind="changeset", at=ctx.clock.now(), actor="t", event=created)
    )
    push = {"object_kind": "push", "ref": "refs/heads/main", "after": SHA, "user_username": "olga",
            "project": {"path_with_namespace": "shop/shop-web", "default_branch": "main"},
            "commits": [{"id": SHA, "message": "Merge branch 'cs-2-search' into 'main'\n\nSearch\n"}]}  # fmt: skip
    await callbacks.gitlab(ctx, "Push Hook", push)
    state = await _state(appliance, "artifact", f"art-shop-web-{SHA[:12]}")
    assert (state["changeset_id"], state["hold"]) == ("cs-2", True)


async def test_two_artifacts_of_one_app_take_preflight_in_turn(appliance: Appliance, ci: RecordingCi) -> None:
    """Two commits land close together: the second run deploys only once the first is judged, and the
    first counts Argo CD's report at a later revision whose desired state still runs its image."""
    ctx = appliance.ctx
    await projects.load(ctx, projects.parse_meta(META.replace("LEVEL", "0")), actor="test")
    shas = ["a" * 40, "b" * 40]
    for sha in shas:
        push = {"object_kind": "push", "ref": "refs/heads/main", "after": sha, "user_username": "dev",
                "project": {"path_with_namespace": "shop/shop-api", "default_branch": "main"}}  # fmt: skip
        await callbacks.gitlab(ctx, "Push Hook", push)
    await appliance.dispatcher.tick()
    first, second = (f"art-shop-api-{sha[:12]}" for sha in shas)
    for art in (first, second):
        [params] = [p for j, k, p in ci.calls if j == "build" and k == f"{art}:build:1"]
        built = JenkinsCallback(status="success", job="build", artifact_id=art, image=f"reg/shop-api:{art}")
        await _jenkins(appliance, built, str(params["CALLBACK_TOKEN"]))
    await appliance.dispatcher.tick()
    assert [p["preflight_id"] for j, _, p in ci.calls if j == "deploy-preflight"] == [f"pf-{first}"]
    assert (await _state(appliance, "lane", "lane-shop-shop-api"))["queue"][0][
        "preflight_id"
    ] == f"pf-{second}"

    deployed = JenkinsCallback(
        status="success", job="deploy-preflight", preflight_id=f"pf-{first}", revision="g1"
    )
    await _jenkins(appliance, deployed, _token(ci, "deploy-preflight"))
    other = ArgoCdNotification(app="shop-api-preflight", health_status="Degraded", sync_status="Synced",
                               revision="g2", images=["reg/shop-api:someone-else"])  # fmt: skip
    await callbacks.argocd(ctx, other)
    assert (await _state(appliance, "preflight", f"pf-{first}"))["phase"] == "syncing"
    later = ArgoCdNotification(app="shop-api-preflight", health_status="Healthy", sync_status="Synced",
                               revision="g3", images=[f"reg/shop-api:{first}"])  # fmt: skip
    await callbacks.argocd(ctx, later)
    await appliance.dispatcher.tick()
    assert (await _state(appliance, "preflight", f"pf-{first}"))["phase"] == "verifying"
    passed = VerificationCallback(app_id="shop-api", env="preflight", verification_id=f"pf-{first}",
                                  status="passed", report_id="rep-1")  # fmt: skip
    await callbacks.verification(ctx, passed, authorization=f"Bearer {_token(ci, 'schedule-verification')}",
                                 body=msgspec.json.encode(passed))  # fmt: skip
    await appliance.dispatcher.tick()
    assert (await _state(appliance, "artifact", first))["phase"] == "verified"
    deploys = [p["preflight_id"] for j, _, p in ci.calls if j == "deploy-preflight"]
    assert deploys == [f"pf-{first}", f"pf-{second}"]  # its turn now


async def test_a_merge_in_gitlab_before_an_approval_goes_on_but_waits_for_an_owner_to_promote(
    appliance: Appliance, ci: RecordingCi
) -> None:
    ctx = appliance.ctx
    await projects.load(ctx, projects.parse_meta(META.replace("LEVEL", "2")), actor="test")
    created = Event(name="created", data={"project": "shop", "title": "Set SHOP_DB_URL", "origin": "feature",
                                          "branch": "cs-1-fix", "apps": ["shop-api"], "risk": 10})  # fmt: skip
    await ctx.engine.submit(
        Envelope(
            id="t:created", instance="cs-1", kind="changeset", at=ctx.clock.now(), actor="t", event=created
        )
    )
    await appliance.dispatcher.tick()
    opened = JenkinsCallback(
        status="success", changeset_id="cs-1", mr_url="http://gitlab/shop/shop-api/-/merge_requests/1"
    )
    await _jenkins(appliance, opened, _token(ci, "create-mr-from-patch"))
    art = await _through_preflight(appliance, ci)  # merged in GitLab with no approval here
    changeset = await _state(appliance, "changeset", "cs-1")
    assert changeset["unapproved_merge"] and changeset["phase"] == "verified"
    artifact = await _state(appliance, "artifact", art)
    assert artifact["phase"] == "verified" and artifact["autonomy"] == 1  # level 2 and low risk, yet it waits
    assert not [j for j, _, _ in ci.calls if j == "promote"]


async def test_an_incident_a_preflight_opens_follows_the_settings_policy(
    settings: Settings, ci: RecordingCi, clock: FakeClock
) -> None:
    """Short waits and fewer attempts from the settings hold for every incident, not only an alert's."""
    short = msgspec.structs.replace(settings, evidence_timeout_s=20, max_attempts=2)
    appliance = await build(short, ci=ci, clock=clock, ids=CountingIds())
    try:
        await _setup(appliance, ci, level=1, risk=10)
        ctx = appliance.ctx
        await callbacks.gitlab(ctx, "Merge Request Hook", _merge_hook())
        await appliance.dispatcher.tick()
        art = f"art-shop-api-{SHA[:12]}"
        await _jenkins(appliance, JenkinsCallback(status="success", job="build", artifact_id=art, image="r/a:1"),
                       _token(ci, "build"))  # fmt: skip
        await appliance.dispatcher.tick()
        deployed = JenkinsCallback(
            status="success", job="deploy-preflight", preflight_id=f"pf-{art}", revision="r1"
        )
        await _jenkins(appliance, deployed, _token(ci, "deploy-preflight"))
        await callbacks.argocd(ctx, ArgoCdNotification(app="shop-api-preflight", health_status="Degraded",
                                                       sync_status="Synced", revision="r1"))  # fmt: skip
        await appliance.dispatcher.tick()
        incident = await _state(appliance, "incident", f"inc-pf-{art}")
        assert (incident["policy"]["evidence_timeout_s"], incident["policy"]["max_attempts"]) == (20, 2)
        clock.advance(seconds=21)
        await appliance.dispatcher.tick()
        clock.advance(seconds=21)
        await appliance.dispatcher.tick()
        stalled = await _state(appliance, "incident", f"inc-pf-{art}")
        assert stalled["phase"] == "stalled" and stalled["reason"].startswith(
            "stalled: no evidence callback in"
        )
    finally:
        await appliance.store.close()
