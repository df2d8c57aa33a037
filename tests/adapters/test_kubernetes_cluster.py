"""The Kubernetes adapter over real HTTP against the Kubernetes fake, with the identities of the agents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

import fakes.kubernetes
from appliance.adapters.kubernetes.cluster import KubernetesCluster
from appliance.ports.cluster import Event, RestartSignal
from appliance.ports.errors import PermanentError, TransientError
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from tests.support.world import free_port

T = TypeVar("T")
NS = "shop-preflight"
TOKENS = {"k-admin": "admin", "k-agent": "agent:shop"}
OPTIONS = {
    "backoff_base_s": "0.4",  # back-offs of 0.4, 0.8, 1.6 s: the logs are read while the pod waits
    "backoff_max_s": "2",
    "resync_s": "0.2",
    "grace_scale": "0.1",
    "namespaces": f"{NS},shop-agents",
    "preloaded_images": "local/*",  # host commands, no registry
}
CRASH = (
    "import sys; print('starting', flush=True); print('KeyError: DATABASE_URL', file=sys.stderr); sys.exit(1)"
)


@dataclass
class Kube:
    url: str
    app: Any

    def post(self, path: str, body: dict[str, Any]) -> None:
        response = httpx.post(f"{self.url}{path}", json=body, headers={"Authorization": "Bearer k-admin"})
        assert response.status_code == 201, response.text


def deployment() -> dict[str, Any]:
    container = {
        "name": "api",
        "image": "local/x",
        "command": ["python3", "-c", CRASH],
        "env": [{"name": "DATABASE_PASSWORD", "value": "s3cret"}, {"name": "LOG_LEVEL", "value": "info"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop-api", "labels": {"app": "shop-api"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "shop-api"}},
            "template": {"metadata": {"labels": {"app": "shop-api"}}, "spec": {"containers": [container]}},
        },
    }


def job() -> dict[str, Any]:
    container = {"name": "migrate", "image": "local/x", "command": ["python3", "-c", "print('migrated')"]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}},
    }


@pytest.fixture(scope="module")
def kube() -> Iterator[Kube]:
    app = fakes.kubernetes.build(FakeConfig(tokens=TOKENS, options=OPTIONS))
    with ThreadedServer(app) as url:
        fake = Kube(url, app)
        fake.post(f"/apis/apps/v1/namespaces/{NS}/deployments", deployment())
        fake.post(f"/apis/batch/v1/namespaces/{NS}/jobs", job())
        yield fake
    assert app.cluster.loop.errors == []


@pytest.fixture
async def agent(kube: Kube) -> AsyncIterator[KubernetesCluster]:
    cluster = KubernetesCluster(host=kube.url, token="k-agent", timeout=5)
    yield cluster
    await cluster.aclose()


async def eventually(probe: Callable[[], Awaitable[T]], what: str, timeout: float = 20) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}")
        await asyncio.sleep(0.1)


async def crashed_twice(cluster: KubernetesCluster) -> list[RestartSignal]:
    """The signals once shop-api has restarted twice and waits in CrashLoopBackOff."""

    async def probe() -> list[RestartSignal]:
        signals = await cluster.restart_signals(namespace=NS, label_selector="app=shop-api")
        crashing = signals and signals[0].restarts >= 2 and signals[0].waiting_reason == "CrashLoopBackOff"
        return signals if crashing else []

    return await eventually(probe, "shop-api in CrashLoopBackOff after two restarts")


async def test_a_crash_loop_shows_in_pods_logs_events_and_restart_signals(agent: KubernetesCluster) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    [signal] = await crashed_twice(agent)
    assert signal.container == "api" and not signal.oom_killed
    assert (signal.last_reason, signal.last_exit_code) == ("Error", 1)

    [pod] = await agent.list_pods(namespace=NS, label_selector="app=shop-api")
    current = await agent.pod_logs(namespace=NS, pod=signal.pod, container="api")
    previous = await agent.pod_logs(namespace=NS, pod=signal.pod, previous=True)
    last_line = await agent.pod_logs(namespace=NS, pod=signal.pod, tail_lines=1)
    recent = await agent.pod_logs(namespace=NS, pod=signal.pod, since_seconds=600)
    assert pod.name == signal.pod and pod.owner.startswith("ReplicaSet/shop-api-")
    assert pod.phase == "Running" and not pod.ready and pod.labels["app"] == "shop-api"
    [api] = pod.containers
    assert api.image == "local/x" and api.restart_count >= 2 and not api.ready
    assert (api.state.state, api.state.reason) == ("waiting", "CrashLoopBackOff")
    assert api.last_state is not None and api.last_state.state == "terminated"
    assert api.last_state.exit_code == 1 and api.last_state.finished_at is not None
    assert current == previous == recent == "starting\nKeyError: DATABASE_URL\n"
    assert last_line == "KeyError: DATABASE_URL\n"

    backoff = await eventually(lambda: _backoff(agent, started), "a BackOff event", timeout=10)
    assert backoff is not None
    assert backoff.type == "Warning" and backoff.object == f"Pod/{pod.name}"
    assert backoff.first_seen is not None and backoff.last_seen is not None
    assert backoff.first_seen <= backoff.last_seen and backoff.source == "kubelet"
    assert {"ScalingReplicaSet", "Started"} <= {e.reason for e in await agent.events(namespace=NS)}
    events = await agent.events(namespace=NS, since=started)
    assert "BackOff" in {e.reason for e in events} and events == sorted(
        events, key=lambda e: e.last_seen or started
    )
    assert await agent.events(namespace=NS, until=started - timedelta(hours=1)) == []


async def _backoff(cluster: KubernetesCluster, since: datetime) -> Event | None:
    return next((e for e in await cluster.events(namespace=NS, since=since) if e.reason == "BackOff"), None)


async def test_workloads_are_described_trimmed_and_without_env_values(agent: KubernetesCluster) -> None:
    await crashed_twice(agent)
    [deploy] = await agent.describe(namespace=NS, kind="Deployment", name="shop-api")
    assert (deploy.kind, deploy.name, deploy.namespace) == ("Deployment", "shop-api", NS)
    assert deploy.metadata["labels"] == {"app": "shop-api"} and "generation" in deploy.metadata
    env = deploy.spec["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "DATABASE_PASSWORD", "value": "***"}, {"name": "LOG_LEVEL", "value": "***"}]
    assert "s3cret" not in repr(deploy)
    assert deploy.status["replicas"] == 1 and deploy.status["observedGeneration"] == 1

    [rs] = await agent.describe(namespace=NS, kind="ReplicaSet", label_selector="app=shop-api")
    assert rs.metadata["owner"] == "Deployment/shop-api" and rs.spec["replicas"] == 1

    async def done() -> Any:
        [migrate] = await agent.describe(namespace=NS, kind="Job")
        return migrate if migrate.status.get("succeeded") == 1 else None

    migrate = await eventually(done, "the job to succeed")
    assert migrate.name == "migrate" and migrate.spec["template"]["spec"]["restartPolicy"] == "Never"


async def test_statuses_map_to_the_port_error_tree(kube: Kube, agent: KubernetesCluster) -> None:
    with pytest.raises(PermanentError, match=r'403 pods is forbidden: User "agent:shop"'):
        await agent.list_pods(namespace="shop-agents")  # agents only create Jobs there
    with pytest.raises(PermanentError, match=r'404 deployments.apps "nope" not found'):
        await agent.describe(namespace=NS, kind="Deployment", name="nope")
    [pod, *_] = await eventually(lambda: agent.list_pods(namespace=NS), "a pod")
    with pytest.raises(PermanentError, match="400 container nope is not valid"):
        await agent.pod_logs(namespace=NS, pod=pod.name, container="nope")

    stranger = KubernetesCluster(host=kube.url, token="k-wrong", timeout=5)
    with pytest.raises(PermanentError, match="401 Unauthorized") as refused:
        await stranger.events(namespace=NS)
    assert "k-wrong" not in repr(refused.value)
    await stranger.aclose()

    fault = {"kind": "error", "path": f"/api/v1/namespaces/{NS}/pods", "status": 503, "count": 1}
    assert httpx.post(f"{kube.url}/_fake/faults", json=fault).status_code < 300
    with pytest.raises(TransientError, match="503 injected fault") as caught:
        await agent.list_pods(namespace=NS)
    assert caught.value.system == "kubernetes"
    assert await agent.list_pods(namespace=NS)  # one fault, then served again
    fault = {"kind": "error", "path": f"/api/v1/namespaces/{NS}/events", "status": 429, "count": 1}
    assert httpx.post(f"{kube.url}/_fake/faults", json=fault).status_code < 300
    with pytest.raises(TransientError, match="429"):
        await agent.events(namespace=NS)


async def test_an_unreachable_or_hung_apiserver_is_transient(kube: Kube) -> None:
    gone = KubernetesCluster(host=f"http://127.0.0.1:{free_port()}", token="k-agent", timeout=2)
    with pytest.raises(TransientError, match="NewConnectionError"):
        await gone.list_pods(namespace=NS)
    await gone.aclose()

    fault = {"kind": "timeout", "path": f"/api/v1/namespaces/{NS}/events", "delay_s": 2, "count": 1}
    assert httpx.post(f"{kube.url}/_fake/faults", json=fault).status_code < 300
    slow = KubernetesCluster(host=kube.url, token="k-agent", timeout=0.5)
    began = time.monotonic()
    with pytest.raises(TransientError, match="ReadTimeoutError"):
        await slow.events(namespace=NS)
    assert time.monotonic() - began < 2
    await slow.aclose()
