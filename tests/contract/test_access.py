"""Roles, API tokens and per-job callback tokens over the HTTP API."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from appliance.bootstrap import Appliance
from tests.conftest import golden
from tests.support.doubles import FakeClock, RecordingCi

AM = {"Authorization": "Bearer am-secret"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _user(client: AsyncTestClient[Any], owner: str, name: str, role: str) -> str:
    created = await client.post("/api/users", json={"name": name, "role": role}, headers=bearer(owner))
    assert created.status_code == 201, created.text
    issued = await client.post("/api/tokens", json={"user": name, "label": "test"}, headers=bearer(owner))
    assert issued.status_code == 201, issued.text
    return str(issued.json()["token"])


async def _incident_with_job(
    client: AsyncTestClient[Any], appliance: Appliance, ci: RecordingCi
) -> tuple[str, str]:
    await client.post(
        "/webhooks/alertmanager", json=golden("alertmanager", "webhook_firing.json"), headers=AM
    )
    await appliance.dispatcher.tick()
    _, _, params = ci.calls[-1]
    return params["incident_id"], params["CALLBACK_TOKEN"]


async def test_no_or_unknown_api_token_is_401(client, owner_token) -> None:
    assert (await client.get("/api/incidents")).status_code == 401
    unknown = await client.get("/api/incidents", headers=bearer("pat-nope"))
    assert unknown.status_code == 401
    assert unknown.json() == {"status_code": 401, "detail": "unknown API token"}
    assert (await client.get("/api/incidents", headers=bearer(owner_token))).status_code == 200


async def test_viewer_reads_but_may_not_act(client, owner_token) -> None:
    viewer = await _user(client, owner_token, "vera", "viewer")
    assert (await client.get("/api/status", headers=bearer(viewer))).status_code == 200
    refused = await client.post("/api/users", json={"name": "x", "role": "owner"}, headers=bearer(viewer))
    assert refused.status_code == 403
    assert "needs role owner" in refused.json()["detail"]


async def test_only_an_owner_may_promote(client, owner_token, appliance: Appliance) -> None:
    reviewer = await _user(client, owner_token, "rita", "reviewer")
    refused = await client.post("/api/artifacts/art-1/promote", headers=bearer(reviewer))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "promote artifact needs role owner; rita is reviewer"
    missing = await client.post("/api/artifacts/art-1/promote", headers=bearer(owner_token))
    assert missing.status_code == 404  # an owner passes the role check and meets the real state
    audit = (await client.get("/api/audit", headers=bearer(owner_token))).json()
    assert any(a["actor"] == "rita" and a["outcome"] == "denied" for a in audit)


async def test_callback_token_works_once(client, owner_token, appliance: Appliance, ci: RecordingCi) -> None:
    incident, token = await _incident_with_job(client, appliance, ci)
    body = {"incident_id": incident, "snapshot_id": "snap-1", "summary": "logs and events"}
    first = await client.post("/api/evidence/callback", json=body, headers=bearer(token))
    assert first.status_code == 202, first.text
    again = await client.post("/api/evidence/callback", json=body, headers=bearer(token))
    assert again.status_code == 409
    assert again.json()["detail"] == "duplicate callback: already accepted"
    other = await client.post(
        "/api/evidence/callback", json=body | {"snapshot_id": "snap-2"}, headers=bearer(token)
    )
    assert other.json()["detail"] == "callback token already used"
    state = (await client.get(f"/api/incidents/{incident}", headers=bearer(owner_token))).json()
    assert state["phase"] == "diagnosing"
    assert state["state"]["snapshot_id"] == "snap-1"
    evidence = (await client.get("/api/evidence/snap-1", headers=bearer(owner_token))).json()
    assert evidence["incident"] == incident


async def test_a_fix_agent_that_finds_no_fix_stalls_the_incident_with_its_reason(
    client, owner_token, appliance: Appliance, ci: RecordingCi
) -> None:
    incident, token = await _incident_with_job(client, appliance, ci)
    body = {"incident_id": incident, "snapshot_id": "snap-1", "summary": "logs"}
    assert (await client.post("/api/evidence/callback", json=body, headers=bearer(token))).status_code == 202
    await appliance.dispatcher.tick()
    job, _, params = ci.calls[-1]
    assert job == "build-fix-agent"
    fix_token = params["CALLBACK_TOKEN"]
    no_patch = await client.post(
        "/api/fix/callback", json={"incident_id": incident}, headers=bearer(fix_token)
    )
    assert no_patch.status_code == 422 and "needs patch_id" in no_patch.json()["detail"]
    reason = "no diagnosis: no rule matched 'pod Running, 0 restarts' and no LLM is configured"
    no_fix = {"incident_id": incident, "status": "no_fix", "reason": reason}
    accepted = await client.post("/api/fix/callback", json=no_fix, headers=bearer(fix_token))
    assert accepted.status_code == 202, accepted.text
    state = (await client.get(f"/api/incidents/{incident}", headers=bearer(owner_token))).json()
    assert state["phase"] == "stalled" and state["state"]["stalled_in"] == "diagnosing"
    assert state["state"]["reason"] == f"build-fix-agent failed: no fix: {reason}"


async def test_callback_token_is_bound_to_its_job_and_instance(client, appliance, ci: RecordingCi) -> None:
    incident, token = await _incident_with_job(client, appliance, ci)
    wrong_job = await client.post(
        "/api/fix/callback", json={"incident_id": incident, "patch_id": "p"}, headers=bearer(token)
    )
    assert wrong_job.status_code == 403
    assert "issued for schedule-evidence-collector" in wrong_job.json()["detail"]
    wrong_instance = await client.post(
        "/api/evidence/callback", json={"incident_id": "inc-other", "snapshot_id": "s"}, headers=bearer(token)
    )
    assert wrong_instance.status_code == 403
    missing = await client.post("/api/evidence/callback", json={"incident_id": incident, "snapshot_id": "s"})
    assert missing.status_code == 401


async def test_callback_token_expires(client, appliance, ci: RecordingCi, clock: FakeClock) -> None:
    incident, token = await _incident_with_job(client, appliance, ci)
    clock.advance(hours=3)
    late = await client.post(
        "/api/evidence/callback", json={"incident_id": incident, "snapshot_id": "s"}, headers=bearer(token)
    )
    assert late.status_code == 401
    assert late.json()["detail"] == "callback token expired"


async def test_gitlab_and_argocd_webhooks_check_their_secrets(client) -> None:
    mr = {"object_kind": "merge_request", "object_attributes": {"action": "open", "source_branch": "x"}}
    assert (await client.post("/webhooks/gitlab", json=mr)).status_code == 401
    assert (
        await client.post("/webhooks/gitlab", json=mr, headers={"X-Gitlab-Token": "wrong"})
    ).status_code == 401
    ok = await client.post(
        "/webhooks/gitlab",
        json=mr,
        headers={"X-Gitlab-Token": "gl-secret", "X-Gitlab-Event": "Merge Request Hook"},
    )
    assert ok.status_code == 202
    note = {"app": "shop-api-preflight", "sync_status": "Synced", "health_status": "Healthy"}
    assert (await client.post("/webhooks/argocd", json=note)).status_code == 401
    assert (
        await client.post("/webhooks/argocd", json=note, headers=bearer("argo-secret"))
    ).status_code == 202
