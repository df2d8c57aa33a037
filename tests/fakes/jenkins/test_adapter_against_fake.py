"""The appliance's Jenkins adapter (appliance.adapters.jenkins.ci) against the Jenkins fake."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from appliance.adapters.jenkins.ci import JenkinsCi
from appliance.ports.errors import PermanentError
from fakes.common.server import ThreadedServer
from fakes.jenkins import build
from tests.fakes.jenkins.conftest import config, wait_for


def _builds(url: str, job: str) -> list[dict[str, object]]:
    info = httpx.get(f"{url}/job/{job}/api/json", params={"depth": 1}, auth=("ci", "ci-token")).json()
    return info["builds"]


@pytest.mark.parametrize("quiet_period", ["0", "5"], ids=["found-among-builds", "found-in-queue"])
async def test_the_same_key_twice_starts_one_build(jobs_file: Path, quiet_period: str) -> None:
    with ThreadedServer(build(config(jobs_file, quiet_period=quiet_period))) as url:
        ci = JenkinsCi(url=url, user="ci", api_token="ci-token")
        first = await ci.trigger(job="build-fix-agent", params={"app": "shop-api"}, key="inc-1:build:1")
        if quiet_period == "0":
            wait_for(lambda: _builds(url, "build-fix-agent"))
        again = await ci.trigger(job="build-fix-agent", params={"app": "shop-api"}, key="inc-1:build:1")
        other = await ci.trigger(job="build-fix-agent", params={"app": "shop-api"}, key="inc-2:build:1")
        await ci.aclose()
        assert first.queue_url.startswith(f"{url}/queue/item/") and not first.duplicate
        assert again.duplicate and not other.duplicate
        if quiet_period == "0":
            assert again.queue_url == f"{url}/job/build-fix-agent/1/"
            wait_for(lambda: len(_builds(url, "build-fix-agent")) == 2)
        else:
            queue = httpx.get(f"{url}/queue/api/json", auth=("ci", "ci-token")).json()["items"]
            assert len(queue) == 2


async def test_wrong_token_and_missing_permission_are_permanent(url: str) -> None:
    for user, token, status in (("ci", "wrong", "401"), ("viewer", "viewer-token", "403")):
        ci = JenkinsCi(url=url, user=user, api_token=token)
        with pytest.raises(PermanentError, match=status):
            await ci.trigger(job="build-fix-agent", params={}, key="k")
        await ci.aclose()
    assert _builds(url, "build-fix-agent") == []
