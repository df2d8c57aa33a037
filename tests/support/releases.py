"""Production's history for tests of level-3 rollbacks: promoted releases written as they are stored,
an alert of a crash loop in production, and the rollback job's callback."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from appliance.bootstrap import Appliance
from appliance.contracts.webhooks import AlertmanagerWebhook, JenkinsCallback
from appliance.logic import artifact
from appliance.ports.store import InstanceRow
from appliance.services import callbacks
from tests.conftest import golden
from tests.support.doubles import RecordingCi


async def promoted(appliance: Appliance, sha: str, minutes_ago: int, app: str = "shop-api") -> str:
    """An artifact of `app` built from `sha`, promoted `minutes_ago`: its id."""
    ctx = appliance.ctx
    at = ctx.clock.now() - timedelta(minutes=minutes_ago)
    record = artifact.ArtifactRecord(
        id=f"art-{app}-{sha[:12]}", phase=artifact.PROMOTED, project="shop", app=app, commit_sha=sha,
        image=f"reg/shop/{app}:{sha[:12]}", built_at=at, updated_at=at, report_id=f"rep-{sha[:4]}",
    )  # fmt: skip
    async with ctx.store.transaction() as tx:
        await tx.save_instance(
            InstanceRow(id=record.id, kind=artifact.KIND, phase=record.phase, final=True, project="shop",
                        correlation="", state=msgspec.json.encode(record), version=1, created_at=at, updated_at=at),
            expected_version=0,
        )  # fmt: skip
    return record.id


def crash_loop_in_production(fingerprint: str = "fp-prod-1", app: str = "shop-api") -> AlertmanagerWebhook:
    body = golden("alertmanager", "webhook_firing.json")
    labels = {"alertname": "KubePodCrashLooping", "app": app, "env": "production",
              "namespace": f"{app}-production", "project": "shop"}  # fmt: skip
    body["alerts"] = [{**body["alerts"][0], "labels": labels, "fingerprint": fingerprint}]
    return msgspec.convert(body, AlertmanagerWebhook, strict=False)


async def rolled_back(
    appliance: Appliance, ci: RecordingCi, incident_id: str, mr_url: str = ""
) -> dict[str, str]:
    """CI's report that the rollback job of `incident_id` is done: the job's parameters."""
    [params] = [p for job, _, p in ci.calls if job == "rollback" and p["incident_id"] == incident_id]
    done = JenkinsCallback(
        status="success", job="rollback", incident_id=incident_id, revision="g9", mr_url=mr_url
    )
    await callbacks.jenkins(appliance.ctx, done, authorization=f"Bearer {params['CALLBACK_TOKEN']}",
                            body=msgspec.json.encode(done))  # fmt: skip
    return params
