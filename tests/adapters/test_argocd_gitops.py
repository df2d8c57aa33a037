"""The Argo CD adapter over real HTTP: a gitops repo in the GitLab fake, synced by the Argo CD fake into
the Kubernetes fake (as in tests/fakes/argocd/test_sync.py), read and synced through the GitOps port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gitlab
import httpx
import pytest
import yaml

import fakes.argocd
import fakes.gitlab
import fakes.kubernetes
from appliance.adapters.argocd.gitops import ArgoCdGitOps
from appliance.ports.errors import PermanentError, TransientError
from appliance.ports.gitops import AppStatus
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from tests.support.manifests import deployment
from tests.support.world import free_port

APP = "shop-api-preflight"
NS = "shop-api-preflight"
BASE = "overlays/preflight"
ADMIN = {"Authorization": "Bearer a-admin"}


@dataclass
class Stack:
    argocd: str
    gitlab: str
    project: Any
    first: str = ""  # the commit the app was created at

    def commit(self, files: dict[str, Any], message: str) -> str:
        existing = (
            {i["path"] for i in self.project.repository_tree(recursive=True, all=True)}
            if (self.project.commits.list())
            else set()
        )
        actions = [
            {"action": "update" if p in existing else "create", "file_path": p, "content": yaml.safe_dump(d)}
            for p, d in files.items()
        ]
        made = self.project.commits.create({"branch": "main", "commit_message": message, "actions": actions})
        return str(made.id)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    kube_options = {
        "backoff_base_s": "0.2",
        "probe_scale": "0.2",
        "grace_scale": "0.1",
        "resync_s": "0.2",
        "namespaces": NS,
        "preloaded_images": "local/*",
    }
    kube_app = fakes.kubernetes.build(FakeConfig(tokens={"k-argocd": "argocd"}, options=kube_options))
    gitlab_app = fakes.gitlab.build(
        FakeConfig(data_dir=tmp_path_factory.mktemp("gitlab"), tokens={"g-ci": "ci", "g-argocd": "argocd"})
    )
    with ThreadedServer(kube_app) as kube, ThreadedServer(gitlab_app) as git:
        argo_app = fakes.argocd.build(
            FakeConfig(
                tokens={"a-admin": "admin", "a-pathops": "pathops"},
                peers={"kubernetes": kube},
                options={"kube_token": "k-argocd", "git_token": "g-argocd", "period_s": "0.3"},
            )
        )
        with ThreadedServer(argo_app) as argo:
            gl = gitlab.Gitlab(git, private_token="g-ci")
            group = gl.groups.create({"name": "shop", "path": "shop"})
            project = gl.projects.create({"name": "shop-api-gitops", "namespace_id": group.id})
            stack = Stack(argocd=argo, gitlab=git, project=project)
            stack.first = create_app(stack)
            yield stack
            # no app left to reconcile, so no git clone is cut short by the shutdown (the fake's
            # controller cancels its loop without ending a running git subprocess)
            httpx.delete(f"{argo}/api/v1/applications/{APP}", params={"cascade": "false"}, headers=ADMIN)
            time.sleep(0.5)
    assert kube_app.cluster.loop.errors == []


def create_app(stack: Stack) -> str:
    """A v1 overlay in git and an app for it, created through the fake's API; the commit id."""
    first = stack.commit(
        {f"{BASE}/kustomization.yaml": {"resources": ["deployment.yaml"]},
         f"{BASE}/deployment.yaml": deployment(free_port(), image="local/shop-api:v1")},
        "preflight overlay",
    )  # fmt: skip
    app = {
        "metadata": {"name": APP},
        "spec": {
            "project": "default",
            "source": {"repoURL": f"{stack.gitlab}/shop/shop-api-gitops.git", "path": BASE, "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NS},
        },  # no automated policy: nothing is applied until someone asks for a sync
    }  # fmt: skip
    created = httpx.post(f"{stack.argocd}/api/v1/applications", json=app, headers=ADMIN)
    assert created.status_code == 200, created.text
    return first


@pytest.fixture
async def gitops(stack: Stack) -> AsyncIterator[ArgoCdGitOps]:
    adapter = ArgoCdGitOps(url=stack.argocd, token="a-pathops", timeout=10)
    yield adapter
    await adapter.aclose()


async def eventually(
    probe: Callable[[], Awaitable[AppStatus]], ok: Callable[[AppStatus], bool], what: str, timeout: float = 30
) -> AppStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = await probe()
        if ok(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {status!r}")
        await asyncio.sleep(0.2)


async def test_an_app_is_read_synced_and_refreshed_through_the_port(
    stack: Stack, gitops: ArgoCdGitOps
) -> None:
    first = stack.first
    status = await eventually(
        lambda: gitops.get_app(name=APP), lambda s: s.sync_status == "OutOfSync", "compared to git"
    )
    assert status.name == APP and status.revision == first and status.operation_phase == ""
    assert status.images == ()  # the images of the app's child resources in the cluster: none yet

    synced = await gitops.sync(name=APP, revision=first)
    assert (synced.operation_phase, synced.revision, synced.sync_status) == ("Succeeded", first, "Synced")
    assert "successfully synced" in synced.operation_message

    healthy = await eventually(
        lambda: gitops.get_app(name=APP), lambda s: s.health == "Healthy", "Synced and Healthy"
    )
    assert healthy.sync_status == "Synced" and healthy.images == ("local/shop-api:v1",)
    [deploy] = healthy.resources
    assert (deploy.kind, deploy.name, deploy.namespace, deploy.group) == (
        "Deployment",
        "shop-api",
        NS,
        "apps",
    )
    assert (deploy.sync_status, deploy.health) == ("Synced", "Healthy")

    # a new commit: a refresh compares at once; it stays out of sync until the next sync
    second = stack.commit(
        {f"{BASE}/deployment.yaml": deployment(free_port(), image="local/shop-api:v2")}, "v2"
    )
    refreshed = await gitops.refresh(name=APP)
    assert (refreshed.revision, refreshed.sync_status) == (second, "OutOfSync")
    assert refreshed.images == ("local/shop-api:v1",)  # what runs: v2 is in git, not yet in the cluster
    assert (await gitops.sync(name=APP, prune=True)).revision == second
    await eventually(
        lambda: gitops.get_app(name=APP),
        lambda s: (s.sync_status, s.health, s.revision) == ("Synced", "Healthy", second),
        "v2 Synced and Healthy",
    )


@pytest.mark.parametrize(
    ("token", "name", "error", "message"),
    [
        ("a-wrong", APP, PermanentError, "401 invalid session: token is not valid"),
        ("a-pathops", "nope", PermanentError, '404 applications.argoproj.io "nope" not found'),
    ],
)
async def test_refusals_are_permanent(
    stack: Stack, token: str, name: str, error: type[Exception], message: str
) -> None:
    adapter = ArgoCdGitOps(url=stack.argocd, token=token)
    with pytest.raises(error, match=message) as refused:
        await adapter.get_app(name=name)
    assert token not in repr(refused.value)
    with pytest.raises(error, match=message.split()[0]):
        await adapter.sync(name=name)
    await adapter.aclose()


async def test_faults_and_an_unreachable_server_are_transient(stack: Stack, gitops: ArgoCdGitOps) -> None:
    fault = {"kind": "error", "path": f"/api/v1/applications/{APP}*", "status": 503, "count": 2}
    assert httpx.post(f"{stack.argocd}/_fake/faults", json=fault).status_code < 300
    with pytest.raises(TransientError, match="503 injected fault") as caught:
        await gitops.get_app(name=APP)
    assert caught.value.system == "argocd"
    with pytest.raises(TransientError, match="503"):
        await gitops.sync(name=APP)
    assert (await gitops.get_app(name=APP)).name == APP  # the fault is spent

    gone = ArgoCdGitOps(url=f"http://127.0.0.1:{free_port()}", token="a-pathops", timeout=2)
    with pytest.raises(TransientError, match="ConnectError"):
        await gone.refresh(name=APP)
    await gone.aclose()
