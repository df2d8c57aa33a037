"""Autonomy level 3: an incident in production rolls production back to the release promoted before
the current one, through CI job `rollback` and its callback; below level 3 it says why it does not."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from appliance.bootstrap import Appliance
from appliance.contracts.webhooks import AlertmanagerWebhook, JenkinsCallback
from appliance.logic import artifact
from appliance.ports.store import InstanceRow
from appliance.services import alerts, callbacks, projects, queries
from tests.conftest import golden
from tests.support.doubles import RecordingCi

META = """
name: shop
apps:
  - {name: shop-api, kind: api}
environments:
  - {name: preflight, autonomy: 1}
  - {name: production, autonomy: LEVEL}
"""


async def _promoted(appliance: Appliance, sha: str, minutes_ago: int) -> None:
    ctx = appliance.ctx
    at = ctx.clock.now() - timedelta(minutes=minutes_ago)
    record = artifact.ArtifactRecord(
        id=f"art-shop-api-{sha[:12]}", phase=artifact.PROMOTED, project="shop", app="shop-api", commit_sha=sha,
        image=f"reg/shop/shop-api:{sha[:12]}", built_at=at, updated_at=at, report_id=f"rep-{sha[:4]}",
    )  # fmt: skip
    async with ctx.store.transaction() as tx:
        await tx.save_instance(
            InstanceRow(id=record.id, kind=artifact.KIND, phase=record.phase, final=True, project="shop",
                        correlation="", state=msgspec.json.encode(record), version=1, created_at=at, updated_at=at),
            expected_version=0,
        )  # fmt: skip


def _crash_loop_in_production() -> AlertmanagerWebhook:
    body = golden("alertmanager", "webhook_firing.json")
    labels = {"alertname": "KubePodCrashLooping", "app": "shop-api", "env": "production",
              "namespace": "shop-api-production", "project": "shop"}  # fmt: skip
    body["alerts"] = [{**body["alerts"][0], "labels": labels, "fingerprint": "fp-prod-1"}]
    return msgspec.convert(body, AlertmanagerWebhook, strict=False)


async def test_level_three_rolls_production_back_to_the_release_before_the_current_one(
    appliance: Appliance, ci: RecordingCi
) -> None:
    ctx = appliance.ctx
    await projects.load(ctx, projects.parse_meta(META.replace("LEVEL", "3")), actor="test")
    await _promoted(appliance, "a" * 40, minutes_ago=60)  # the last good one
    await _promoted(appliance, "b" * 40, minutes_ago=5)  # what runs now, and crash-loops
    accepted = await alerts.receive_alertmanager(ctx, _crash_loop_in_production())
    [incident_id] = accepted.instances
    await appliance.dispatcher.tick()
    [(_, key, params)] = [c for c in ci.calls if c[0] == "rollback"]
    assert key == f"{incident_id}:rollback:1"
    assert (params["artifact_id"], params["image"]) == (
        "art-shop-api-aaaaaaaaaaaa",
        "reg/shop/shop-api:aaaaaaaaaaaa",
    )
    assert params["commit_sha"] == "a" * 40 and params["report_id"] == "rep-aaaa"
    assert [c[0] for c in ci.calls].count("schedule-evidence-collector") == 1  # and the fix goes on
    done = JenkinsCallback(status="success", job="rollback", incident_id=incident_id, revision="g9",
                           mr_url="http://gitlab/shop/shop-api-gitops/-/merge_requests/4")  # fmt: skip
    await callbacks.jenkins(ctx, done, authorization=f"Bearer {params['CALLBACK_TOKEN']}",
                            body=msgspec.json.encode(done))  # fmt: skip
    state = (await queries.instance(ctx, "incident", incident_id)).state
    assert state["rollback"] == "done" and state["phase"] == "collecting-evidence"


async def test_below_level_three_the_incident_says_why_it_does_not_roll_back(
    appliance: Appliance, ci: RecordingCi
) -> None:
    ctx = appliance.ctx
    await projects.load(ctx, projects.parse_meta(META.replace("LEVEL", "2")), actor="test")
    await _promoted(appliance, "a" * 40, minutes_ago=60)
    await _promoted(appliance, "b" * 40, minutes_ago=5)
    [incident_id] = (await alerts.receive_alertmanager(ctx, _crash_loop_in_production())).instances
    await appliance.dispatcher.tick()
    assert "rollback" not in [c[0] for c in ci.calls]
    state = (await queries.instance(ctx, "incident", incident_id)).state
    assert state["rollback"] == "skipped"
    [step] = [s for s in state["steps"] if s["step"] == "rollback"]
    assert step["message"].startswith("no rollback: autonomy level 2 does not roll back in production")
