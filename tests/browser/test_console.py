"""The console in real Chromium against a live demo: log in with roles, navigate with `cd`, see an
incident arrive live after a webhook and open its evidence, promote an artifact as owner after being
refused as reviewer. The screenshots in the README are taken here (docs/screenshots/)."""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.harness import Demo, field, log_in, run, said, screenshot

pytestmark = pytest.mark.xdist_group("browser")

HERE = "/shop/shop-api/preflight"
EVIDENCE_S = 300  # the evidence collector runs for real (a CI job, an agent Job in the cluster)
VERIFIED_S = 600  # a commit's build, preflight deploy and verification


async def test_log_in_with_a_token_and_be_refused_with_a_wrong_one(page: Page, demo: Demo) -> None:
    await log_in(page, demo, "owner", token="not-a-token")
    await expect(page.get_by_test_id("login-error")).to_be_visible(timeout=15_000)
    await expect(page.get_by_test_id("login-error")).to_contain_text("failed")
    await expect(page).to_have_url(re.compile(r"/login$"))
    await expect(field(page, "login-token")).to_have_value("")  # the wrong token is not kept

    await log_in(page, demo, "owner")
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(page.get_by_test_id("whoami")).to_have_text("admin (owner)")


async def test_navigate_with_cd_ls_and_pwd(page: Page, demo: Demo) -> None:
    await log_in(page, demo, "owner")
    await run(page, f"cd {HERE}")
    await expect(page.get_by_test_id("cwd")).to_have_text(HERE)
    listed = said(await run(page, "ls")).first
    await expect(listed).to_contain_text(
        re.compile(r"art-shop-api-\w+|nothing deployed to shop-api/preflight")
    )
    await expect(said(await run(page, "pwd"))).to_have_text([HERE])
    await run(page, "cd ..")
    await expect(page.get_by_test_id("cwd")).to_have_text("/shop/shop-api")
    await expect(said(await run(page, "ls")).filter(has_text="preflight/")).to_have_count(1)

    refused = said(await run(page, "cd nowhere")).first
    await expect(refused).to_contain_text("no such")
    await expect(refused).to_contain_text("nowhere")
    await expect(page.get_by_test_id("cwd")).to_have_text("/shop/shop-api")  # it stays where it was
    await expect(said(await run(page, "ls /")).first).to_contain_text("shop/")


def _alert(demo: Demo) -> str:
    """As Alertmanager: a firing alert for shop-api in preflight; the incident's id."""
    now = datetime.now(UTC).isoformat()
    labels = {"alertname": "KubePodCrashLooping", "app": "shop-api", "env": "preflight", "project": "shop",
              "namespace": "shop-api-preflight", "severity": "page"}  # fmt: skip
    alert = {"status": "firing", "labels": labels, "annotations": {"summary": "shop-api crash-loops in preflight"},
             "startsAt": now, "fingerprint": uuid.uuid4().hex[:16]}  # fmt: skip
    body = {"version": "4", "status": "firing", "receiver": "pathops", "alerts": [alert],
            "groupLabels": {"alertname": labels["alertname"]}, "commonLabels": labels,
            "groupKey": f"{{}}:{{alertname={labels['alertname']!r}}}"}  # fmt: skip
    headers = {"Authorization": f"Bearer {demo.secret('alertmanager_secret')}"}
    response = httpx.post(f"{demo.url}/webhooks/alertmanager", json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    [incident] = response.json()["instances"]
    return str(incident)


async def test_an_incident_arrives_live_and_its_evidence_opens(page: Page, demo: Demo) -> None:
    await log_in(page, demo, "owner")
    await run(page, f"cd {HERE}")
    await page.get_by_test_id("tab-incidents").click()
    rows = page.get_by_test_id("incident-row")
    await expect(page.get_by_test_id("incidents-view")).to_be_visible()
    before = await rows.count()

    incident = _alert(demo)  # no reload from here on: the row must be pushed
    row = rows.filter(has_text=incident)
    await expect(row).to_be_visible(timeout=15_000)
    await expect(rows).to_have_count(before + 1)
    await expect(row).to_contain_text("shop-api/preflight")
    await expect(said(await run(page, "incidents")).filter(has_text=incident)).to_have_count(1)
    await screenshot(page, "console")

    state = await demo.wait(
        f"evidence of {incident}",
        lambda: (s := demo.state("incidents", incident)) and s.get("snapshot_id") and s,
        timeout=EVIDENCE_S,
    )
    snapshot = str(state["snapshot_id"])
    answer = said(await run(page, f"evidence {incident}")).first
    await expect(answer).to_contain_text(snapshot)
    await expect(answer).to_contain_text(f"incident {incident}")

    await page.get_by_test_id("tab-incidents").click()
    await row.click()  # open the row: its timeline and its evidence button
    await expect(page.get_by_test_id(f"timeline-{incident}")).to_contain_text("alert_fired")
    button = page.get_by_test_id(f"evidence-{incident}")
    await button.click()
    viewer = page.get_by_test_id("evidence-view")
    for _ in range(2):  # the incident may move on as it is clicked, and the redraw take the click with it
        with contextlib.suppress(AssertionError):
            await expect(viewer).to_be_visible(timeout=5_000)
            break
        if await button.is_visible():  # still on the incidents tab: nothing happened, click again
            await button.click()
    await expect(viewer).to_be_visible(timeout=15_000)
    await expect(viewer.get_by_test_id("evidence-id")).to_contain_text(snapshot)
    await expect(viewer.get_by_test_id("evidence-id")).to_contain_text(incident)
    await expect(viewer.get_by_test_id("evidence-summary")).not_to_be_empty()
    files = viewer.get_by_test_id("bundle-file")
    await expect(files.first).to_be_visible()
    logs = files.filter(has_text=re.compile(r"^\s*logs/"))
    assert await logs.count() + await files.filter(has_text="events.yaml").count() > 0, (
        await files.all_inner_texts()
    )
    await screenshot(page, "evidence")


def _verified(demo: Demo, artifact: str) -> dict[str, Any] | None:
    state = demo.state("artifacts", artifact)
    if state is not None and state["phase"] == "rejected":
        raise AssertionError(f"{artifact} was rejected: {state.get('reason')}")
    return state if state is not None and state["phase"] == "verified" else None


async def test_a_reviewer_is_refused_a_promotion_an_owner_makes(page: Page, demo: Demo) -> None:
    artifact = f"art-shop-frontend-{demo.frontend_sha[:12]}"
    await demo.wait(f"{artifact} to be verified", lambda: _verified(demo, artifact), timeout=VERIFIED_S)

    await log_in(page, demo, "reviewer")
    await page.get_by_test_id("tab-artifacts").click()
    row = page.get_by_test_id("artifact-row").filter(has_text=artifact)
    await expect(row).to_be_visible(timeout=15_000)
    await expect(page.get_by_test_id(f"phase-{artifact}")).to_have_text("verified")
    await expect(page.get_by_test_id(f"promote-{artifact}")).to_have_count(0)
    refused = said(await run(page, f"promote {artifact}")).first
    await expect(refused).to_contain_text("refused")
    await expect(refused).to_contain_text("owner")
    await expect(refused).to_contain_text("reviewer")
    assert demo.state("artifacts", artifact)["phase"] == "verified"  # type: ignore[index]

    await page.get_by_test_id("logout").click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    await log_in(page, demo, "owner")
    await page.get_by_test_id("tab-artifacts").click()
    await page.get_by_test_id(f"promote-{artifact}").click()
    await expect(page.get_by_test_id(f"phase-{artifact}")).to_contain_text("promot", timeout=30_000)
    state = demo.state("artifacts", artifact)
    assert state is not None and state["phase"] in ("promoting", "promoted"), state
    assert state.get("approved_by") == "admin", state
