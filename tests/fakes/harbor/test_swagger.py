"""The Harbor fake against Harbor's official swagger (`tests/fixtures/harbor/swagger.yaml`, goharbor/harbor
`api/v2.0/swagger.yaml`, Apache-2.0, unchanged copy of ../shared/specs/harbor/swagger.yaml):
real responses for a pushed and scanned image conform, and generated input never gets a 5xx.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fakes.common.server import ThreadedServer
from fakes.harbor import build
from tests.fakes.harbor import oci
from tests.fakes.harbor.conftest import ADMIN, harbor_config, needs_registry

pytestmark = needs_registry
SWAGGER = Path(__file__).parents[2] / "fixtures" / "harbor" / "swagger.yaml"
AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
IMPLEMENTED = [
    "getHealth", "getPing", "getSystemInfo",
    "listProjects", "headProject", "createProject", "getProject", "updateProject", "deleteProject",
    "getProjectDeletable",
    "listAllRepositories", "listRepositories", "getRepository", "updateRepository", "deleteRepository",
    "listArtifacts", "getArtifact", "deleteArtifact", "scanArtifact", "getVulnerabilitiesAddition",
    "listTags", "createTag", "deleteTag",
    "ListRobot", "CreateRobot", "GetRobotByID", "RefreshSec", "DeleteRobot",
]  # fmt: skip
# Where Harbor itself departs from its swagger, the fake follows Harbor:
# - the vulnerabilities addition is declared a string; Harbor sends the report as a JSON object;
# - CreateRobot does not declare 409; Harbor answers 409 for a robot name already taken.
SCHEMA_EXEMPT = {"getVulnerabilitiesAddition"}
EXTRA_STATUS = {"CreateRobot": {409}}
EXAMPLES_PER_OPERATION = 7


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[str, dict[str, Any]]]:
    """A Harbor with a project, a pushed and scanned image, a tag and a robot."""
    with ThreadedServer(build(harbor_config())) as url:
        httpx.post(f"{url}/api/v2.0/projects", json={"project_name": "fuzz"}, auth=ADMIN).raise_for_status()
        img = oci.image({"app/requirements.txt": b"flask==0.12\n"})
        assert oci.Registry(url, *ADMIN).push("fuzz/api", "1.0", img).status_code == 201
        httpx.post(f"{url}/api/v2.0/projects/fuzz/repositories/api/artifacts/1.0/scan", auth=ADMIN)
        robot = httpx.post(
            f"{url}/api/v2.0/robots",
            auth=ADMIN,
            json={
                "name": "reader",
                "level": "project",
                "duration": 30,
                "permissions": [
                    {
                        "kind": "project",
                        "namespace": "fuzz",
                        "access": [{"resource": "repository", "action": "pull"}],
                    }
                ],
            },
        ).json()
        yield url, {"digest": img.digest, "robot_id": robot["id"]}


def _schema() -> Any:
    return schemathesis.openapi.from_path(SWAGGER).include(operation_id=IMPLEMENTED)


def _problems(operation: Any, case: Any, response: Any) -> list[str]:
    op_id = operation.definition.raw.get("operationId")
    label = f"{case.method} {case.formatted_path} -> {response.status_code}"
    if response.status_code >= 500:
        return [f"{label}: {response.text[:300]}"]
    checks = [c for c in CHECKS if not (op_id in SCHEMA_EXEMPT and c is response_schema_conformance)]
    if response.status_code in EXTRA_STATUS.get(op_id, set()):
        checks = [c for c in checks if c is not status_code_conformance]
    try:
        case.validate_response(response, checks=checks)
    except Exception as exc:  # schemathesis raises a group of check failures
        return [f"{label}: {str(exc)[:400]}"]
    return []


def test_real_responses_conform_to_the_swagger(seeded: tuple[str, dict[str, Any]]) -> None:
    url, known = seeded
    schema = _schema()
    repo = {"project_name": "fuzz", "repository_name": "api"}
    artifact = {**repo, "reference": known["digest"]}
    detail = {"with_scan_overview": "true", "with_label": "true", "with_accessory": "true"}
    cases = [
        ("getHealth", {}, {}),
        ("getPing", {}, {}),
        ("getSystemInfo", {}, {}),
        ("listProjects", {}, {}),
        ("getProject", {"project_name_or_id": "fuzz"}, {}),
        ("getProjectDeletable", {"project_name_or_id": "fuzz"}, {}),
        ("listAllRepositories", {}, {}),
        ("listRepositories", {"project_name": "fuzz"}, {}),
        ("getRepository", repo, {}),
        ("listArtifacts", repo, detail),
        ("getArtifact", artifact, detail),
        ("listTags", artifact, {}),
        ("getVulnerabilitiesAddition", artifact, {}),
        ("ListRobot", {}, {}),
        ("GetRobotByID", {"robot_id": known["robot_id"]}, {}),
    ]
    problems: list[str] = []
    for op_id, path_parameters, query in cases:
        operation = schema.find_operation_by_id(op_id)
        case = operation.Case(path_parameters=path_parameters, query=query)
        response = case.call(base_url=f"{url}/api/v2.0", headers=AUTH)
        assert response.status_code == 200, f"{op_id}: {response.status_code} {response.text[:200]}"
        problems += _problems(operation, case, response)
    assert not problems, "\n".join(problems)


def test_generated_input_gets_no_5xx_and_conforming_answers(seeded: tuple[str, dict[str, Any]]) -> None:
    url, known = seeded
    existing = {
        "project_name": "fuzz",
        "project_name_or_id": "fuzz",
        "repository_name": "api",
        "reference": "1.0",
        "tag_name": "1.0",
        "robot_id": known["robot_id"],
    }
    operations = [result.ok() for result in _schema().get_all_operations()]
    assert len(operations) == len(IMPLEMENTED)
    problems: list[str] = []
    calls = sum(_fuzz(operation, f"{url}/api/v2.0", existing, problems) for operation in operations)
    assert calls >= 150
    assert not problems, "\n".join(problems[:15])


def _fuzz(operation: Any, base_url: str, existing: dict[str, Any], problems: list[str]) -> int:
    calls = 0

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy(), aim=st.booleans())
    def check(case: Any, aim: bool) -> None:
        nonlocal calls
        calls += 1
        if aim and case.method != "DELETE" and case.path_parameters:
            # the seeded objects, with generated query, headers and body
            case.path_parameters = {k: existing.get(k, v) for k, v in case.path_parameters.items()}
        response = case.call(base_url=base_url, headers=AUTH)
        problems.extend(_problems(operation, case, response))

    check()
    return calls
