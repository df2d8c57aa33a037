"""The Harbor adapter over real HTTP against the Harbor fake (API v2.0 + a real docker-registry)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from appliance.adapters.harbor.registry import HarborRegistry
from appliance.ports.errors import PermanentError, TransientError
from appliance.ports.registry import Permission, Registry, Vulnerability
from fakes.common.server import ThreadedServer
from fakes.harbor import build
from tests.fakes.harbor import oci
from tests.fakes.harbor.conftest import harbor_config, needs_registry
from tests.support.world import free_port

pytestmark = needs_registry
PASSWORD = "Adm1n-Pa55word-7c1d"
REQUIREMENTS = {"srv/app/requirements.txt": b"# pinned\nflask==0.12\nrequests==2.31.0\n"}
PULL_PUSH = [
    Permission(resource="repository", action="pull"),
    Permission(resource="repository", action="push"),
    Permission(resource="artifact", action="read"),
    Permission(resource="artifact", action="list"),
]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with ThreadedServer(build(harbor_config(tokens={PASSWORD: "admin"}))) as base:
        yield base


@pytest.fixture
async def harbor(url: str) -> AsyncIterator[HarborRegistry]:
    registry = HarborRegistry(url=url, user="admin", password=PASSWORD, timeout=5)
    yield registry
    await registry.aclose()
    httpx.delete(f"{url}/_fake/faults")


def _as_port(registry: HarborRegistry) -> Registry:
    return registry  # mypy checks that the adapter implements the port


def _push(url: str, repo: str, tag: str, *layers: dict[str, bytes]) -> oci.Image:
    image = oci.image(*layers)
    pushed = oci.Registry(url, "admin", PASSWORD).push(repo, tag, image)
    assert pushed.status_code == 201, pushed.text
    return image


async def test_ensure_project_is_idempotent(harbor: HarborRegistry, url: str) -> None:
    port = _as_port(harbor)
    assert await port.ensure_project(project="shop") is True
    assert await port.ensure_project(project="shop") is False
    assert await port.ensure_project(project="library") is False  # Harbor's own, from the start
    got = httpx.get(
        f"{url}/api/v2.0/projects/shop", headers={"X-Is-Resource-Name": "true"}, auth=("admin", PASSWORD)
    )
    assert got.json()["metadata"]["public"] == "false"


async def test_artifacts_by_tag_and_digest_listed_newest_first(url: str) -> None:
    harbor = HarborRegistry(url=url, user="admin", password=PASSWORD, timeout=5, page_size=2)
    await harbor.ensure_project(project="arts")
    first = _push(url, "arts/api", "1.0", {"a.txt": b"one"})
    second = _push(url, "arts/api", "2.0", {"a.txt": b"two"})
    third = _push(url, "arts/api", "3.0", {"a.txt": b"three"})

    by_tag = await harbor.get_artifact(project="arts", repository="api", reference="2.0")
    assert (by_tag.project, by_tag.repository, by_tag.digest) == ("arts", "api", second.digest)
    assert by_tag.tags == ["2.0"] and by_tag.size == second.size and by_tag.media_type == oci.OCI_MANIFEST
    by_digest = await harbor.get_artifact(project="arts", repository="api", reference=second.digest)
    assert by_digest == by_tag and by_tag.push_time.tzinfo is not None

    listed = await harbor.list_artifacts(project="arts", repository="api")  # two pages of two
    assert [a.digest for a in listed] == [third.digest, second.digest, first.digest]
    assert [a.tags for a in listed] == [["3.0"], ["2.0"], ["1.0"]]

    assert await harbor.tag_exists(project="arts", repository="api", tag="1.0") is True
    assert await harbor.tag_exists(project="arts", repository="api", tag="9.9") is False
    assert await harbor.tag_exists(project="arts", repository="nothing", tag="1.0") is False
    with pytest.raises(PermanentError, match=r"404 NOT_FOUND: artifact arts/api:9\.9 not found"):
        await harbor.get_artifact(project="arts", repository="api", reference="9.9")
    with pytest.raises(PermanentError, match="404 NOT_FOUND"):
        await harbor.list_artifacts(project="arts", repository="nothing")
    await harbor.aclose()


async def test_nested_repositories_are_encoded_twice(harbor: HarborRegistry, url: str) -> None:
    await harbor.ensure_project(project="nested")
    image = _push(url, "nested/team/api", "latest", {"x": b"x"})
    got = await harbor.get_artifact(project="nested", repository="team/api", reference="latest")
    assert got.digest == image.digest and got.repository == "team/api"
    assert await harbor.tag_exists(project="nested", repository="team/api", tag="latest")


async def test_a_scan_finds_the_configured_cve(harbor: HarborRegistry, url: str) -> None:
    await harbor.ensure_project(project="scanned")
    image = _push(url, "scanned/api", "1.0", {"etc/motd": b"hi"}, REQUIREMENTS)
    assert await harbor.vulnerabilities(project="scanned", repository="api", reference="1.0") is None

    assert await harbor.scan(project="scanned", repository="api", reference="1.0") is True
    report = await harbor.vulnerabilities(project="scanned", repository="api", reference="1.0")
    assert report is not None
    assert (report.digest, report.severity, report.scanner) == (image.digest, "High", "Trivy")
    assert report.vulnerabilities == [
        Vulnerability(
            id="CVE-2018-1000656", package="flask", version="0.12", fix_version="0.12.3", severity="High"
        )
    ]

    _push(url, "scanned/clean", "1.0", {"srv/requirements.txt": b"flask==2.3.0\n"})
    await harbor.scan(project="scanned", repository="clean", reference="1.0")
    clean = await harbor.vulnerabilities(project="scanned", repository="clean", reference="1.0")
    assert clean is not None and clean.vulnerabilities == [] and clean.severity == "None"


async def test_a_harbor_without_a_scanner_asks_for_no_scan() -> None:
    with ThreadedServer(
        build(harbor_config(tokens={PASSWORD: "admin"}, options={"scanner": "none"}))
    ) as bare:
        registry = HarborRegistry(url=bare, user="admin", password=PASSWORD, timeout=5)
        try:
            await registry.ensure_project(project="bare")
            _push(bare, "bare/api", "1.0", REQUIREMENTS)
            assert await registry.scan(project="bare", repository="api", reference="1.0") is False
            assert await registry.vulnerabilities(project="bare", repository="api", reference="1.0") is None
            with pytest.raises(PermanentError, match="404"):
                await registry.scan(project="bare", repository="api", reference="2.0")
        finally:
            await registry.aclose()


async def test_a_robot_gets_its_secret_once_and_works_with_it(
    harbor: HarborRegistry, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await harbor.ensure_project(project="robots")
    robot = await harbor.create_robot(project="robots", name="ci", permissions=PULL_PUSH)
    assert robot.name == "robot$robots+ci" and robot.id > 0 and robot.secret
    assert robot.secret not in repr(robot) and robot.secret not in str(robot)

    image = _push(url, "robots/api", "1", {"a": b"a"})
    as_robot = HarborRegistry(url=url, user=robot.name, password=robot.secret, timeout=5)
    assert [a.digest for a in await as_robot.list_artifacts(project="robots", repository="api")] == [
        image.digest
    ]
    with pytest.raises(PermanentError, match="403 FORBIDDEN") as forbidden:  # no project creation
        await as_robot.ensure_project(project="robots-other")
    await as_robot.aclose()
    assert robot.secret not in str(forbidden.value)

    with pytest.raises(
        PermanentError, match="409 CONFLICT: robot account robot\\$robots\\+ci already exists"
    ):
        await harbor.create_robot(project="robots", name="ci", permissions=PULL_PUSH)
    with pytest.raises(PermanentError, match="404 NOT_FOUND"):
        await harbor.create_robot(project="no-such-project", name="ci", permissions=PULL_PUSH)
    assert all(robot.secret not in r.getMessage() for r in caplog.records)
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)


async def test_wrong_credentials_are_permanent_and_never_leak(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Pa55word-e3f4"
    harbor = HarborRegistry(url=url, user="admin", password=wrong, timeout=5)
    with pytest.raises(PermanentError, match="ensure project x: Harbor answered 401") as refused:
        await harbor.ensure_project(project="x")  # HEAD: an answer without a body
    messages = [str(refused.value)]
    for call in (
        harbor.get_artifact(project="library", repository="api", reference="1"),
        harbor.list_artifacts(project="library", repository="api"),
        harbor.tag_exists(project="library", repository="api", tag="1"),
        harbor.scan(project="library", repository="api", reference="1"),
        harbor.vulnerabilities(project="library", repository="api", reference="1"),
        harbor.create_robot(project="library", name="x", permissions=PULL_PUSH),
    ):
        with pytest.raises(PermanentError, match="401 UNAUTHORIZED: unauthorized") as refused:
            await call
        assert refused.value.system == "harbor"
        messages.append(str(refused.value))
    await harbor.aclose()
    assert all(wrong not in m for m in messages)
    assert all(wrong not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("status", [503, 429])
async def test_an_overloaded_harbor_is_transient(harbor: HarborRegistry, url: str, status: int) -> None:
    fault = {"kind": "error", "path": "/api/v2.0/*", "status": status, "count": 2}
    assert httpx.post(f"{url}/_fake/faults", json=fault).status_code == 201
    with pytest.raises(TransientError, match=f"ensure project busy-{status}: Harbor answered {status}"):
        await harbor.ensure_project(project=f"busy-{status}")
    with pytest.raises(TransientError) as again:
        await harbor.tag_exists(project="library", repository="api", tag="1")
    assert PASSWORD not in str(again.value) and again.value.system == "harbor"
    assert await harbor.ensure_project(project=f"busy-{status}") is True  # the fault is spent


async def test_an_unreachable_harbor_is_transient() -> None:
    harbor = HarborRegistry(url=f"http://127.0.0.1:{free_port()}", user="admin", password=PASSWORD, timeout=2)
    with pytest.raises(TransientError, match="ConnectError") as failed:
        await harbor.get_artifact(project="p", repository="r", reference="1")
    await harbor.aclose()
    assert PASSWORD not in str(failed.value)
