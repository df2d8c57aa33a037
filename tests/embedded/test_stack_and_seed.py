"""The embedded target end to end: `EmbeddedStack` starts every fake as one child process, `seed` puts the
`shop` project into it, and the seeded apps run in the cluster, deployed by Argo CD from GitLab with
images from Harbor. One stack for the whole module (it is the slow part), with a stand-in control
plane that records the webhooks it receives.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import gitlab
import httpx
import jenkins
import pytest
from botocore.config import Config

from appliance.adapters.embedded import ControlPlaneSecrets, EmbeddedStack, Endpoints, SeedReport, seed
from appliance.adapters.embedded.content import SHOP, ProjectSeed
from appliance.adapters.embedded.deploy import wait_synced
from appliance.adapters.embedded.gitlab import GitLab
from appliance.adapters.embedded.platform import ArgoCd
from appliance.adapters.embedded.report import Run
from appliance.contracts.ci import JOBS, parameters

# one stack per module: with `pytest -n ... --dist loadgroup` every test here goes to one worker
pytestmark = pytest.mark.xdist_group("embedded-stack")
SECRETS = ControlPlaneSecrets(gitlab="gl-secret", argocd="argo-secret", alertmanager="am-secret")
APPS = ("shop-api", "shop-frontend")
ENVS = ("preflight", "production")


@dataclass
class ControlPlane:
    """Answers 200 to every POST and keeps (path, headers, body)."""

    url: str = ""
    received: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)

    def auth_of(self, path: str) -> set[str]:
        return {
            h.get("x-gitlab-token") or h.get("authorization", "") for p, h, _ in self.received if p == path
        }


@dataclass
class World:
    stack: EmbeddedStack
    endpoints: Endpoints
    report: SeedReport
    control_plane: ControlPlane
    progress: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    plane = ControlPlane()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            plane.received.append(
                (self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body or b"null"))
            )
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    plane.url = f"http://127.0.0.1:{server.server_address[1]}"
    stack = EmbeddedStack(tmp_path_factory.mktemp("stack"), control_plane_url=plane.url, secrets=SECRETS)
    endpoints = asyncio.run(stack.start())
    progress: list[str] = []
    try:
        report = asyncio.run(
            seed(
                endpoints,
                control_plane_url=plane.url,
                secrets=SECRETS,
                progress=progress.append,
                timeout_s=60,
            )
        )
        yield World(stack, endpoints, report, plane, progress)
    finally:
        asyncio.run(stack.stop())
        server.shutdown()
        server.server_close()


def test_both_apps_serve_in_preflight_and_production_as_argo_cd_deployed_them(world: World) -> None:
    ports = world.report.ports
    assert sorted(ports) == list(APPS) and all(sorted(ports[a]) == list(ENVS) for a in APPS)
    assert len({p for a in APPS for p in ports[a].values()}) == 4
    for app in APPS:
        for env in ENVS:
            health = httpx.get(f"{world.report.url(app, env)}/healthz", timeout=5)
            assert (health.status_code, health.json()) == (200, {"status": "ok"}), (app, env)
    products = httpx.get(f"{world.report.url('shop-api', 'production')}/products", timeout=5).json()
    assert [p["id"] for p in products] == sorted(p["id"] for p in products) and products
    page = httpx.get(world.report.url("shop-frontend", "preflight"), timeout=5)  # via shop-endpoints
    assert page.status_code == 200 and page.text.count('class="product"') == len(products)

    argocd = world.endpoints.argocd
    listed = httpx.get(
        f"{argocd.url}/api/v1/applications",
        params={"selector": "pathops.dev/project=shop"},
        headers={"Authorization": f"Bearer {argocd.token('pathops')}"},
        timeout=10,
    ).json()["items"]
    states = {
        a["metadata"]["name"]: (a["status"]["sync"]["status"], a["status"]["health"]["status"])
        for a in listed
    }
    assert states == {f"{app}-{env}": ("Synced", "Healthy") for app in APPS for env in ("agents", *ENVS)}
    lab = gitlab.Gitlab(world.endpoints.gitlab.url, private_token=world.endpoints.gitlab.token("pathops"))
    ci_user = lab.users.list(username="ci")[0].name  # the first deploy is CI's commit
    for app in APPS:
        head = lab.projects.get(f"shop/{app}").commits.list(ref_name="main", get_all=False)[0].id
        images = {
            i
            for a in listed
            if a["metadata"]["name"].startswith(f"{app}-")
            for i in a["status"]["summary"]["images"]
        }
        assert images == {f"{world.endpoints.harbor.host}/shop/{app}:{head[:12]}"}
        deploy = lab.projects.get(f"shop/{app}-gitops").commits.list(ref_name="main", get_all=False)[0]
        assert (
            deploy.author_name == ci_user and f"PathOps-Key: seed-deploy-{app}-{head[:12]}" in deploy.message
        )
    assert any("Synced/Healthy" in line for line in world.progress)


def test_the_ci_is_wired_jobs_credentials_buckets_and_agent_secrets(world: World) -> None:
    ep = world.endpoints
    server = jenkins.Jenkins(
        ep.jenkins.url, username="pathops", password=ep.jenkins.token("pathops"), timeout=10
    )
    assert sorted(j["name"] for j in server.get_jobs()) == sorted(JOBS)
    for job in JOBS:
        info = server.get_job_info(job)
        declared = [
            d["name"]
            for p in info["property"]
            if "parameterDefinitions" in p
            for d in p["parameterDefinitions"]
        ]
        assert declared == list(parameters(job)), job
        assert f"sh 'pathops-ci {job}'" in server.get_job_config(job).replace("&apos;", "'")

    path = Path(ep.ci_config)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    ci = json.loads(path.read_text())
    assert ci["gitlab"] == {"url": ep.gitlab.url, "token": ep.gitlab.token("ci")}
    assert ci["registry"]["username"] == "robot$shop+ci" and ci["registry"]["host"] == ep.harbor.host
    assert ci["agents"]["image"] == "local/pathops-agents:dev" and "{port}" in ci["agents"]["service_url"]
    robot = (ci["registry"]["username"], ci["registry"]["password"])
    artifacts = httpx.get(
        f"{ep.harbor.url}/api/v2.0/projects/shop/repositories/shop-api/artifacts", auth=robot, timeout=10
    )
    assert artifacts.status_code == 200 and len(artifacts.json()) == 1

    s3 = boto3.client(
        "s3",
        endpoint_url=ci["s3"]["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=ci["s3"]["access_key"],
        aws_secret_access_key=ci["s3"]["secret_key"],
        config=Config(s3={"addressing_style": "path"}),
    )
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {"pathops-evidence", "pathops-patches", "pathops-reports"} <= buckets

    admin = {"Authorization": f"Bearer {ep.kubernetes.token('admin')}"}
    secret = httpx.get(
        f"{ep.kubernetes.url}/api/v1/namespaces/shop-api-agents/secrets/pathops-agent",
        headers=admin,
        timeout=10,
    ).json()
    assert sorted(secret["data"]) == ["access_key", "kube_token", "secret_key"]
    agent = {"Authorization": f"Bearer {ep.kubernetes.token('agent:shop-api')}"}
    for namespace, allowed in (("shop-api-production", 200), ("shop-frontend-production", 403)):
        pods = httpx.get(f"{ep.kubernetes.url}/api/v1/namespaces/{namespace}/pods", headers=agent, timeout=10)
        assert pods.status_code == allowed, namespace


def test_webhooks_reach_the_control_plane_and_a_second_seed_changes_nothing(world: World) -> None:
    assert world.report.changed and len(world.report.changes) > 20
    assert world.control_plane.auth_of("/webhooks/gitlab") == {"gl-secret"}  # the deploy commits' pushes
    assert world.control_plane.auth_of("/webhooks/argocd") == {"Bearer argo-secret"}
    deployed = {
        b["app"]
        for p, _, b in world.control_plane.received
        if p == "/webhooks/argocd" and b["trigger"] == "on-deployed"
    }
    assert deployed >= {f"{app}-{env}" for app in APPS for env in ENVS}

    lines: list[str] = []
    again = asyncio.run(
        seed(
            world.endpoints, control_plane_url=world.control_plane.url, secrets=SECRETS, progress=lines.append
        )
    )
    assert not again.changed and again.changes == ()
    assert again.ports == world.report.ports
    assert lines[-1] == "shop: already seeded, nothing changed" == again.summary()


def test_the_seed_wait_holds_when_ci_commits_to_a_gitops_repo_while_it_waits(world: World) -> None:
    """A restarted appliance re-seeds while CI still works: the gitops repo moves past the head the
    wait read first, and Argo CD applies the newer commit. The wait accepts it instead of timing out."""
    ep = world.endpoints
    project = ProjectSeed.read(SHOP)
    gitops = project.gitops_repo("shop-api")
    moved: list[str] = []

    class CommitAroundFirstRead(GitLab):
        """CI commits just before and just after the wait first reads the head: Argo CD goes
        straight to the second commit and never reports the one the wait read."""

        async def head(self, repo: str) -> str | None:
            if repo != gitops or moved:
                return await super().head(repo)
            moved.append(await self.commit(repo, message="CI note\n", files={"NOTES.md": b"one\n"}))
            head = await super().head(repo)
            moved.append(
                await self.commit(
                    repo, message="CI note\n", files={"NOTES.md": b"two\n"}, existing={"NOTES.md"}
                )
            )
            return head

    async def wait() -> list[str]:
        lines: list[str] = []
        reader = CommitAroundFirstRead(ep.gitlab.url, ep.gitlab.token("ci"))
        argocd = ArgoCd(ep.argocd.url, ep.argocd.token("admin"))
        try:
            await wait_synced(Run(lines.append), project, argocd=argocd, reader=reader, timeout_s=20)
        finally:
            await reader.aclose()
            await argocd.aclose()
        return lines

    lines = asyncio.run(wait())
    assert len(moved) == 2 and any("shop-api-production Synced/Healthy" in line for line in lines)
    listed = httpx.get(
        f"{ep.argocd.url}/api/v1/applications/shop-api-production",
        headers={"Authorization": f"Bearer {ep.argocd.token('pathops')}"},
        timeout=10,
    ).json()
    assert listed["status"]["sync"]["revision"] in moved


def test_a_restarted_appliance_adopts_the_running_stack(world: World) -> None:
    """A killed appliance leaves its stack running; the one started after it carries on with it."""
    assert world.stack.proc is not None
    again = EmbeddedStack(world.stack.data_dir, control_plane_url=world.control_plane.url, secrets=SECRETS)
    endpoints = asyncio.run(again.start())
    assert again.adopted == world.stack.proc.pid and again.proc is None
    assert endpoints.gitlab.token("ci") == world.endpoints.gitlab.token("ci")  # the same fakes, not new ones
    assert [s.url for s in endpoints.services()] == [s.url for s in world.endpoints.services()]


def test_stop_leaves_no_process_behind(world: World) -> None:
    assert world.stack.proc is not None
    family = _descendants(world.stack.proc.pid)
    assert len(family) >= 4  # the fakes, the registry, moto, and the apps' containers at least
    asyncio.run(world.stack.stop())
    alive = [pid for pid in family if _alive(pid)]
    assert alive == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{world.report.url('shop-api', 'production')}/healthz", timeout=2)


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = {root}, [root]
    while todo:
        current = todo.pop()
        children = {pid for pid, ppid in parents.items() if ppid == current} - found
        found |= children
        todo += children
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_restart_keeps_the_ports_and_a_reseed_only_renews_credentials(world: World) -> None:
    if world.stack.proc is None:  # stopped by the test above
        endpoints = asyncio.run(world.stack.start())
    else:
        asyncio.run(world.stack.stop())
        endpoints = asyncio.run(world.stack.start())
    assert [s.url for s in endpoints.services()] == [s.url for s in world.endpoints.services()]
    assert endpoints.gitlab.token("ci") != world.endpoints.gitlab.token("ci")  # new credentials each start
    report = asyncio.run(
        seed(endpoints, control_plane_url=world.control_plane.url, secrets=SECRETS, timeout_s=60)
    )
    assert report.ports == world.report.ports
    assert any(c.startswith("updated Secret") for c in report.changes)
    assert not [c for c in report.changes if "GitLab" in c or "image" in c or "deployed" in c or "hook" in c]
    assert json.loads(Path(endpoints.ci_config).read_text())["gitlab"]["token"] == endpoints.gitlab.token(
        "ci"
    )
    for app in APPS:
        for env in ENVS:
            assert httpx.get(f"{report.url(app, env)}/healthz", timeout=5).status_code == 200
