"""The Lane machine: one preflight run at a time per app's preflight namespace, in arrival order."""

from __future__ import annotations

from appliance.contracts.workflow import Event, Send
from appliance.logic import lane
from tests.unit.alphabets import LANE, ev, only


def _queued(run: str) -> Event:
    started = {
        "app": "api",
        "artifact_id": f"art-{run}",
        "project": "shop",
        "commit_sha": "abc1234",
        "image": f"reg/api:{run}",
    }
    return ev("enqueue", preflight_id=f"pf-{run}", project="shop", app="api", started=started)


def _released(run: str) -> Event:
    return ev("released", preflight_id=f"pf-{run}", project="shop", app="api")


def test_runs_take_the_namespace_one_at_a_time_in_arrival_order() -> None:
    first = LANE.decide(None, _queued("1"))
    [start] = only(first.effects, Send)
    assert (start.kind, start.instance, start.event.name) == ("preflight", "pf-1", "started")
    assert start.event.data["image"] == "reg/api:1" and start.event_id == "pf-1:started"
    second = LANE.decide(first.state, _queued("2"))
    third = LANE.decide(second.state, _queued("3"))
    assert not second.effects and not third.effects  # pf-1 still deploys there
    assert [q.preflight_id for q in third.state.queue] == ["pf-2", "pf-3"]
    freed = LANE.decide(third.state, _released("1"))
    [start] = only(freed.effects, Send)
    assert start.instance == "pf-2" and freed.state.active == "pf-2" and freed.state.phase == lane.BUSY


def test_a_run_that_had_its_turn_is_not_queued_again_and_one_released_early_leaves_the_queue() -> None:
    state, _ = LANE.run([_queued("1"), _queued("2"), _released("2")])
    assert state.active == "pf-1" and not state.queue
    state, _ = LANE.run([_queued("1"), _released("1")])
    assert state.phase == lane.IDLE
    again = LANE.decide(state, _queued("1"))  # a late redelivery
    assert again.state == state and not again.effects


def test_the_lane_is_named_after_its_project_and_app() -> None:
    assert lane.lane_id("shop", "shop-api") == "lane-shop-shop-api"
