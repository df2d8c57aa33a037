"""The seed content on its own: the apps pass their own CI tests and honour their contract, the
manifests render into valid objects, and the meta repo's project.yaml is the control plane's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import jsonschema
import pytest
import yaml

from appliance.adapters.embedded.content import SHOP, ProjectSeed, image_spec, manifests, port_of, render
from appliance.adapters.embedded.jenkins import config_xml, definition, jenkinsfile
from appliance.contracts.ci import JOBS, parameters
from appliance.ports.errors import PermanentError
from fakes.jenkins.model import job_from_xml
from tests.support.world import free_port

PROJECT = ProjectSeed.read(SHOP)


def test_the_meta_repo_describes_the_project_the_control_plane_loads() -> None:
    control_plane = yaml.safe_load((SHOP.parent / "shop.yaml").read_text())
    assert yaml.safe_load((SHOP / "meta" / "project.yaml").read_text()) == control_plane
    assert PROJECT.apps == ("shop-api", "shop-frontend")
    assert PROJECT.repos()[0] == ("shop/shop-meta", "meta")
    for app in PROJECT.apps:
        files = PROJECT.files(app)
        assert {".env.example", "app.py", "ci/test_app.py", "deploy/image.yaml"} <= set(files), app
        assert PROJECT.files(f"gitops/{app}").keys() >= {
            "agents/.gitkeep",
            "preflight/params.yaml",
            "production/params.yaml",
        }


@pytest.mark.parametrize("app", PROJECT.apps)
def test_each_app_passes_its_own_ci_tests(app: str) -> None:
    result = subprocess.run(
        [sys.executable, "-B", "-m", "unittest", "discover", "-s", "ci"],
        cwd=SHOP / app,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stderr


@pytest.mark.parametrize("app", PROJECT.apps)
def test_the_manifests_render_into_objects_with_the_port_and_image(app: str) -> None:
    files = PROJECT.files(app)
    found = manifests(files)
    assert sorted(found) == ["deployment.yaml", "kustomization.yaml", "service.yaml"]  # image.yaml is not one
    values = {"IMAGE": f"127.0.0.1:5000/shop/{app}:0123456789ab", "PORT": "18123", "COMMIT_SHA": "ab" * 20}
    objects = {name: yaml.safe_load(render(text, values)) for name, text in found.items()}
    deployment = objects["deployment.yaml"]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == values["IMAGE"] and container["ports"][0]["containerPort"] == 18123
    assert {"name": "PORT", "value": "18123"} in container["env"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 18123}
    assert container["resources"]["limits"]["memory"] == "128Mi"
    assert pod["metadata"]["annotations"]["pathops.dev/commit-sha"] == values["COMMIT_SHA"]
    assert deployment["metadata"]["labels"] == {"app": app, "pathops.dev/project": "shop"}
    assert objects["service.yaml"]["spec"]["ports"][0]["port"] == 18123
    assert objects["kustomization.yaml"]["resources"] == ["deployment.yaml", "service.yaml"]
    assert image_spec(files) == (["python", "/app/app.py"], "/app")
    params = render(PROJECT.files(f"gitops/{app}")["preflight/params.yaml"].decode(), {"PORT": "18123"})
    assert port_of(params.encode()) == 18123


def test_a_placeholder_without_a_value_is_an_error() -> None:
    with pytest.raises(PermanentError, match=r"\$\{COMMIT_SHA\}"):
        render("image: ${IMAGE}\nsha: ${COMMIT_SHA}\n", {"IMAGE": "x"})


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "SHOP_DB_URL": "postgresql://postgres:5432/shop"}
    proc = subprocess.Popen(
        [sys.executable, "-B", str(SHOP / "shop-api" / "app.py")], env=env, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "shop-api did not start"
            time.sleep(0.05)
    yield url
    proc.terminate()
    assert proc.wait(timeout=10) == 0  # SIGTERM is a clean stop


def test_shop_api_answers_as_its_openapi_contract_says(api: str) -> None:
    contract = yaml.safe_load((SHOP / "meta" / "contracts" / "shop-api.openapi.yaml").read_text())
    schemas = contract["components"]["schemas"]

    def check(path: str, status: int, schema: dict[str, object]) -> None:
        try:
            response = urllib.request.urlopen(f"{api}{path}", timeout=5)
        except urllib.error.HTTPError as exc:
            response = exc
        assert response.status == status, path
        body = json.load(response)
        jsonschema.validate(body, {**schema, "components": contract["components"]})

    ref = {"$ref": "#/components/schemas/Product"}
    assert set(contract["paths"]) == {"/healthz", "/products", "/products/{id}"}
    check("/healthz", 200, schemas["Health"])
    check("/products", 200, {"type": "array", "items": ref, "minItems": 1})
    check("/products/2", 200, ref)
    check("/products/999", 404, schemas["Error"])


@pytest.mark.parametrize("job", sorted(JOBS))
def test_each_ci_job_declares_its_parameters_and_runs_pathops_ci(job: str) -> None:
    xml = config_xml(job)
    parsed = job_from_xml(job, xml, default_timeout=60)  # what the Jenkins fake reads
    assert [p.name for p in parsed.params] == list(parameters(job))
    assert parsed.steps == [["/bin/sh", "-xe", "-c", f"pathops-ci {job}"]]
    tree = ET.fromstring(xml.split("\n", 1)[1])
    ET.indent(tree)  # Jenkins rewrites a job's config.xml in its own layout: the same definition
    assert (
        definition(ET.tostring(tree, encoding="unicode"))
        == definition(xml)
        == (parameters(job), jenkinsfile(job).strip())
    )
