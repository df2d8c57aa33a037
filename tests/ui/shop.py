"""A `shop` appliance with something in every view, made through the services and the callbacks CI
and the agents send (no storage writes): an incident with evidence (a real bundle in the object
store double), its fix proposal as an open change set with an MR link, a feature change set and a
verified artifact waiting for promotion."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec

from appliance.agents import bundle
from appliance.bootstrap import Appliance
from appliance.contracts.api import FeatureCreate
from appliance.contracts.entities import Role
from appliance.contracts.webhooks import AlertmanagerWebhook, EvidenceCallback, FixCallback, JenkinsCallback
from appliance.contracts.workflow import Envelope, Event
from appliance.services import access, alerts, callbacks, features, projects
from appliance.services.access import Principal
from tests.conftest import golden
from tests.support.doubles import MemoryObjects, RecordingCi
from tests.support.server import SEED

SHA = "0123456789abcdef0123456789abcdef01234567"
SECRET_LOOKING = "SHOP_DB_PASSWORD=hunter2-do-not-show"
OWNER = Principal(name="admin", role=Role.OWNER)


@dataclass(frozen=True)
class Shop:
    incident: str
    snapshot: str
    patch: str
    report: str
    fix_changeset: str
    feature_changeset: str
    artifact: str


async def users(appliance: Appliance) -> dict[str, str]:
    """admin (owner), reviewer and viewer, and a token for each (as `pathops demo` makes them)."""
    ctx = appliance.ctx
    made = {
        "admin": await access.ensure_owner(ctx, name="admin"),
        "reviewer": await access.ensure_user(ctx, name="reviewer", role=Role.REVIEWER),
        "viewer": await access.ensure_user(ctx, name="viewer", role=Role.VIEWER),
    }
    return {name: str(token) for name, token in made.items()}


def alert(
    fingerprint: str = "fp-shop-api-1", summary: str = "shop-api is crash looping"
) -> AlertmanagerWebhook:
    body = golden("alertmanager", "webhook_firing.json")
    labels = {"alertname": "KubePodCrashLooping", "app": "shop-api", "env": "preflight",
              "namespace": "shop-api-preflight", "project": "shop"}  # fmt: skip
    first = {**body["alerts"][0], "labels": labels, "fingerprint": fingerprint}
    body["alerts"] = [{**first, "annotations": {"summary": summary}}]
    return msgspec.convert(body, AlertmanagerWebhook, strict=False)


def _token(ci: RecordingCi, job: str) -> str:
    [params] = [p for j, _, p in ci.calls if j == job][-1:]
    return str(params["CALLBACK_TOKEN"])


async def _callback(handler: Any, appliance: Appliance, payload: Any, token: str) -> None:
    await handler(appliance.ctx, payload, authorization=f"Bearer {token}", body=msgspec.json.encode(payload))


async def _submit(appliance: Appliance, kind: str, id: str, name: str, data: dict[str, Any]) -> None:
    ctx = appliance.ctx
    event = Envelope(id=f"t:{id}:{name}", instance=id, kind=kind, at=ctx.clock.now(), actor="test",
                     event=Event(name=name, data=data))  # fmt: skip
    await ctx.engine.submit(event)


async def build(appliance: Appliance, ci: RecordingCi, objects: MemoryObjects) -> Shop:
    ctx = appliance.ctx
    await projects.load(ctx, projects.parse_meta(SEED.read_text()), actor="test")
    # an incident: alert -> evidence (bundle in object storage) -> fix (patch) -> change set with its MR
    [incident] = (await alerts.receive_alertmanager(ctx, alert())).instances
    await appliance.dispatcher.tick()
    manifest = {"schema": bundle.SCHEMA, "summary": "shop-api-7d9 CrashLoopBackOff, 4 restarts",
                "signals": {"shop-api-7d9": {"restarts": 4}}}  # fmt: skip
    files = {
        "logs/shop-api-7d9/shop-api.log": f"KeyError: 'SHOP_DB_URL'\n{SECRET_LOOKING}\n".encode(),
        "events.yaml": b"- reason: BackOff\n  message: Back-off restarting failed container\n",
        "describe/deployment-shop-api.yaml": b"kind: Deployment\nmetadata:\n  name: shop-api\n",
    }
    data = bundle.pack(manifest, files)
    snapshot = bundle.content_id("snap", data)
    await objects.put(bucket="pathops-evidence", key=f"snapshots/{snapshot}.tar.gz", data=data)
    report = {"schema": "pathops.report/v1", "status": "passed", "summary": "passed 3 checks (health, smoke)",
              "checks": [{"name": "/healthz", "kind": "health", "status": "passed", "detail": "200"}]}  # fmt: skip
    report_id = "rep-0001"
    await objects.put(
        bucket="pathops-reports", key=f"reports/{report_id}.json", data=json.dumps(report).encode()
    )
    pointers = {"bundle": f"s3://pathops-evidence/snapshots/{snapshot}.tar.gz",
                "report": f"s3://pathops-reports/reports/{report_id}.json"}  # fmt: skip
    evidence = EvidenceCallback(incident_id=incident, snapshot_id=snapshot, summary=manifest["summary"],
                                pointers=pointers, commit_sha=SHA)  # fmt: skip
    await _callback(callbacks.evidence, appliance, evidence, _token(ci, "schedule-evidence-collector"))
    await appliance.dispatcher.tick()
    patch_id = "patch-0001"
    patch = {"schema": "pathops.patch/v1", "patch_id": patch_id, "base_sha": SHA, "risk": 10,
             "summary": "Set SHOP_DB_URL", "recommended_checks": ["smoke"],
             "diff": "--- a/deploy.yaml\n+++ b/deploy.yaml\n@@ -1 +1,2 @@\n env:\n+  - name: SHOP_DB_URL\n"}  # fmt: skip
    await objects.put(
        bucket="pathops-patches", key=f"patches/{patch_id}.json", data=json.dumps(patch).encode()
    )
    fix = FixCallback(
        incident_id=incident, patch_id=patch_id, summary="Set SHOP_DB_URL", slug="db-url", risk=10
    )
    await _callback(callbacks.fix, appliance, fix, _token(ci, "build-fix-agent"))
    await appliance.dispatcher.tick()
    fix_cs = f"cs-{incident.removeprefix('inc-')}"
    opened = JenkinsCallback(status="success", changeset_id=fix_cs,
                             mr_url="http://gitlab.example/shop/shop-api/-/merge_requests/7")  # fmt: skip
    await _callback(callbacks.jenkins, appliance, opened, _token(ci, "create-mr-from-patch"))
    # a feature across both apps: proposing, in deploy order
    feature = await features.request(ctx, OWNER, FeatureCreate(project="shop", title="Show stock levels"))
    # an artifact, built, through preflight into verified, waiting for an owner to promote it
    art = f"art-shop-api-{SHA[:12]}"
    await _submit(
        appliance,
        "artifact",
        art,
        "build_requested",
        {"app": "shop-api", "commit_sha": SHA, "project": "shop"},
    )
    await _submit(
        appliance, "artifact", art, "built", {"image": "registry.example/shop/shop-api:0123456789ab"}
    )
    await _submit(appliance, "artifact", art, "verification_passed", {"report_id": report_id})
    return Shop(incident=incident, snapshot=snapshot, patch=patch_id, report=report_id, fix_changeset=fix_cs,
                feature_changeset=feature, artifact=art)  # fmt: skip
