"""Autonomy level 3: an incident in production rolls production back to the release promoted before
the current one, through CI job `rollback` and its callback; below level 3 it says why it does not."""

from __future__ import annotations

from appliance.bootstrap import Appliance
from appliance.logic.rollback import Release
from appliance.services import alerts, production, projects, queries
from tests.support.doubles import RecordingCi
from tests.support.releases import crash_loop_in_production, promoted, rolled_back

META = """
name: shop
apps:
  - {name: shop-api, kind: api}
environments:
  - {name: preflight, autonomy: 1}
  - {name: production, autonomy: LEVEL}
"""


async def _shop(appliance: Appliance, *, level: int, **minutes_ago: int) -> None:
    """The project with production at `level`, and a release `x` * 40 promoted `x=` minutes ago."""
    await projects.load(appliance.ctx, projects.parse_meta(META.replace("LEVEL", str(level))), actor="test")
    for sha, minutes in minutes_ago.items():
        await promoted(appliance, sha * 40, minutes_ago=minutes)


def _running(histories: dict[tuple[str, str], production.History]) -> Release:
    now = histories[("shop", "shop-api")].running
    assert now is not None
    return now


async def test_level_three_rolls_production_back_to_the_release_before_the_current_one(
    appliance: Appliance, ci: RecordingCi
) -> None:
    ctx = appliance.ctx
    await _shop(appliance, level=3, a=60, b=5)  # a: the last good one; b: what runs now, and crash-loops
    accepted = await alerts.receive_alertmanager(ctx, crash_loop_in_production())
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
    await rolled_back(
        appliance, ci, incident_id, mr_url="http://gitlab/shop/shop-api-gitops/-/merge_requests/4"
    )
    state = (await queries.instance(ctx, "incident", incident_id)).state
    assert state["rollback"] == "done" and state["phase"] == "collecting-evidence"


async def test_below_level_three_the_incident_says_why_it_does_not_roll_back(
    appliance: Appliance, ci: RecordingCi
) -> None:
    ctx = appliance.ctx
    await _shop(appliance, level=2, a=60, b=5)
    [incident_id] = (await alerts.receive_alertmanager(ctx, crash_loop_in_production())).instances
    await appliance.dispatcher.tick()
    assert "rollback" not in [c[0] for c in ci.calls]
    state = (await queries.instance(ctx, "incident", incident_id)).state
    assert state["rollback"] == "skipped"
    [step] = [s for s in state["steps"] if s["step"] == "rollback"]
    assert step["message"].startswith("no rollback: autonomy level 2 does not roll back in production")


async def test_after_a_rollback_production_runs_the_earlier_release_and_the_next_goes_further_back(
    appliance: Appliance, ci: RecordingCi
) -> None:
    ctx = appliance.ctx
    await _shop(appliance, level=3, c=120, a=60, b=5)
    [first] = (await alerts.receive_alertmanager(ctx, crash_loop_in_production("fp-prod-1"))).instances
    await appliance.dispatcher.tick()
    [(_, _, params)] = [c for c in ci.calls if c[0] == "rollback"]
    assert params["artifact_id"] == "art-shop-api-aaaaaaaaaaaa"
    assert _running(await production.everywhere(ctx)).artifact_id == "art-shop-api-bbbbbbbbbbbb"
    await rolled_back(appliance, ci, first)
    now = _running(await production.everywhere(ctx))
    assert (now.artifact_id, now.by) == ("art-shop-api-aaaaaaaaaaaa", first)

    [second] = (await alerts.receive_alertmanager(ctx, crash_loop_in_production("fp-prod-2"))).instances
    assert second != first
    await appliance.dispatcher.tick()
    again = [p for job, _, p in ci.calls if job == "rollback" and p["incident_id"] == second]
    assert [p["artifact_id"] for p in again] == ["art-shop-api-cccccccccccc"]  # not a, which runs already
