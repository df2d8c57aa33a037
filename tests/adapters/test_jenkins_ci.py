"""The Jenkins adapter over real HTTP against a server on the Jenkins remote API (tests/support/world.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.adapters.jenkins.ci import JenkinsCi
from appliance.ports.errors import PermanentError, TransientError
from tests.support.world import World, free_port


@pytest.fixture
def world() -> Iterator[World]:
    w = World(run_jobs=False).start()
    yield w
    w.stop()


async def test_trigger_posts_parameters_with_crumb_and_returns_the_queue_item(world: World) -> None:
    ci = JenkinsCi(url=world.url, user="ci", api_token="t")
    run = await ci.trigger(job="build", params={"app": "shop-api"}, key="cs-1:build:1")
    await ci.aclose()
    assert run.queue_url == f"{world.url}/queue/item/1/"
    assert not run.duplicate
    [build] = world.builds
    assert build.params == {"app": "shop-api", "PATHOPS_IDEMPOTENCY_KEY": "cs-1:build:1"}


async def test_the_same_key_twice_starts_one_build(world: World) -> None:
    ci = JenkinsCi(url=world.url, user="ci", api_token="t")
    await ci.trigger(job="build", params={}, key="k:1")
    again = await ci.trigger(job="build", params={}, key="k:1")
    other = await ci.trigger(job="build", params={}, key="k:2")
    await ci.aclose()
    assert again.duplicate and again.queue_url.endswith("/job/build/1/")
    assert not other.duplicate
    assert world.builds_per_key() == {"k:1": 1, "k:2": 1}


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, TransientError), (429, TransientError), (401, PermanentError), (404, PermanentError)],
)
async def test_statuses_map_to_the_port_error_tree(world: World, status: int, error: type[Exception]) -> None:
    world.answer_with = status
    ci = JenkinsCi(url=world.url, user="ci", api_token="t")
    with pytest.raises(error, match=str(status)):
        await ci.trigger(job="build", params={}, key="k:1")
    await ci.aclose()
    assert world.builds == []


async def test_an_unreachable_jenkins_is_transient() -> None:
    ci = JenkinsCi(url=f"http://127.0.0.1:{free_port()}", user="ci", api_token="t", timeout=2)
    with pytest.raises(TransientError, match="ConnectError"):
        await ci.trigger(job="build", params={}, key="k:1")
    await ci.aclose()
