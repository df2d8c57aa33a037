"""The monitor over real HTTP: the Kubernetes fake runs crashing pods, the monitor turns them into
alerts, and Debian's real Alertmanager 0.25 (the fake when it is not installed) notifies a receiver.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest

import fakes.kubernetes
import fakes.monitor
from fakes.alertmanager.real import Running, start_alertmanager
from fakes.common.asgi import read_body, send_json
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer

T = TypeVar("T")
PROD, PREFLIGHT, OTHER = "shop-api-production", "shop-api-preflight", "shop-api-staging"
TOKENS = {"k-admin": "admin", "k-monitor": "pathops", "k-agent": "agent:shop-api"}
KUBE_OPTIONS = {
    "backoff_base_s": "0.4",
    "backoff_max_s": "1",
    "resync_s": "0.2",
    "grace_scale": "0.05",
    "memory_poll_s": "0.02",
    "namespaces": f"{PROD},{PREFLIGHT},{OTHER}",
    "preloaded_images": "local/*",
}
MONITOR_OPTIONS = {"kube_token": "k-monitor", "period_s": "0.2", "resend_s": "0.5", "window_s": "2"}
CRASH = "import sys; print('KeyError: DATABASE_URL', file=sys.stderr); sys.exit(1)"
SERVE = "import time; time.sleep(600)"
SHA = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Receiver:
    """Alertmanager's webhook receiver: records every notification."""

    got: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_body(receive))
        with self.lock:
            self.got.append(body)
        await send_json(send, 200, {})

    def alerts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [alert for body in self.got for alert in body["alerts"]]


@dataclass
class World:
    kube: str
    alertmanager: Running
    monitor: str
    app: fakes.monitor.MonitorFake
    receiver: Receiver

    def kube_call(self, method: str, path: str, body: dict[str, Any]) -> None:
        headers = {"Authorization": "Bearer k-admin", "Content-Type": "application/merge-patch+json"}
        if method == "POST":
            headers["Content-Type"] = "application/json"
        response = httpx.request(method, f"{self.kube}{path}", json=body, headers=headers, timeout=10)
        assert response.status_code < 300, response.text

    def am_alerts(self, alertname: str) -> list[dict[str, Any]]:
        alerts = httpx.get(f"{self.alertmanager.url}/api/v2/alerts", timeout=5).json()
        return [a for a in alerts if a["labels"]["alertname"] == alertname]

    def monitor_alerts(self, alertname: str) -> list[dict[str, Any]]:
        body = httpx.get(f"{self.monitor}/api/v1/alerts", timeout=5).json()
        return [a for a in body["data"]["alerts"] if a["labels"]["alertname"] == alertname]


def eventually(probe: Callable[[], T], what: str, timeout: float = 12) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}")
        time.sleep(0.1)


def container(command: str, **extra: Any) -> dict[str, Any]:
    return {"name": "api", "image": "local/x", "command": ["python3", "-c", command], **extra}


def deployment(command: str) -> dict[str, Any]:
    meta = {
        "labels": {"app": "shop-api", "pathops.dev/project": "shop"},
        "annotations": {"pathops.dev/commit-sha": SHA},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop-api", "labels": {"app": "shop-api"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "shop-api"}},
            "template": {"metadata": meta, "spec": {"containers": [container(command)]}},
        },
    }


def pod(name: str, spec: dict[str, Any], restart: str = "Always") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "shop-api"}},
        "spec": {"restartPolicy": restart, "containers": [spec]},
    }


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    receiver = Receiver()
    kube_app = fakes.kubernetes.build(FakeConfig(tokens=TOKENS, options=KUBE_OPTIONS))
    with (
        ThreadedServer(receiver) as hook,
        ThreadedServer(kube_app) as kube,
        start_alertmanager(receiver_url=hook, group_by=("...",), group_wait=0.1, group_interval=0.5) as am,
    ):
        peers = {"kubernetes": kube, "alertmanager": am.url}
        app = fakes.monitor.build(FakeConfig(peers=peers, options=MONITOR_OPTIONS))
        with ThreadedServer(app) as monitor:
            yield World(kube, am, monitor, app, receiver)
    assert kube_app.cluster.loop.errors == []


def test_a_crash_loop_reaches_alertmanager_with_its_labels_and_resolves_once_fixed(world: World) -> None:
    world.kube_call("POST", f"/apis/apps/v1/namespaces/{PROD}/deployments", deployment(CRASH))
    world.kube_call("POST", f"/api/v1/namespaces/{OTHER}/pods", pod("unwatched", container(CRASH)))

    [alert] = eventually(lambda: world.am_alerts("KubePodCrashLooping"), "the alert in Alertmanager")
    labels = dict(alert["labels"])
    assert labels.pop("pod").startswith("shop-api-")
    assert labels == {
        "alertname": "KubePodCrashLooping", "severity": "critical", "namespace": PROD, "container": "api",
        "app": "shop-api", "env": "production", "project": "shop", "deployment": "shop-api", "commit_sha": SHA,
    }  # fmt: skip
    assert alert["annotations"]["summary"] == "Pod is crash looping."
    assert (
        f"Pod {PROD}/{alert['labels']['pod']} (api) is crash looping" in alert["annotations"]["description"]
    )
    assert alert["generatorURL"].startswith("http://") and "/graph?g0.expr=" in alert["generatorURL"]
    notified = eventually(
        lambda: [a for a in world.receiver.alerts() if a["labels"]["alertname"] == "KubePodCrashLooping"],
        "the firing notification",
    )
    assert notified[0]["status"] == "firing" and notified[0]["labels"] == alert["labels"]
    [listed] = world.monitor_alerts("KubePodCrashLooping")
    assert listed["state"] == "firing" and listed["labels"] == alert["labels"]
    assert listed["value"].endswith(("e+00", "e+01")) and listed["activeAt"].endswith("Z")

    assert not [
        a for a in world.receiver.alerts() if a["status"] == "resolved"
    ]  # no flapping while it crashes
    fix = {"spec": {"template": {"spec": {"containers": [container(SERVE)]}}}}
    world.kube_call("PATCH", f"/apis/apps/v1/namespaces/{PROD}/deployments/shop-api", fix)

    resolved = eventually(
        lambda: [
            a for a in world.receiver.alerts() if a["labels"] == alert["labels"] and a["status"] == "resolved"
        ],
        "the resolved notification",
        timeout=15,
    )
    assert resolved[0]["endsAt"] > resolved[0]["startsAt"]
    assert world.am_alerts("KubePodCrashLooping") == []
    assert world.monitor_alerts("KubePodCrashLooping") == []
    assert not [a for a in world.receiver.alerts() if a["labels"].get("namespace") == OTHER]


def test_oom_kills_and_containers_stuck_waiting_fire_their_own_rules(world: World) -> None:
    hog = container(
        "b = bytearray(300 * 1024 * 1024); import time; time.sleep(30)",
        resources={"limits": {"memory": "64Mi"}},
    )
    missing_secret = container(
        SERVE, env=[{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "url"}}}]
    )
    no_registry = {**container(SERVE), "image": "127.0.0.1:9/shop/api:1"}
    world.kube_call("POST", f"/api/v1/namespaces/{PREFLIGHT}/pods", pod("hog", hog))
    world.kube_call("POST", f"/api/v1/namespaces/{PREFLIGHT}/pods", pod("config", missing_secret))
    world.kube_call("POST", f"/api/v1/namespaces/{PREFLIGHT}/pods", pod("pull", no_registry))

    [oom] = eventually(lambda: world.am_alerts("KubePodOOMKilled"), "the OOM alert")
    assert oom["labels"] == {
        "alertname": "KubePodOOMKilled", "severity": "critical", "namespace": PREFLIGHT, "pod": "hog",
        "container": "api", "app": "shop-api", "env": "preflight",
    }  # fmt: skip

    def waiting() -> dict[str, str]:
        found = {
            a["labels"]["pod"]: a["annotations"]["description"]
            for a in world.am_alerts("KubeContainerWaiting")
        }
        return found if set(found) == {"config", "pull"} else {}

    descriptions = eventually(waiting, "the waiting alerts")
    assert descriptions["config"].endswith('(reason: "CreateContainerConfigError").')
    assert 'ErrImagePull")' in descriptions["pull"] or 'ImagePullBackOff")' in descriptions["pull"]
    [rule] = [r for r in _rules(world) if r["name"] == "KubeContainerWaiting"]
    assert rule["state"] == "firing" and {a["labels"]["pod"] for a in rule["alerts"]} == {"config", "pull"}


def test_the_rules_api_the_probes_and_the_admin_api(world: World) -> None:
    eventually(lambda: world.app.monitor.evaluations >= 1, "a first evaluation")
    body = httpx.get(f"{world.monitor}/api/v1/rules").json()
    [group] = body["data"]["groups"]
    assert body["status"] == "success" and group["name"] == "kubernetes-apps" and group["interval"] == 0.2
    assert [r["name"] for r in group["rules"]] == [
        "KubePodCrashLooping",
        "KubePodOOMKilled",
        "KubeContainerWaiting",
    ]
    crash = group["rules"][0]
    assert crash["type"] == "alerting" and crash["health"] == "ok" and crash["lastError"] == ""
    assert crash["labels"] == {"severity": "critical"} and "[2s]" in crash["query"]
    assert "{{ $labels.namespace }}" in crash["annotations"]["description"]
    assert httpx.get(f"{world.monitor}/api/v1/rules?type=record").json()["data"]["groups"] == []
    assert httpx.get(f"{world.monitor}/api/v1/rules?type=nope").status_code == 400
    assert httpx.get(f"{world.monitor}/-/ready").text == "Prometheus Server is Ready.\n"
    assert httpx.get(f"{world.monitor}/api/v1/query").status_code == 404
    assert httpx.get(f"{world.monitor}/_fake/health").json() == {"status": "ok", "name": "monitor"}

    fault = {"kind": "error", "path": "/api/v1/alerts", "status": 503, "count": 1}
    assert httpx.post(f"{world.monitor}/_fake/faults", json=fault).status_code == 201
    assert httpx.get(f"{world.monitor}/api/v1/alerts").status_code == 503
    assert httpx.get(f"{world.monitor}/api/v1/alerts").status_code == 200
    log = httpx.get(f"{world.monitor}/_fake/access-log").json()
    assert {"identity": "anonymous", "method": "GET", "path": "/api/v1/rules", "object": "rules"} in [
        {k: e[k] for k in ("identity", "method", "path", "object")} for e in log
    ]
    cluster_log = httpx.get(f"{world.kube}/_fake/access-log").json()
    assert {e["path"] for e in cluster_log if e["identity"] == "pathops"} == {
        "/api/v1/pods",
        "/apis/apps/v1/replicasets",
    }


def test_a_monitor_the_cluster_refuses_reports_it_on_its_rules(world: World) -> None:
    options = {
        **MONITOR_OPTIONS,
        "kube_token": "k-agent",
    }  # read-only in two namespaces: no cluster-wide list
    app = fakes.monitor.build(FakeConfig(peers={"kubernetes": world.kube}, options=options))
    with ThreadedServer(app) as url:
        eventually(lambda: app.monitor.evaluations >= 1, "a first evaluation")
        rule = httpx.get(f"{url}/api/v1/rules").json()["data"]["groups"][0]["rules"][0]
    assert rule["health"] == "err" and rule["lastError"].startswith("GET /api/v1/pods: 403")
    assert app.monitor.alerts.active == {}


def _rules(world: World) -> list[dict[str, Any]]:
    return list(httpx.get(f"{world.monitor}/api/v1/rules").json()["data"]["groups"][0]["rules"])
