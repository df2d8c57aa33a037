"""Argo CD end to end: a gitops repo in the GitLab fake, synced by the Argo CD fake into the Kubernetes
fake; updates, pruning, health, notifications, and only Argo CD's identity writing workloads."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import gitlab
import httpx
import pytest
import yaml

import fakes.argocd
import fakes.gitlab
import fakes.kubernetes
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from tests.support.manifests import deployment

T = TypeVar("T")
NS = "shop-api-preflight"
ARGO = {"Authorization": "Bearer a-admin"}
KUBE_ADMIN = {"Authorization": "Bearer k-admin"}


@dataclass
class Stack:
    kube: str
    gitlab: str
    argocd: str
    project: Any
    notices: list[dict[str, Any]]


def wait(what: str, probe: Callable[[], T | None], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    notices: list[dict[str, Any]] = []

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        if headers.get(b"authorization") == b"Bearer n-secret":
            notices.append(yaml.safe_load(body))
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    kube_options = {
        "backoff_base_s": "0.2",
        "backoff_max_s": "1",
        "probe_scale": "0.2",
        "grace_scale": "0.1",
        "resync_s": "0.2",
        "namespaces": NS,
        "preloaded_images": "local/*",
    }
    kube_app = fakes.kubernetes.build(
        FakeConfig(tokens={"k-argocd": "argocd", "k-admin": "admin"}, options=kube_options)
    )
    gitlab_app = fakes.gitlab.build(
        FakeConfig(data_dir=tmp_path_factory.mktemp("gitlab"), tokens={"g-ci": "ci", "g-argocd": "argocd"})
    )
    with (
        ThreadedServer(receiver) as sink,
        ThreadedServer(kube_app) as kube,
        ThreadedServer(gitlab_app) as git,
    ):
        argo_app = fakes.argocd.build(
            FakeConfig(
                tokens={"a-admin": "admin"},
                peers={"kubernetes": kube},
                options={
                    "kube_token": "k-argocd",
                    "git_token": "g-argocd",
                    "notify_url": f"{sink}/argocd",
                    "notify_token": "n-secret",
                    "period_s": "0.3",
                },
            )
        )
        with ThreadedServer(argo_app) as argo:
            gl = gitlab.Gitlab(git, private_token="g-ci")
            group = gl.groups.create({"name": "shop", "path": "shop"})
            project = gl.projects.create({"name": "shop-api-gitops", "namespace_id": group.id})
            yield Stack(kube=kube, gitlab=git, argocd=argo, project=project, notices=notices)


def commit(project: Any, files: dict[str, Any], message: str, *, delete: tuple[str, ...] = ()) -> str:
    existing = (
        {item["path"] for item in project.repository_tree(recursive=True, all=True)}
        if project.commits.list()
        else set()
    )
    actions = [
        {
            "action": "update" if path in existing else "create",
            "file_path": path,
            "content": yaml.safe_dump(doc),
        }
        for path, doc in files.items()
    ]
    actions += [{"action": "delete", "file_path": path} for path in delete]
    return str(project.commits.create({"branch": "main", "commit_message": message, "actions": actions}).id)


def app_status(stack: Stack) -> dict[str, Any]:
    return httpx.get(f"{stack.argocd}/api/v1/applications/shop-api-preflight", headers=ARGO).json()["status"]


def live(stack: Stack, path: str) -> dict[str, Any] | None:
    response = httpx.get(f"{stack.kube}{path}", headers=KUBE_ADMIN)
    return response.json() if response.status_code == 200 else None


def test_git_is_synced_into_the_cluster_and_kept_there(stack: Stack) -> None:
    base = "overlays/preflight"
    commit(
        stack.project,
        {
            f"{base}/kustomization.yaml": {"resources": ["deployment.yaml", "config.yaml"]},
            f"{base}/deployment.yaml": deployment(18931, env="1"),
            f"{base}/config.yaml": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "shop-api"},
                "data": {"LOG_LEVEL": "info"},
            },
        },
        "preflight overlay",
    )
    app = {
        "metadata": {"name": "shop-api-preflight"},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": f"{stack.gitlab}/shop/shop-api-gitops.git",
                "path": base,
                "targetRevision": "main",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NS},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }
    assert httpx.post(f"{stack.argocd}/api/v1/applications", json=app, headers=ARGO).status_code == 200

    status = wait(
        "Synced and Healthy",
        lambda: (
            (s := app_status(stack))
            and s.get("sync", {}).get("status") == "Synced"
            and s.get("health", {}).get("status") == "Healthy"
            and s
        ),
    )
    first = status["sync"]["revision"]
    assert len(first) == 40
    assert live(stack, f"/apis/apps/v1/namespaces/{NS}/deployments/shop-api")["status"]["readyReplicas"] == 1
    assert live(stack, f"/api/v1/namespaces/{NS}/configmaps/shop-api")["data"] == {"LOG_LEVEL": "info"}
    tree = httpx.get(
        f"{stack.argocd}/api/v1/applications/shop-api-preflight/resource-tree", headers=ARGO
    ).json()
    assert {n["kind"] for n in tree["nodes"]} >= {"Deployment", "ConfigMap", "Pod"}

    # a new commit: the env changes, the config map leaves git and is pruned
    commit(
        stack.project,
        {
            f"{base}/deployment.yaml": deployment(18932, env="2"),
            f"{base}/kustomization.yaml": {"resources": ["deployment.yaml"]},
        },
        "release 2",
        delete=(f"{base}/config.yaml",),
    )
    wait(
        "the new revision synced",
        lambda: (
            app_status(stack)["sync"].get("revision") != first
            and app_status(stack)["health"]["status"] == "Healthy"
        ),
    )
    env = live(stack, f"/apis/apps/v1/namespaces/{NS}/deployments/shop-api")["spec"]["template"]["spec"][
        "containers"
    ][0]["env"]
    assert env == [{"name": "RELEASE", "value": "2"}]
    wait("the config map pruned", lambda: live(stack, f"/api/v1/namespaces/{NS}/configmaps/shop-api") is None)

    triggers = [n["trigger"] for n in stack.notices]
    assert "on-sync-succeeded" in triggers and "on-deployed" in triggers
    assert all(n["app"] == "shop-api-preflight" for n in stack.notices)

    # only Argo CD's identity wrote to the cluster
    writes = [
        a
        for a in httpx.get(f"{stack.kube}/_fake/access-log").json()
        if a["method"] in ("POST", "PUT", "PATCH", "DELETE") and a["outcome"] < 400
    ]
    assert writes and {a["identity"] for a in writes} == {"argocd"}


def test_a_crashing_release_is_degraded_and_notified(stack: Stack) -> None:
    wait("the app exists", lambda: app_status(stack).get("sync"))
    commit(
        stack.project,
        {
            "overlays/preflight/deployment.yaml": deployment(
                18933,
                command=[
                    "python3",
                    "-c",
                    "import sys; print('KeyError: DATABASE_URL', file=sys.stderr); sys.exit(1)",
                ],
            )
        },
        "a release that crashes",
    )
    status = wait(
        "Degraded", lambda: (s := app_status(stack))["health"]["status"] == "Degraded" and s, timeout=40
    )
    assert "CrashLoopBackOff" in status["health"].get("message", "")
    running = live(stack, f"/apis/apps/v1/namespaces/{NS}/deployments/shop-api")
    assert running is not None
    # the summary's images are the live state's, as Argo CD reports them
    assert status["summary"]["images"] == [
        c["image"] for c in running["spec"]["template"]["spec"]["containers"]
    ]
    wait("the degraded notice", lambda: any(n["trigger"] == "on-health-degraded" for n in stack.notices))


def test_a_reader_never_sees_the_new_revision_with_the_old_releases_health(stack: Stack) -> None:
    """Argo CD writes an application's status in one update. From a crash-looping release to a good
    one, with the controller's reads of the cluster slowed down, the status read meanwhile is either
    the old revision's or the new one's, never the new revision with the old release's health."""
    wait("Degraded", lambda: app_status(stack)["health"]["status"] == "Degraded", timeout=40)
    slow = {"kind": "latency", "path": f"/apis/apps/v1/namespaces/{NS}/replicasets", "delay_s": 0.4}
    httpx.post(f"{stack.kube}/_fake/faults", json=slow, headers=KUBE_ADMIN).raise_for_status()
    seen: list[tuple[str, str]] = []
    try:
        sha = commit(
            stack.project, {"overlays/preflight/deployment.yaml": deployment(18933)}, "a release that runs"
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = app_status(stack)
            seen.append((status["sync"].get("revision", ""), status["health"]["status"]))
            if seen[-1] == (sha, "Healthy"):
                break
            time.sleep(0.05)
    finally:
        httpx.delete(f"{stack.kube}/_fake/faults", headers=KUBE_ADMIN).raise_for_status()
    assert seen[-1] == (sha, "Healthy"), seen[-5:]
    assert [h for rev, h in seen if rev == sha and h == "Degraded"] == [], seen
    assert any(rev != sha for rev, _ in seen)  # it was read before the new revision was assessed
