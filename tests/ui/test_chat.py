"""The chat: the shell run against the `shop` world's services, then the panel under NiceGUI's `User`.

The shell tests call `replies.run` as the panel does (no browser); the panel tests type into the
prompt, press Enter, Tab and the arrows, and read the transcript, the cwd label and the prompt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from itertools import product

import pytest
from nicegui import ui
from nicegui.testing.user import User

from appliance.bootstrap import Appliance
from appliance.contracts.entities import Role
from appliance.services import actions, alerts, queries
from appliance.services.access import Principal
from tests.ui import shop as shop_world
from tests.ui.page import until
from tests.ui.shop import Shop
from ui import replies
from ui.shell import Shell

pytestmark = pytest.mark.xdist_group("ui")

OWNER = Principal(name="admin", role=Role.OWNER)
REVIEWER = Principal(name="reviewer", role=Role.REVIEWER)
VIEWER = Principal(name="viewer", role=Role.VIEWER)
IMAGE = "registry.example/shop/shop-api:0123456789ab"
MR = "http://gitlab.example/shop/shop-api/-/merge_requests/7"


async def say(shell: Shell, *lines: str) -> list[str]:
    """Run `lines` in `shell`; the last one's answer lines, "tone: text"."""
    for line in lines:
        reply = await replies.run(shell, line)
    return [f"{out.tone}: {out.text}" for out in reply.lines]


# --- the shell ---------------------------------------------------------------------------------


async def test_ls_walks_projects_apps_environments_and_what_is_deployed(
    appliance: Appliance, shop: Shop
) -> None:
    sh = Shell(appliance.ctx, VIEWER)
    assert await say(sh, "ls") == ["out: shop/  2 apps, 1 component"]
    assert await say(sh, "ls shop") == [
        "out: shop-api/  app (api), depends on postgres",
        "out: shop-frontend/  app (frontend), depends on shop-api",
        "out: postgres  component (postgres)",
    ]
    assert await say(sh, "ls shop/shop-api") == [
        "out: agents/  autonomy level 0",
        "out: preflight/  autonomy level 1",
        "out: production/  autonomy level 0",
    ]
    assert await say(sh, "ls /shop/shop-api/preflight") == [
        f"out: {shop.artifact}  verified  {IMAGE}  (current)"
    ]
    assert await say(sh, "ls /shop/shop-api/production") == [
        "hint: nothing deployed to shop-api/production yet"
    ]
    assert await say(sh, "ls /shop/shop-api/agents") == [
        "hint: shop-api/agents runs the evidence, fix and verification agents as Jobs; no artifacts"
    ]
    assert await say(sh, "ls /shop/postgres") == [
        "hint: postgres: a component, manifests only; nothing below it"
    ]
    assert sh.cwd == "/"


async def test_an_empty_appliance_says_so(appliance: Appliance) -> None:
    sh = Shell(appliance.ctx, VIEWER)
    assert await say(sh, "ls") == ["hint: no projects yet"]
    assert await say(sh, "incidents") == ["hint: no incidents"]
    assert await say(sh, "which apps are there?") == ["hint: no projects yet"]


async def test_cd_from_every_place_to_every_place_then_pwd_prints_it(
    appliance: Appliance, shop: Shop
) -> None:
    sh = Shell(appliance.ctx, VIEWER)
    places = ["/", "/shop", "/shop/postgres"] + [
        f"/shop/{app}{env}"
        for app in ("shop-api", "shop-frontend")
        for env in ("", "/agents", "/preflight", "/production")
    ]
    for here, there in product(places, places):
        up = [".."] * here.count("/") if here != "/" else []
        relative = "/".join(up + [p for p in there.split("/") if p]) or "."
        for path in (there, relative, "~" + there):
            sh.cwd = here
            assert await say(sh, f"cd {path}", "pwd") == [f"out: {there}"], (here, path)


async def test_cd_to_a_bad_path_names_it_and_stays(appliance: Appliance, shop: Shop) -> None:
    sh = Shell(appliance.ctx, VIEWER)
    assert await say(sh, "cd shop/shop-api", "cd ../shop-web") == [
        "error: no such app or component in shop: shop-web (choices: shop-api, shop-frontend, postgres)"
    ]
    assert sh.cwd == "/shop/shop-api"
    assert await say(sh, "cd") == []
    assert sh.cwd == "/"


async def test_listings_are_filtered_by_the_working_directory(appliance: Appliance, shop: Shop) -> None:
    sh = Shell(appliance.ctx, VIEWER)
    incident = f"out: {shop.incident}  proposed  shop-api/preflight  deploy  shop-api is crash looping"
    assert await say(sh, "cd /shop/shop-api/preflight", "incidents") == [incident, f"out:   MR: {MR}"]
    assert await say(sh, "cd ../production", "incidents") == [
        "hint: no incidents in /shop/shop-api/production"
    ]
    assert await say(sh, "cd /shop/shop-frontend", "incidents") == [
        "hint: no incidents in /shop/shop-frontend"
    ]
    assert await say(sh, "changesets") == [
        f"out: {shop.feature_changeset}  proposing  Show stock levels  apps: shop-api, shop-frontend"
    ]
    assert await say(sh, "artifacts") == ["hint: no artifacts in /shop/shop-frontend"]
    assert await say(sh, "cd /shop", "changesets") == [
        f"out: {shop.fix_changeset}  open  Set SHOP_DB_URL  apps: shop-api",
        f"out:   MR: {MR}",
        f"out: {shop.feature_changeset}  proposing  Show stock levels  apps: shop-api, shop-frontend",
    ]
    assert await say(sh, "artifacts") == [f"out: {shop.artifact}  verified  shop-api  {IMAGE}"]
    assert await say(sh, "cd shop-api/production", "artifacts") == [
        "hint: no artifacts in /shop/shop-api/production"
    ]


async def test_status_counts_by_kind_and_phase(appliance: Appliance, shop: Shop) -> None:
    lines = await say(Shell(appliance.ctx, VIEWER), "status")
    assert lines[0] == "out: PathOps 0.1.0; projects: shop"
    assert "out: artifact: 1 verified" in lines
    assert "out: changeset: 1 open, 1 proposing" in lines
    assert "out: incident: 1 proposed" in lines
    assert lines[-1].startswith("out: outbox: ")


async def test_evidence_by_snapshot_or_by_incident(appliance: Appliance, shop: Shop) -> None:
    sh = Shell(appliance.ctx, VIEWER)
    snapshot = [
        f"out: {shop.snapshot}  incident {shop.incident}",
        "out:   shop-api-7d9 CrashLoopBackOff, 4 restarts",
        f"out:   bundle: s3://pathops-evidence/snapshots/{shop.snapshot}.tar.gz",
        f"out:   report: s3://pathops-reports/reports/{shop.report}.json",
    ]
    assert await say(sh, f"evidence {shop.snapshot}") == snapshot
    assert await say(sh, f"evidence {shop.incident}") == snapshot
    assert await say(sh, "evidence inc-nope") == [
        "error: not found: no evidence snapshot or incident 'inc-nope'"
    ]
    [fresh] = (await alerts.receive_alertmanager(appliance.ctx, shop_world.alert("fp-2", "OOM"))).instances
    assert await say(sh, f"evidence {fresh}") == [
        f"hint: {fresh} has no evidence snapshot yet (collecting-evidence)"
    ]


@pytest.mark.parametrize(
    ("who", "line", "answer"),
    [
        (OWNER, "promote {artifact}", "ok: promote {artifact}: verified -> promoting"),
        (REVIEWER, "promote {artifact}", "error: refused: promote artifact needs role owner; reviewer is reviewer"),
        (VIEWER, "promote {artifact}", "error: refused: promote artifact needs role owner; viewer is viewer"),
        (REVIEWER, "approve {fix_changeset} looks right", "ok: approve {fix_changeset}: open -> approved"),
        (VIEWER, "approve {fix_changeset}", "error: refused: approve changeset needs role owner or reviewer; viewer is viewer"),
        (REVIEWER, "reject {fix_changeset}", "ok: reject {fix_changeset}: open -> rejected"),
        (OWNER, "approve cs-9999", "error: not found: no changeset 'cs-9999'"),
        (OWNER, "approve {artifact}", "error: not found: no changeset '{artifact}'"),
        (OWNER, "promote {fix_changeset}", "error: not found: no artifact '{fix_changeset}'"),
        (OWNER, "reject {feature_changeset}",
         "hint: reject {feature_changeset}: no change, still proposing (last step: create-mr-from-patch)"),
    ],
)  # fmt: skip
async def test_actions_go_through_the_services_and_refusals_are_answers(
    appliance: Appliance, shop: Shop, who: Principal, line: str, answer: str
) -> None:
    ids = {
        "artifact": shop.artifact,
        "fix_changeset": shop.fix_changeset,
        "feature_changeset": shop.feature_changeset,
    }
    assert await say(Shell(appliance.ctx, who), line.format(**ids)) == [answer.format(**ids)]


async def test_a_refused_action_is_in_the_audit_trail(appliance: Appliance, shop: Shop) -> None:
    await say(Shell(appliance.ctx, REVIEWER), f"promote {shop.artifact}")
    [row] = [a for a in await queries.audit(appliance.ctx) if a.outcome == "denied"]
    assert (row.actor, row.action) == ("reviewer", "promote artifact")


async def test_after_a_promotion_production_shows_the_artifact(appliance: Appliance, shop: Shop) -> None:
    sh = Shell(appliance.ctx, OWNER)
    await say(sh, f"promote {shop.artifact}")
    assert await say(sh, "ls /shop/shop-api/production") == [
        f"out: {shop.artifact}  promoting  {IMAGE}  (current)"
    ]
    assert await say(sh, "what is deployed in production?") == [
        "out: shop/shop-api/production:",
        f"out: {shop.artifact}  promoting  {IMAGE}  (current)",
        "out: shop/shop-frontend/production:",
        "hint: nothing deployed to shop-frontend/production yet",
    ]


async def test_help_usage_and_clear(appliance: Appliance) -> None:
    sh = Shell(appliance.ctx, VIEWER)
    assert len(await say(sh, "help")) == 14
    assert await say(sh, "help cd") == [
        "out: cd [path]: go to a project, app or environment (.., ., ~ and relative paths work)"
    ]
    assert await say(sh, "evidence") == ["error: usage: evidence <id>"]
    assert (await replies.run(sh, "clear")).clear


# --- free text ---------------------------------------------------------------------------------


async def test_a_feature_request_inside_an_app_asks_then_creates_a_change_set(
    appliance: Appliance, shop: Shop
) -> None:
    sh = Shell(appliance.ctx, REVIEWER)
    assert await say(sh, "cd /shop/shop-frontend", "add a stock badge") == [
        "out: feature request for shop/shop-frontend: add a stock badge",
        "hint: type yes to request it (a change set, one merge request per app), no to drop it",
    ]
    [answer] = await say(sh, "yes")
    id = answer.split()[4]
    assert answer == f"ok: requested: change set {id} (add a stock badge); CI opens its merge requests"
    cs = await queries.instance(appliance.ctx, "changeset", id)
    assert (cs.project, cs.state["title"], cs.state["apps"], cs.state["origin"]) == (
        "shop", "add a stock badge", ["shop-frontend"], "feature"
    )  # fmt: skip


async def test_a_feature_request_can_be_dropped_or_left_for_another_command(
    appliance: Appliance, shop: Shop
) -> None:
    sh = Shell(appliance.ctx, OWNER)
    assert await say(sh, "cd shop", "feature: dark mode", "no") == ["hint: feature request dropped"]
    assert await say(sh, "I want dark mode", "pwd") == ["out: /shop"]
    assert await say(sh, "yes") == [f"hint: {replies.REFUSAL}"]
    assert len(await queries.instances(appliance.ctx, "changeset")) == 2


async def test_a_feature_request_needs_a_project_and_a_role_that_may(
    appliance: Appliance, shop: Shop
) -> None:
    assert await say(Shell(appliance.ctx, OWNER), "add a dark mode") == [
        "hint: a feature request belongs to a project: cd into one first (shop)"
    ]
    assert await say(Shell(appliance.ctx, VIEWER, "/shop"), "add a dark mode") == [
        "error: refused: request feature needs role owner or reviewer; viewer is viewer"
    ]


async def test_a_bug_report_is_recorded_in_the_audit_trail_by_anyone(
    appliance: Appliance, shop: Shop
) -> None:
    sh = Shell(appliance.ctx, VIEWER, "/shop/shop-api")
    assert await say(sh, "the evidence tab is broken") == [
        "ok: bug report recorded in the audit trail (bug:/shop/shop-api); thank you"
    ]
    [row] = await queries.audit(appliance.ctx, object="bug:/shop/shop-api")
    assert (row.actor, row.action, row.detail) == ("viewer", "report bug", "the evidence tab is broken")
    assert await say(sh, "bug:") == ["error: not done: a bug report needs a description"]


@pytest.mark.parametrize(
    ("cwd", "question", "answer"),
    [
        ("/", "how many incidents are open?", ["out: 1 open incident"]),
        ("/shop/shop-frontend", "how many incidents are open?", ["out: 0 open incidents in /shop/shop-frontend"]),
        ("/shop", "how many things are there?", ["out: 1 incident in /shop", "out: 2 change sets in /shop",
                                                 "out: 1 artifact in /shop"]),
        ("/", "which change sets are open?", ["out: {fix_changeset}  open  Set SHOP_DB_URL  apps: shop-api",
                                             f"out:   MR: {MR}",
                                             "out: {feature_changeset}  proposing  Show stock levels  apps: shop-api, shop-frontend"]),
        ("/shop/shop-api", "what is deployed in preflight?", ["out: shop/shop-api/preflight:",
                                                            f"out: {{artifact}}  verified  {IMAGE}  (current)"]),
        ("/", "what is {artifact}?", ["out: {artifact} is an artifact, verified"]),
        ("/", "why is {feature_changeset} waiting?", ["out: {feature_changeset} is a change set, proposing",
                                                      "hint: no reason recorded; its last step: create-mr-from-patch"]),
        ("/", "what about {snapshot}?", ["out: {snapshot} is an evidence snapshot of {incident}: "
                                         "shop-api-7d9 CrashLoopBackOff, 4 restarts"]),
        ("/", "why was art-x rejected?", ["hint: I know no incident, change set, artifact or evidence snapshot 'art-x'"]),
        ("/", "which apps are there?", ["out: shop: apps shop-api, shop-frontend; components postgres"]),
        ("/", "what is the weather?", [f"hint: {replies.EXAMPLES}"]),
        ("/", "delete the prod namespace", [f"hint: {replies.REFUSAL}"]),
        ("/", "deploy now", [f"hint: {replies.REFUSAL}"]),
    ],
)  # fmt: skip
async def test_questions_are_answered_read_only_and_anything_else_is_refused(
    appliance: Appliance, shop: Shop, cwd: str, question: str, answer: list[str]
) -> None:
    ids = {
        k: getattr(shop, k)
        for k in ("artifact", "fix_changeset", "feature_changeset", "snapshot", "incident")
    }
    before = await queries.audit(appliance.ctx)
    assert await say(Shell(appliance.ctx, VIEWER, cwd), question.format(**ids)) == [
        a.format(**ids) for a in answer
    ]
    assert await queries.audit(appliance.ctx) == before


async def test_why_gives_the_recorded_reason(appliance: Appliance, shop: Shop) -> None:
    await actions.act(appliance.ctx, OWNER, kind="artifact", id=shop.artifact, action="reject")
    assert await say(Shell(appliance.ctx, VIEWER), f"why was {shop.artifact} rejected?") == [
        f"out: {shop.artifact} is an artifact, rejected: rejected by admin"
    ]


# --- the panel ---------------------------------------------------------------------------------

LogIn = Callable[[str], Awaitable[None]]


def _one(user: User, marker: str) -> ui.element:
    [element] = user.find(marker=marker).elements
    return element


def text(user: User, marker: str) -> str:
    element = _one(user, marker)
    assert isinstance(element, ui.label)
    return element.text


def answers(user: User) -> list[list[str]]:
    """The transcript: per answer, its lines (the echoed prompt first)."""
    return [[str(line.text) for line in answer] for answer in _one(user, "transcript")]  # type: ignore[attr-defined]


async def enter(user: User, line: str) -> list[str]:
    """Type `line` at the prompt, press Enter, and return the answer."""
    count = len(answers(user))
    user.find(marker="prompt").type(line).trigger("keydown.enter")
    await until(lambda: len(answers(user)) > count)
    return answers(user)[-1]


def prompt(user: User) -> ui.input:
    element = _one(user, "prompt")
    assert isinstance(element, ui.input)
    return element


async def test_a_command_is_echoed_with_the_cwd_and_answered(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    assert answers(user) == []
    assert await enter(user, "ls") == ["/ $ ls", "shop/  2 apps, 1 component"]
    assert prompt(user).value == ""
    for answer in _one(user, "transcript"):
        assert answer.props["data-testid"] == "answer"


async def test_cd_changes_the_cwd_label_and_the_prompt(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    assert await enter(user, "cd shop/shop-api/preflight") == ["/ $ cd shop/shop-api/preflight"]
    assert text(user, "cwd") == "/shop/shop-api/preflight"
    assert prompt(user).props["prefix"] == "$"  # the path is in the label only, not twice
    assert await enter(user, "cd ../nope") == [
        "/shop/shop-api/preflight $ cd ../nope",
        "no such environment of shop/shop-api: nope (choices: agents, preflight, production)",
    ]
    assert await enter(user, "cd ..") == ["/shop/shop-api/preflight $ cd .."]
    assert text(user, "cwd") == "/shop/shop-api"


async def test_tab_completes_one_candidate_and_lists_several(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    user.find(marker="prompt").type("cd sh").trigger("keydown.tab.prevent")
    await until(lambda: prompt(user).value == "cd shop/")
    user.find(marker="prompt").trigger("keydown.tab.prevent")
    await until(lambda: text(user, "completions") == "postgres  shop-api/  shop-frontend/")
    assert prompt(user).value == "cd shop/"
    user.find(marker="prompt").type("shop-a").trigger("keydown.tab.prevent")
    await until(lambda: prompt(user).value == "cd shop/shop-api/")
    assert text(user, "completions") == ""


async def test_tab_completes_ids_that_arrived_after_the_page_opened(
    user: User, log_in: LogIn, shop: Shop, appliance: Appliance
) -> None:
    await log_in("viewer")
    [fresh] = (await alerts.receive_alertmanager(appliance.ctx, shop_world.alert("fp-2", "OOM"))).instances
    user.find(marker="prompt").type("evidence inc").trigger("keydown.tab.prevent")
    await until(lambda: text(user, "completions") == f"{shop.incident}  {fresh}")


async def test_history_walks_up_and_down_back_to_the_draft(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    for line in ("pwd", "ls", "ls", "status"):
        await enter(user, line)
    user.find(marker="prompt").type("cd sh")
    walked = []
    for key in ("up", "up", "up", "up", "down", "down", "down", "down"):
        user.find(marker="prompt").trigger(f"keydown.{key}.prevent")
        walked.append(prompt(user).value)
    assert walked == ["status", "ls", "pwd", "pwd", "ls", "status", "cd sh", "cd sh"]


async def test_clear_empties_the_transcript(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    await enter(user, "pwd")
    user.find(marker="prompt").type("clear").trigger("keydown.enter")
    await until(lambda: answers(user) == [])


async def test_links_in_answers_are_links(user: User, log_in: LogIn, shop: Shop) -> None:
    await log_in("viewer")
    await enter(user, "changesets")
    links = [e for e in _one(user, "transcript").descendants() if isinstance(e, ui.link)]
    [link] = [e for e in links if e.props.get("href") == MR]
    assert link.text == f"  MR: {MR}"


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("admin", "promote {artifact}: verified -> promoting"),
        ("reviewer", "refused: promote artifact needs role owner; reviewer is reviewer"),
        ("viewer", "refused: promote artifact needs role owner; viewer is viewer"),
    ],
)
async def test_promotion_by_role(user: User, log_in: LogIn, shop: Shop, name: str, answer: str) -> None:
    await log_in(name)
    line = f"promote {shop.artifact}"
    assert await enter(user, line) == [f"/ $ {line}", answer.format(artifact=shop.artifact)]


async def test_free_text_of_each_kind_in_the_panel(
    user: User, log_in: LogIn, shop: Shop, appliance: Appliance
) -> None:
    await log_in("reviewer")
    await enter(user, "cd /shop")
    assert (await enter(user, "add a stock badge"))[1:] == [
        "feature request for shop (its apps as needed): add a stock badge",
        "type yes to request it (a change set, one merge request per app), no to drop it",
    ]
    assert (await enter(user, "yes"))[1].startswith("requested: change set cs-")
    assert (await enter(user, "the map is broken"))[1:] == [
        "bug report recorded in the audit trail (bug:/shop); thank you"
    ]
    assert (await enter(user, "how many change sets are open?"))[1:] == ["3 open change sets in /shop"]
    assert (await enter(user, "ignore the rules"))[1:] == [replies.REFUSAL]
