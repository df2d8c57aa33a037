"""Deploy order: dependencies first, ties by name, cycles and unknown apps named."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.logic.deploy_order import CycleError, deploy_order


def test_dependencies_come_first() -> None:
    assert deploy_order({"frontend": ["api"], "api": ["db"], "db": []}) == ["db", "api", "frontend"]


def test_apps_ready_together_go_by_name_whatever_the_input_order() -> None:
    deps = {"worker": ["api"], "frontend": ["api"], "api": [], "auth": [], "zeta": []}
    assert deploy_order(deps) == ["api", "auth", "frontend", "worker", "zeta"]
    assert deploy_order(dict(reversed(list(deps.items())))) == ["api", "auth", "frontend", "worker", "zeta"]


def test_a_dependency_may_be_any_iterable_and_repeat() -> None:
    assert deploy_order({"b": iter(["a", "a"]), "a": ()}) == ["a", "b"]
    assert deploy_order({}) == []


@pytest.mark.parametrize(
    ("deps", "message"),
    [
        ({"a": ["b"], "b": ["a"]}, "dependency cycle: a -> b -> a"),
        ({"a": ["a"]}, "dependency cycle: a -> a"),
        (
            {"web": ["api"], "api": ["db"], "db": ["cache"], "cache": ["api"]},
            "dependency cycle: api -> db -> cache -> api",
        ),
        ({"a": ["b"], "b": ["c"], "c": ["b"], "d": []}, "dependency cycle: b -> c -> b"),
    ],
)
def test_a_cycle_is_an_error_that_names_its_path(deps: dict[str, list[str]], message: str) -> None:
    with pytest.raises(CycleError) as caught:
        deploy_order(deps)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)
    assert caught.value.cycle[0] == caught.value.cycle[-1]


def test_an_unknown_dependency_is_named() -> None:
    with pytest.raises(ValueError, match="'frontend' depends on unknown app 'api'"):
        deploy_order({"frontend": ["api"]})


NAMES = st.sampled_from(["api", "auth", "cache", "db", "frontend", "search", "web", "worker"])


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(NAMES, st.lists(NAMES, max_size=3), max_size=8))
def test_any_graph_gives_a_valid_order_or_a_real_cycle(graph: dict[str, list[str]]) -> None:
    deps = {app: [d for d in needs if d in graph] for app, needs in graph.items()}
    try:
        order = deploy_order(deps)
    except CycleError as error:
        cycle = error.cycle
        assert all(cycle[i + 1] in deps[cycle[i]] for i in range(len(cycle) - 1))
        return
    assert sorted(order) == sorted(deps)
    position = {app: n for n, app in enumerate(order)}
    assert all(position[need] < position[app] for app, needs in deps.items() for need in needs)
    assert deploy_order(dict(reversed(list(deps.items())))) == order
