"""The Argo CD fake's API: sessions, applications, errors like Argo CD's, and the official swagger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fakes.argocd import build
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer

SWAGGER = Path(__file__).parents[3] / "tests" / "fixtures" / "argocd" / "swagger.json"
# the response must follow the spec; whether a schema-valid but meaningless body is refused is Argo CD's call
SPEC_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ADMIN = {"Authorization": "Bearer t-admin"}
APP = {
    "metadata": {"name": "shop-api-preflight"},
    "spec": {
        "project": "default",
        "source": {"repoURL": "http://gitlab.test/shop/shop-api-gitops.git", "path": "overlays/preflight"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop-api-preflight"},
    },
}


@pytest.fixture(scope="module")
def argocd() -> Iterator[str]:
    config = FakeConfig(
        tokens={"t-admin": "admin", "t-read": "viewer"}, options={"readers": "viewer", "admin_password": "pw"}
    )
    with ThreadedServer(build(config)) as url:
        yield url


def test_session_and_wrong_tokens_like_argocd(argocd: str) -> None:
    token = httpx.post(f"{argocd}/api/v1/session", json={"username": "admin", "password": "pw"}).json()[
        "token"
    ]
    me = httpx.get(f"{argocd}/api/v1/session/userinfo", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["username"] == "admin" and me["loggedIn"] is True
    bad = httpx.post(f"{argocd}/api/v1/session", json={"username": "admin", "password": "no"})
    assert bad.status_code == 401
    wrong = httpx.get(f"{argocd}/api/v1/applications", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "invalid session: token is not valid",
        "code": 16,
        "message": "invalid session: token is not valid",
    }
    assert httpx.get(f"{argocd}/api/v1/applications").json()["code"] == 16


def test_application_lifecycle_and_errors(argocd: str) -> None:
    created = httpx.post(f"{argocd}/api/v1/applications", json=APP, headers=ADMIN)
    assert created.status_code == 200, created.text
    assert created.json()["metadata"]["namespace"] == "argocd"
    listed = httpx.get(f"{argocd}/api/v1/applications", headers=ADMIN).json()
    assert "shop-api-preflight" in [a["metadata"]["name"] for a in listed["items"]]
    viewer = httpx.post(
        f"{argocd}/api/v1/applications/shop-api-preflight/sync",
        json={},
        headers={"Authorization": "Bearer t-read"},
    )
    assert (viewer.status_code, viewer.json()["code"]) == (403, 7)
    missing = httpx.get(f"{argocd}/api/v1/applications/nope", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.json()["message"] == 'applications.argoproj.io "nope" not found'
    invalid = httpx.post(f"{argocd}/api/v1/applications", json={"metadata": {"name": "x"}}, headers=ADMIN)
    assert (invalid.status_code, invalid.json()["code"]) == (400, 3)
    access = httpx.get(f"{argocd}/_fake/access-log").json()
    assert {"identity": "viewer", "outcome": 403} in [
        {"identity": a["identity"], "outcome": a["outcome"]} for a in access
    ]


def test_git_webhook_needs_the_secret(argocd: str) -> None:
    response = httpx.post(
        f"{argocd}/api/webhook", json={"object_kind": "push"}, headers={"X-Gitlab-Token": "no"}
    )
    assert response.status_code == 400


def test_implemented_operations_conform_to_the_official_swagger(argocd: str) -> None:
    schema = schemathesis.openapi.from_path(SWAGGER).include(
        path_regex=r"^/api/v1/(session(/userinfo)?|applications(/\{name\}(/sync)?|/\{applicationName\}/(resource-tree|managed-resources))?)$",
        method=["GET", "POST", "DELETE"],
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    problems: list[str] = []
    for operation in operations:

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(base_url=argocd, headers=ADMIN)
            if response.status_code >= 500:
                problems.append(f"{case.method} {case.formatted_path}: {response.status_code}")
                return
            try:
                case.validate_response(response, checks=SPEC_CHECKS)
            except Exception as exc:  # schemathesis raises a group of check failures
                problems.append(f"{case.method} {case.formatted_path}: {str(exc)[:300]}")

        check()
    assert not problems, "\n".join(problems[:10])


def test_applications_survive_a_restart_with_a_data_dir(tmp_path: Path) -> None:
    config = FakeConfig(data_dir=tmp_path, tokens={"t-admin": "admin"})
    with ThreadedServer(build(config)) as url:
        assert httpx.post(f"{url}/api/v1/applications", json=APP, headers=ADMIN).status_code == 200
    with ThreadedServer(build(config)) as url:
        again = httpx.get(f"{url}/api/v1/applications/shop-api-preflight", headers=ADMIN)
        assert again.status_code == 200
        assert again.json()["spec"]["source"] == APP["spec"]["source"]
