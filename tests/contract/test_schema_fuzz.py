"""Schemathesis over every operation of /schema: no input, however odd, gets a 5xx."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient

from appliance.bootstrap import build
from appliance.contracts.settings import Settings
from appliance.entrypoints.api.app import create_app
from appliance.services import access, projects
from tests.support.doubles import RecordingCi

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(data_dir=data_dir, alertmanager_secret="a", gitlab_secret="g", argocd_secret="r",
                         callback_key="k")  # fmt: skip
    appliance = asyncio.run(build(settings_, ci=RecordingCi()))
    app = create_app(appliance, run_workers=False)
    with TestClient(app=app) as client:
        token = client.portal.call(access.ensure_owner, appliance.ctx, name="admin")  # type: ignore[arg-type]
        seed = (Path(__file__).parents[2] / "appliance" / "seed" / "shop.yaml").read_text()
        client.portal.call(projects.load, appliance.ctx, projects.parse_meta(seed), actor="test")  # type: ignore[arg-type]
        yield app, token


def test_every_operation_survives_generated_input(served: Any) -> None:
    app, token = served
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 30, "the schema should list every endpoint"
    failures: list[str] = []
    for operation in operations:

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @schemathesis.given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}", "X-Gitlab-Token": "g"})
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
                )

        run()
    assert not failures, "\n".join(failures[:20])
