"""Each view of the console renders what the services say, live, with actions by role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from nicegui import ui
from nicegui.testing.user import User

from appliance.bootstrap import Appliance
from appliance.contracts.entities import Role
from appliance.services import alerts, projects, queries
from appliance.services.access import Principal
from tests.support.doubles import RecordingCi
from tests.support.releases import crash_loop_in_production, promoted, rolled_back
from tests.support.server import SEED
from tests.ui.page import gone, shown, texts, until
from tests.ui.shop import SECRET_LOOKING, Shop, alert
from ui.session import Console
from ui.views.common import attempt, console_url

pytestmark = pytest.mark.xdist_group("ui")
LogIn = Callable[[str], Awaitable[None]]


async def test_the_project_map_shows_apps_components_environments_and_the_graph(
    user: User, log_in: LogIn, shop: Shop
) -> None:
    await log_in("viewer")
    await user.should_see("shop-frontend (frontend) depends on shop-api")
    await user.should_see("postgres (postgres)")
    await user.should_see("production: autonomy 0 (suggest only)")
    await user.should_see("shop-api → shop-frontend")  # the deploy order
    [graph] = user.find(marker="graph-shop").elements
    assert isinstance(graph, ui.mermaid)
    assert "n_shop_frontend --> n_shop_api" in graph.content
    assert "n_shop_api --> n_postgres" in graph.content


async def test_change_sets_show_state_deploy_order_and_their_merge_requests(
    user: User, log_in: LogIn, shop: Shop
) -> None:
    await log_in("viewer")
    await user.should_see(marker="changeset-row")
    rows = texts(user, "changeset-row")
    [fix] = [r for r in rows if shop.fix_changeset in r]
    [feature] = [r for r in rows if shop.feature_changeset in r]
    assert "open" in fix and "Set SHOP_DB_URL" in fix and "risk 10" in fix
    assert "proposing" in feature and "deploy order: shop-api → shop-frontend" in feature
    [mr] = [link for link in user.find(kind=ui.link).elements if link.text == "MR shop-api"]
    assert mr.props["href"] == "http://gitlab.example/shop/shop-api/-/merge_requests/7"


@pytest.mark.parametrize(("name", "allowed"), [("admin", True), ("reviewer", True), ("viewer", False)])
async def test_approve_and_reject_are_shown_to_the_roles_that_may(
    user: User, log_in: LogIn, shop: Shop, name: str, allowed: bool
) -> None:
    await log_in(name)
    await user.should_see(marker="changeset-row")
    for action in ("approve", "reject"):
        if allowed:
            await user.should_see(marker=f"{action}-{shop.fix_changeset}")
        else:
            await user.should_not_see(marker=f"{action}-{shop.fix_changeset}")
    await user.should_not_see(marker=f"approve-{shop.feature_changeset}")  # proposing: no MR to approve yet


async def test_a_reviewer_approves_a_change_set_and_the_view_follows(
    user: User, log_in: LogIn, shop: Shop, appliance: Appliance
) -> None:
    await log_in("reviewer")
    await user.should_see(marker=f"approve-{shop.fix_changeset}")
    user.find(marker=f"approve-{shop.fix_changeset}").click()
    await gone(user, f"approve-{shop.fix_changeset}")
    assert (await queries.instance(appliance.ctx, "changeset", shop.fix_changeset)).phase == "approved"
    assert [e.text for e in user.find(marker=f"phase-{shop.fix_changeset}").elements] == ["approved"]
    assert user.notify.contains(f"approve {shop.fix_changeset}: now approved")
    await user.should_see(
        marker=f"reject-{shop.fix_changeset}"
    )  # an approved change set may still be rejected


async def test_deploys_show_each_environment_of_an_app(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    await user.should_see(marker="deploy-row")
    [row] = texts(user, "deploy-row")
    assert "shop / shop-api" in row
    assert "preflight: deploying registry.example/shop/shop-api:0123456789ab" in row
    assert "production: nothing promoted yet" in row


async def test_deploys_show_what_production_runs_after_a_rollback(
    user: User, log_in: LogIn, appliance: Appliance, ci: RecordingCi
) -> None:
    ctx = appliance.ctx
    meta = SEED.read_text().replace("{name: production, autonomy: 0}", "{name: production, autonomy: 3}")
    await projects.load(ctx, projects.parse_meta(meta), actor="test")
    good = await promoted(appliance, "a" * 40, minutes_ago=60)
    bad = await promoted(appliance, "b" * 40, minutes_ago=5)
    await log_in("viewer")
    await user.should_see(f"production: reg/shop/shop-api:bbbbbbbbbbbb ({bad}, promoted")
    [incident] = (await alerts.receive_alertmanager(ctx, crash_loop_in_production())).instances
    await appliance.dispatcher.tick()
    await rolled_back(appliance, ci, incident)
    await shown(user, f"production: reg/shop/shop-api:aaaaaaaaaaaa ({good}, rolled back to by {incident}")
    [row] = texts(user, "deploy-row")
    assert f"before: {bad} (promoted)" in row  # the release it was rolled back from


async def test_incidents_show_their_phase_and_a_timeline(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    await user.should_see(marker="incident-row")
    [row] = texts(user, "incident-row")
    assert f"{shop.incident} proposed" in row and "shop-api is crash looping" in row
    [timeline] = user.find(marker=f"timeline-{shop.incident}").elements
    entries = [e.props["title"] for e in timeline.descendants() if isinstance(e, ui.timeline_entry)]
    assert entries == ["alert_fired", "evidence_ready", "patch_ready", "mr_opened"]


async def test_a_new_incident_arrives_live_without_a_reload(
    user: User, log_in: LogIn, shop: Shop, appliance: Appliance
) -> None:
    await log_in("viewer")
    await user.should_see(marker="incident-row")
    accepted = await alerts.receive_alertmanager(appliance.ctx, alert("fp-frontend", "shop-frontend 5xx"))
    [new] = accepted.instances
    await shown(user, f"{new} collecting-evidence")
    assert len(user.find(marker="incident-row").elements) == 2


async def test_an_opened_incident_stays_open_when_the_view_redraws(
    user: User, log_in: LogIn, shop: Shop, appliance: Appliance
) -> None:
    await log_in("viewer")
    await user.should_see(marker="incident-row")
    [row] = user.find(marker="incident-row").elements
    assert isinstance(row, ui.expansion) and not row.value
    row.value = True  # the person opens it
    accepted = await alerts.receive_alertmanager(appliance.ctx, alert("fp-frontend", "shop-frontend 5xx"))
    [new] = accepted.instances
    await shown(user, f"{new} collecting-evidence")
    assert row.is_deleted  # the view was drawn again
    rows = [e for e in user.find(marker="incident-row").elements if isinstance(e, ui.expansion)]
    assert {e.text.split()[0]: e.value for e in rows} == {shop.incident: True, new: False}


async def test_the_evidence_viewer_shows_the_bundle_patch_and_report_without_secrets(
    user: User, log_in: LogIn, shop: Shop
) -> None:
    await log_in("viewer")
    await user.should_see(marker="evidence-summary")
    view = " ".join(texts(user, "evidence-view"))
    assert f"{shop.snapshot} of incident {shop.incident}" in view
    assert "shop-api-7d9 CrashLoopBackOff, 4 restarts" in view
    files = [e.props["label"] for e in user.find(marker="bundle-file").elements]
    assert sorted(files) == [
        "describe/deployment-shop-api.yaml",
        "events.yaml",
        "logs/shop-api-7d9/shop-api.log",
    ]
    code = " ".join(e.content for e in user.find(kind=ui.code).elements)
    assert "KeyError: 'SHOP_DB_URL'" in code and "SHOP_DB_PASSWORD=***" in code
    assert SECRET_LOOKING not in code
    [diff] = user.find(marker="patch-diff").elements
    assert "+  - name: SHOP_DB_URL" in diff.content
    assert texts(user, "report-summary") == ["passed: passed 3 checks (health, smoke)"]


async def test_an_incident_opens_its_evidence(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    await user.should_see(marker=f"evidence-{shop.incident}")
    user.find(marker=f"evidence-{shop.incident}").click()
    await shown(user, f"{shop.snapshot} of incident {shop.incident} (proposed), 2026-11-23 10:00:00")


@pytest.mark.parametrize(("name", "allowed"), [("admin", True), ("reviewer", False), ("viewer", False)])
async def test_promote_is_shown_to_owners_only(
    user: User, log_in: LogIn, shop: Shop, name: str, allowed: bool
) -> None:
    await log_in(name)
    await user.should_see(marker="artifact-row")
    assert "verified" in texts(user, "artifact-row")[0]
    if allowed:
        await user.should_see(marker=f"promote-{shop.artifact}")
    else:
        await user.should_not_see(marker=f"promote-{shop.artifact}")


async def test_an_owner_promotes_an_artifact(
    user: User, log_in: LogIn, shop: Shop, appliance: Appliance
) -> None:
    await log_in("admin")
    await user.should_see(marker=f"promote-{shop.artifact}")
    user.find(marker=f"promote-{shop.artifact}").click()
    await shown(user, "verified, promoting")
    assert (await queries.instance(appliance.ctx, "artifact", shop.artifact)).phase == "promoting"
    await user.should_not_see(marker=f"promote-{shop.artifact}")


async def test_a_reviewers_promotion_is_refused_with_the_reason(
    user: User, log_in: LogIn, shop: Shop, appliance: Appliance
) -> None:
    await log_in("reviewer")
    await user.should_see(marker="artifact-row")
    reviewer = Console(appliance=appliance, who=Principal(name="reviewer", role=Role.REVIEWER))
    with user.client:
        done = await attempt(reviewer, kind="artifact", id=shop.artifact, action="promote")
    assert not done
    assert user.notify.contains("promote artifact needs role owner; reviewer is reviewer")
    assert (await queries.instance(appliance.ctx, "artifact", shop.artifact)).phase == "verified"
    await until(
        lambda: any("denied" in t for t in texts(user, "audit-row")), "the refusal in the audit trail"
    )
    denied = [t for t in texts(user, "audit-row") if "denied" in t]
    assert denied and "reviewer | promote artifact | access | denied" in denied[0]


async def test_the_audit_trail_lists_who_did_what(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    await user.should_see(marker="audit-row")
    rows = texts(user, "audit-row")
    assert any("test | load project | project:shop | ok" in r for r in rows)
    assert any("alertmanager | webhook alertmanager" in r for r in rows)
    assert all("pat-" not in r for r in rows)  # no token in the trail


async def test_an_object_page_shows_its_phase_state_and_events_and_names_a_bad_id(
    user: User, log_in: LogIn, shop: Shop
) -> None:
    await log_in("viewer")
    await user.open(f"/objects/{shop.incident}")
    await user.should_see(marker="object-title")
    [title] = texts(user, "object-title")
    assert title.startswith(f"incident {shop.incident}: ")
    [state] = user.find(marker="object-state").elements
    assert shop.fix_changeset in state.content  # the state as JSON: its change set
    [timeline] = user.find(marker="object-events").elements
    entries = [e for e in timeline.descendants() if isinstance(e, ui.timeline_entry)]
    assert [e.props["title"] for e in entries][:2] == ["alert_fired", "evidence_ready"]  # its events in order
    await user.open("/objects/zz-nothing")
    await user.should_see("'zz-nothing' names no incident, change set, artifact or preflight run")


def test_the_apis_object_links_lead_to_the_consoles_object_pages() -> None:
    assert console_url("http://127.0.0.1:8765/api/changesets/cs-7") == "/objects/cs-7"
    assert console_url("http://127.0.0.1:8765/api/incidents/inc-pf-art-a") == "/objects/inc-pf-art-a"
    gitlab = "http://127.0.0.1:18081/shop/shop-api/-/commit/abc"
    assert console_url(gitlab) == gitlab
