"""Schemathesis over every operation of /schema: no input, however odd, gets a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from appliance.contracts.settings import Settings
from tests.support.doubles import RecordingCi
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow
EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    live = LiveServer(
        Settings(
            data_dir=data_dir, alertmanager_secret="a", gitlab_secret="g", argocd_secret="r", callback_key="k"
        ),
        ci=RecordingCi(),
    ).start()
    yield live
    live.stop()


def test_every_operation_survives_generated_input(server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "the schema should list every endpoint"
    failures: list[str] = []
    calls = 0
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers={"Authorization": f"Bearer {server.token}", "X-Gitlab-Token": "g"})
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
                )

        run()
    assert calls >= 200, f"only {calls} requests were generated"
    assert not failures, "\n".join(failures[:20])
