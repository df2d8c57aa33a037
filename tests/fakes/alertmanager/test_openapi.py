"""Schemathesis over the official openapi.yaml, limited to the operations the fake implements:
no input gets a 5xx, and every response has a declared status, content type and body schema.

Not checked: that every schema-valid request is accepted. The spec types `filter` and
`receiver` as plain strings, but Alertmanager (and the fake) answer 400 to a malformed matcher
or regular expression.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fakes.alertmanager import build
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer

SPEC = Path(__file__).parents[2] / "fixtures" / "alertmanager" / "openapi.yaml"
IMPLEMENTED = ("getStatus", "getReceivers", "getAlerts", "postAlerts", "getAlertGroups")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    config = FakeConfig(options={"group_by": "alertname,service", "group_wait": "30"})
    with ThreadedServer(build(config)) as base:
        yield base


def test_implemented_operations_conform_to_the_spec(url: str) -> None:
    schema = schemathesis.openapi.from_path(SPEC)
    operations = [result.ok() for result in schema.get_all_operations()]
    chosen = [op for op in operations if op.definition.raw.get("operationId") in IMPLEMENTED]
    assert len(chosen) == len(IMPLEMENTED)
    calls: dict[str, int] = {}
    for operation in chosen:

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(base_url=f"{url}/api/v2")
            case.validate_response(response, checks=CHECKS)
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1

        run()
    assert len(calls) == len(IMPLEMENTED) and sum(calls.values()) >= 100, calls
