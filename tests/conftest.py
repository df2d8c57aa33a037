from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from appliance.bootstrap import Appliance, build
from appliance.contracts.settings import Settings
from appliance.entrypoints.api.app import create_app
from appliance.services import access
from tests.support.doubles import CountingIds, FakeClock, RecordingCi

FIXTURES = Path(__file__).parent / "fixtures"


def golden(*parts: str) -> Any:
    """A golden file from tests/fixtures (real captures, e.g. Alertmanager 0.25 webhooks)."""
    return json.loads(FIXTURES.joinpath(*parts).read_text())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        alertmanager_secret="am-secret",
        gitlab_secret="gl-secret",
        argocd_secret="argo-secret",
        callback_key="cb-key",
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ci() -> RecordingCi:
    return RecordingCi()


@pytest.fixture
async def appliance(settings: Settings, ci: RecordingCi, clock: FakeClock) -> AsyncIterator[Appliance]:
    app = await build(settings, ci=ci, clock=clock, ids=CountingIds())
    yield app
    await app.store.close()


@pytest.fixture
async def owner_token(appliance: Appliance) -> str:
    token = await access.ensure_owner(appliance.ctx, name="admin")
    assert token is not None
    return token


@pytest.fixture
async def client(appliance: Appliance) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(appliance, run_workers=False)) as c:
        yield c


@pytest.fixture(scope="session")
def docker_registry_binary() -> str:
    """Debian's OCI registry, which the Harbor fake runs; a missing one is an error, not a skip."""
    import shutil

    path = shutil.which("docker-registry") or shutil.which("registry")
    if path is None:
        pytest.fail("needs Debian's docker-registry: apt-get install docker-registry (.ci/run does)")
    return path
