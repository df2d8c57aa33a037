"""The real Alertmanager 0.25 webhook (tests/fixtures/alertmanager, captured) against /webhooks/alertmanager."""

from __future__ import annotations

import copy
from typing import Any

from litestar.testing import AsyncTestClient

from tests.conftest import golden

AUTH = {"Authorization": "Bearer am-secret"}


async def _incidents(client: AsyncTestClient[Any], token: str) -> list[dict[str, Any]]:
    response = await client.get("/api/incidents", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_firing_opens_one_incident_and_a_repeat_changes_nothing(client, owner_token, ci) -> None:
    firing = golden("alertmanager", "webhook_firing.json")
    first = await client.post("/webhooks/alertmanager", json=firing, headers=AUTH)
    assert first.status_code == 202, first.text
    assert first.json()["accepted"] == 1
    [incident] = await _incidents(client, owner_token)
    assert incident["phase"] == "collecting-evidence"
    assert incident["state"]["fingerprint"] == "af825e38bfb1fdb4"
    assert incident["state"]["app"] == "checkout"
    assert incident["state"]["namespace"] == "checkout-production"

    again = await client.post("/webhooks/alertmanager", json=firing, headers=AUTH)
    assert again.status_code == 202
    assert again.json() | {"instances": []} == {"accepted": 0, "duplicates": 1, "instances": [], "detail": {}}
    assert await _incidents(client, owner_token) == [incident]


async def test_resolved_payload_resolves_it(client, owner_token) -> None:
    await client.post(
        "/webhooks/alertmanager",
        json=golden("alertmanager", "webhook_firing.json"),
        headers=AUTH,
    )
    resolved = await client.post(
        "/webhooks/alertmanager",
        json=golden("alertmanager", "webhook_resolved.json"),
        headers=AUTH,
    )
    assert resolved.status_code == 202
    [incident] = await _incidents(client, owner_token)
    assert incident["phase"] == "resolved"
    assert incident["final"] is True
    timers = await client.get("/api/status", headers={"Authorization": f"Bearer {owner_token}"})
    assert timers.json()["timers"] == 0  # the evidence timeout was cancelled


async def test_a_new_firing_after_resolution_opens_a_new_incident(client, owner_token) -> None:
    firing = golden("alertmanager", "webhook_firing.json")
    await client.post("/webhooks/alertmanager", json=firing, headers=AUTH)
    await client.post(
        "/webhooks/alertmanager",
        json=golden("alertmanager", "webhook_resolved.json"),
        headers=AUTH,
    )
    later = copy.deepcopy(firing)
    later["alerts"][0]["startsAt"] = "2026-11-23T11:30:00Z"
    await client.post("/webhooks/alertmanager", json=later, headers=AUTH)
    phases = sorted(i["phase"] for i in await _incidents(client, owner_token))
    assert phases == ["collecting-evidence", "resolved"]


async def test_grouped_alerts_open_one_incident_per_fingerprint(client, owner_token) -> None:
    grouped = golden("alertmanager", "webhook_firing.json")
    second = copy.deepcopy(grouped["alerts"][0])
    second["fingerprint"] = "0000000000000002"
    second["labels"]["service"] = "payments"
    grouped["alerts"].append(second)
    response = await client.post("/webhooks/alertmanager", json=grouped, headers=AUTH)
    assert response.json()["accepted"] == 2
    assert sorted(i["state"]["app"] for i in await _incidents(client, owner_token)) == [
        "checkout",
        "payments",
    ]


async def test_missing_or_wrong_token_is_401_with_json_and_audited(client, owner_token) -> None:
    firing = golden("alertmanager", "webhook_firing.json")
    none = await client.post("/webhooks/alertmanager", json=firing)
    assert none.status_code == 401
    assert none.json()["detail"] == "missing Authorization: Bearer"
    wrong = await client.post("/webhooks/alertmanager", json=firing, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "wrong webhook secret"
    assert await _incidents(client, owner_token) == []
    audit = (await client.get("/api/audit", headers={"Authorization": f"Bearer {owner_token}"})).json()
    denied = [a for a in audit if a["outcome"] == "denied"]
    assert [a["detail"] for a in denied] == ["wrong webhook secret", "missing Authorization: Bearer"]
    assert all("nope" not in str(a) and "am-secret" not in str(a) for a in audit)


async def test_malformed_payload_is_400_naming_the_field(client) -> None:
    firing = golden("alertmanager", "webhook_firing.json")
    del firing["alerts"][0]["fingerprint"]
    response = await client.post("/webhooks/alertmanager", json=firing, headers=AUTH)
    assert response.status_code == 400
    assert "fingerprint" in response.text
