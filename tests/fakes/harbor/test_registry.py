"""The Harbor fake's registry over real HTTP: OCI push and pull with the token flow, as docker does."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from fakes.common.server import ThreadedServer
from fakes.harbor import build
from tests.fakes.harbor import oci
from tests.fakes.harbor.conftest import ADMIN, harbor_config, needs_registry

pytestmark = needs_registry
API = "/api/v2.0"
REQUIREMENTS = {
    "srv/app/requirements.txt": b"# pinned\nflask==0.12\nrequests==2.31.0 ; python_version > '3'\n"
}


def _project(url: str, name: str, auth: tuple[str, str] = ADMIN, **body: object) -> None:
    created = httpx.post(f"{url}{API}/projects", json={"project_name": name, **body}, auth=auth)
    assert created.status_code == 201, created.text


def test_push_and_pull_an_oci_image_then_see_it_as_an_artifact(harbor: str) -> None:
    challenge = httpx.get(f"{harbor}/v2/")
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"] == (
        f'Bearer realm="{harbor}/service/token",service="harbor-registry"'
    )
    _project(harbor, "shop")
    registry = oci.Registry(harbor, *ADMIN)
    img = oci.image(REQUIREMENTS, {"srv/app/main.py": b"print('hi')\n" * 500})

    assert registry.push_blob_monolithic("shop/api", img.config).status_code == 201
    assert registry.push_blob_monolithic("shop/api", img.layers[0]).status_code == 201
    chunked = registry.push_blob_chunked("shop/api", img.layers[1], chunk=1000)
    assert chunked.status_code == 201 and chunked.headers["docker-content-digest"] == oci.digest_of(
        img.layers[1]
    )
    head = registry.request(
        "HEAD", f"/v2/shop/api/blobs/{oci.digest_of(img.layers[1])}", scope="shop/api:pull"
    )
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(img.layers[1])
    pushed = registry.push_manifest("shop/api", "1.0", img.manifest)
    assert pushed.status_code == 201 and pushed.headers["docker-content-digest"] == img.digest

    by_tag = registry.pull_manifest("shop/api", "1.0")
    assert by_tag.status_code == 200 and by_tag.content == img.manifest, by_tag.text
    assert by_tag.headers["content-type"] == oci.OCI_MANIFEST
    by_digest = registry.pull_manifest("shop/api", img.digest)
    assert by_digest.status_code == 200 and by_digest.headers["docker-content-digest"] == img.digest
    for data in (img.config, *img.layers):
        blob = registry.request("GET", f"/v2/shop/api/blobs/{oci.digest_of(data)}", scope="shop/api:pull")
        assert blob.status_code == 200 and blob.content == data
    tags = registry.request("GET", "/v2/shop/api/tags/list", scope="shop/api:pull")
    assert tags.json() == {"name": "shop/api", "tags": ["1.0"]}
    assert registry.pull_manifest("shop/api", "2.0").status_code == 404

    repos = httpx.get(f"{harbor}{API}/projects/shop/repositories", auth=ADMIN).json()
    assert [(r["name"], r["artifact_count"], r["pull_count"]) for r in repos] == [("shop/api", 1, 2)]
    [artifact] = httpx.get(f"{harbor}{API}/projects/shop/repositories/api/artifacts", auth=ADMIN).json()
    assert artifact["digest"] == img.digest and artifact["size"] == img.size
    assert artifact["manifest_media_type"] == oci.OCI_MANIFEST and artifact["media_type"] == oci.OCI_CONFIG
    assert artifact["type"] == "IMAGE" and [t["name"] for t in artifact["tags"]] == ["1.0"]
    assert artifact["push_time"].endswith("Z") and artifact["extra_attrs"]["config"]["Cmd"] == ["app"]
    got = httpx.get(f"{harbor}{API}/projects/shop/repositories/api/artifacts/{img.digest}", auth=ADMIN)
    assert got.json()["id"] == artifact["id"]

    log = httpx.get(f"{harbor}/_fake/access-log").json()
    assert {
        "identity": "admin",
        "method": "PUT",
        "object": "artifact shop/api:1.0",
        "outcome": 201,
    }.items() <= next(e for e in log if e["method"] == "PUT" and "/manifests/" in e["path"]).items()


def test_a_project_robot_pushes_only_to_its_project(harbor: str) -> None:
    _project(harbor, "team")
    _project(harbor, "other")
    created = httpx.post(
        f"{harbor}{API}/robots",
        auth=ADMIN,
        json={
            "name": "ci",
            "level": "project",
            "duration": -1,
            "permissions": [
                {
                    "kind": "project",
                    "namespace": "team",
                    "access": [
                        {"resource": "repository", "action": "push"},
                        {"resource": "repository", "action": "pull"},
                        {"resource": "artifact", "action": "list"},
                    ],
                }
            ],
        },
    )
    assert created.status_code == 201, created.text
    robot = created.json()
    assert robot["name"] == "robot$team+ci" and robot["secret"]
    assert created.headers["location"] == f"{API}/robots/{robot['id']}"
    listed = httpx.get(f"{harbor}{API}/robots", params={"q": "Level=project"}, auth=ADMIN).json()
    assert "robot$team+ci" in [r["name"] for r in listed] and "secret" not in listed[0]

    as_robot = oci.Registry(harbor, robot["name"], robot["secret"])
    img = oci.image({"hello.txt": b"hello"})
    assert as_robot.push("team/worker", "v1", img).status_code == 201
    refused = as_robot.request("POST", "/v2/other/worker/blobs/uploads/", scope="o:push")
    assert refused.status_code == 401
    assert refused.json() == {
        "errors": [
            {
                "code": "UNAUTHORIZED",
                "message": "unauthorized to access repository: other/worker, action: push",
            }
        ]
    }
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]

    robot_auth = (robot["name"], robot["secret"])
    listed_artifacts = httpx.get(
        f"{harbor}{API}/projects/team/repositories/worker/artifacts", auth=robot_auth
    )
    assert listed_artifacts.status_code == 200 and listed_artifacts.json()[0]["digest"] == img.digest
    forbidden = httpx.delete(f"{harbor}{API}/projects/team/repositories/worker", auth=robot_auth)
    assert forbidden.status_code == 403 and forbidden.json()["errors"][0]["code"] == "FORBIDDEN"
    assert httpx.get(f"{harbor}{API}/projects/other/repositories", auth=robot_auth).status_code == 403

    assert httpx.delete(f"{harbor}{API}/robots/{robot['id']}", auth=ADMIN).status_code == 200
    gone = httpx.get(f"{harbor}{API}/projects/team", auth=robot_auth)
    assert gone.status_code == 401 and gone.json() == {
        "errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]
    }


def test_scan_finds_the_configured_cve_in_a_layers_requirements(harbor: str) -> None:
    _project(harbor, "scanned")
    registry = oci.Registry(harbor, *ADMIN)
    img = oci.image({"etc/motd": b"hi"}, REQUIREMENTS)
    assert registry.push("scanned/api", "1.0", img).status_code == 201
    base = f"{harbor}{API}/projects/scanned/repositories/api/artifacts/1.0"
    assert httpx.get(f"{base}/additions/vulnerabilities", auth=ADMIN).json() == {}

    assert httpx.post(f"{base}/scan", auth=ADMIN).status_code == 202
    report = httpx.get(f"{base}/additions/vulnerabilities", auth=ADMIN)
    assert report.status_code == 200 and report.headers["content-type"] == "application/json"
    body = report.json()["application/vnd.security.vulnerability.report; version=1.1"]
    assert body["severity"] == "High" and body["scanner"]["name"] == "Trivy"
    [vuln] = body["vulnerabilities"]
    assert (vuln["id"], vuln["package"], vuln["version"], vuln["fix_version"], vuln["severity"]) == (
        "CVE-2018-1000656", "flask", "0.12", "0.12.3", "High"
    )  # fmt: skip
    assert vuln["layer"]["digest"] == oci.digest_of(img.layers[1])

    artifact = httpx.get(base, params={"with_scan_overview": "true"}, auth=ADMIN).json()
    [overview] = artifact["scan_overview"].values()
    assert overview["scan_status"] == "Success" and overview["severity"] == "High"
    assert overview["summary"] == {"total": 1, "fixable": 1, "summary": {"High": 1}}

    clean = oci.image({"srv/requirements.txt": b"flask==2.3.0\n"})
    assert registry.push("scanned/clean", "1.0", clean).status_code == 201
    clean_base = f"{harbor}{API}/projects/scanned/repositories/clean/artifacts/1.0"
    httpx.post(f"{clean_base}/scan", auth=ADMIN)
    clean_report = httpx.get(f"{clean_base}/additions/vulnerabilities", auth=ADMIN).json()
    assert next(iter(clean_report.values()))["vulnerabilities"] == []


def test_auto_scan_on_push_and_nested_repositories(harbor: str) -> None:
    _project(harbor, "auto", metadata={"auto_scan": "true"})
    img = oci.image({"app/requirements.txt": b"PyYAML==5.3\n"})
    assert oci.Registry(harbor, *ADMIN).push("auto/team/api", "latest", img).status_code == 201
    url = f"{harbor}{API}/projects/auto/repositories/team%252Fapi/artifacts/latest"
    artifact = httpx.get(url, params={"with_scan_overview": "true"}, auth=ADMIN).json()
    assert artifact["repository_name"] == "auto/team/api"
    assert next(iter(artifact["scan_overview"].values()))["severity"] == "Critical"


def test_refusals_look_like_harbors(harbor: str) -> None:
    wrong = httpx.get(f"{harbor}{API}/projects", auth=("admin", "nope"))
    assert wrong.status_code == 401
    assert wrong.json() == {"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}
    assert (
        httpx.get(
            f"{harbor}/service/token", params={"service": "harbor-registry"}, auth=("admin", "x")
        ).status_code
        == 401
    )
    basic_wrong = httpx.get(f"{harbor}/v2/", auth=("admin", "nope"))
    assert (
        basic_wrong.status_code == 401 and basic_wrong.headers["www-authenticate"] == 'Basic realm="harbor"'
    )

    missing = oci.Registry(harbor, *ADMIN).request("POST", "/v2/nowhere/api/blobs/uploads/", scope="n:push")
    assert missing.status_code == 401
    assert missing.json()["errors"][0] == {"code": "UNAUTHORIZED", "message": "project nowhere not found"}

    hello = oci.image({"hello": b"world"})
    assert oci.Registry(harbor, *ADMIN).push("library/hello", "latest", hello).status_code == 201
    anonymous = oci.Registry(harbor)  # "library" is public: anyone may pull, nobody anonymous may push
    assert anonymous.pull_manifest("library/hello", "latest").content == hello.manifest
    assert anonymous.request("POST", "/v2/library/x/blobs/uploads/", scope="l:push").status_code == 401
    _project(harbor, "closed")
    assert oci.Registry(harbor, *ADMIN).push("closed/api", "1", hello).status_code == 201
    assert anonymous.pull_manifest("closed/api", "1").status_code == 401  # a private project
    assert httpx.get(f"{harbor}{API}/projects", params={"name": "library"}).json()[0]["name"] == "library"
    assert httpx.get(f"{harbor}{API}/projects/shop-private-nothing").status_code == 404


def test_user_owns_what_it_creates_and_deletes_follow_harbors_rules(harbor: str) -> None:
    dev = ("dev", "dev-pass")
    _project(harbor, "devs", auth=dev)
    assert httpx.get(f"{harbor}{API}/projects/devs", auth=dev).json()["owner_name"] == "dev"
    registry = oci.Registry(harbor, *dev)
    img = oci.image({"a.txt": b"a"})
    assert registry.push("devs/app", "1", img).status_code == 201
    api = f"{harbor}{API}/projects/devs/repositories/app/artifacts"
    assert httpx.post(f"{api}/1/tags", json={"name": "stable"}, auth=dev).status_code == 201
    assert httpx.post(f"{api}/1/tags", json={"name": "stable"}, auth=dev).status_code == 409
    assert registry.pull_manifest("devs/app", "stable").status_code == 200
    assert httpx.delete(f"{api}/{img.digest}/tags/stable", auth=dev).status_code == 200
    assert registry.pull_manifest("devs/app", "stable").status_code == 404

    blocked = httpx.delete(f"{harbor}{API}/projects/devs", auth=dev)
    assert blocked.status_code == 412 and blocked.json()["errors"][0]["code"] == "PRECONDITION"
    assert httpx.delete(f"{api}/1", auth=dev).status_code == 200
    assert registry.pull_manifest("devs/app", img.digest).status_code == 404
    assert registry.request("GET", "/v2/devs/app/tags/list", scope="devs/app:pull").json()["tags"] == []
    assert httpx.delete(f"{harbor}{API}/projects/devs/repositories/app", auth=dev).status_code == 200
    assert httpx.delete(f"{harbor}{API}/projects/devs", auth=dev).status_code == 200
    assert httpx.head(f"{harbor}{API}/projects", params={"project_name": "devs"}, auth=dev).status_code == 404


def test_state_and_blobs_survive_a_restart_with_a_data_dir(tmp_path: Path) -> None:
    config = harbor_config(data_dir=tmp_path)
    img = oci.image({"x": b"x"})
    with ThreadedServer(build(config)) as url:
        _project(url, "keep")
        assert oci.Registry(url, *ADMIN).push("keep/api", "1", img).status_code == 201
    with ThreadedServer(build(config)) as url:
        again = oci.Registry(url, *ADMIN).pull_manifest("keep/api", "1")
        assert again.status_code == 200 and again.content == img.manifest
        systeminfo = httpx.get(f"{url}{API}/systeminfo", auth=ADMIN).json()
        assert systeminfo["harbor_version"].startswith("v2.")
        health = httpx.get(f"{url}{API}/health").json()
        assert health["status"] == "healthy"
    assert json.loads((tmp_path / "harbor.json").read_text())["projects"][1]["name"] == "keep"
