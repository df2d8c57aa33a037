"""The agents' outside world, shared by the agent tests: the Kubernetes fake with a crash-looping
shop-api in `shop-preflight`, the S3 fake with PathOps' buckets, and a control plane stand-in that
records every callback and answers what a test scripts (202 by default).

Agents run as real subprocesses (`python -m appliance.agents ...`) with only the environment of
docs/golden-paths.md. The evidence snapshot is collected once per session (`snapshot`) and reused
by the fix agent's tests.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import fakes.kubernetes
import fakes.s3
from appliance.adapters.s3.store import S3ObjectStore
from fakes.common.asgi import read_body, send_json
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from tests.support.world import free_port

NS = "shop-preflight"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
S3_ADMIN = ("AKPATHOPS", "Pathops-S3cret-Key-9f8e7d")
S3_AGENT = ("AKAGENT", "Agent-S3cret-Key-1a2b3c")
KUBE_TOKENS = {"k-admin": "admin", "k-agent": "agent:shop", "k-narrow": "narrow:shop"}
SECRET_VALUES = ("s3cret-pw", "dbpass123", "bearer-tok-42", "cm-pass-123", "cmsecret", "tok-from-secret")
RBAC = """
rules:
  - {identity: admin, verbs: ["*"], resources: ["*"], namespaces: ["*"], cluster: true}
  - identity: "agent:{app}"
    verbs: [get, list, watch]
    resources: [pods, pods/log, events, deployments, replicasets, jobs, services, configmaps]
    namespaces: ["{app}-preflight", "{app}-production"]
  - identity: "narrow:{app}"
    verbs: [get, list, watch]
    resources: [pods, pods/log, events, deployments, replicasets, jobs]
    namespaces: ["{app}-preflight"]
"""
TRACEBACK = (
    "Traceback (most recent call last):",
    '  File "/src/app/main.py", line 3, in <module>',
    '    DB_URL = os.environ["SHOP_DB_URL"]',
    '  File "/usr/lib/python3.11/os.py", line 679, in __getitem__',
    "    raise KeyError(key) from None",
    "KeyError: 'SHOP_DB_URL'",
)
CRASH = (
    "import sys; print('starting shop-api, db postgres://shop:dbpass123@db:5432/shop', flush=True); "
    "print('upstream Authorization: Bearer bearer-tok-42', flush=True); "
    f"sys.stderr.write({chr(10).join(TRACEBACK) + chr(10)!r}); sys.exit(1)"
)


def deployment() -> dict[str, Any]:
    container = {
        "name": "api",
        "image": "local/shop-api:0123456789ab",
        "command": ["python3", "-c", CRASH],
        "env": [
            {"name": "DATABASE_PASSWORD", "value": "s3cret-pw"},
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "shop-secrets", "key": "token"}}},
        ],
        "resources": {"limits": {"memory": "256Mi"}},
    }
    template = {
        "metadata": {"labels": {"app": "shop-api"}, "annotations": {"pathops.dev/commit-sha": COMMIT}},
        "spec": {"containers": [container]},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop-api", "labels": {"app": "shop-api"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "shop-api"}}, "template": template},
    }


OBJECTS = (
    (f"/api/v1/namespaces/{NS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-secrets"},
                                          "data": {"token": base64.b64encode(b"tok-from-secret").decode()}}),
    (f"/api/v1/namespaces/{NS}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-config"},
                                             "data": {"LOG_LEVEL": "info", "DB_PASSWORD": "cm-pass-123",
                                                      "DSN": "postgres://u:cmsecret@db/x"}}),
    (f"/api/v1/namespaces/{NS}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop-api"},
                                           "spec": {"selector": {"app": "shop-api"}, "ports": [{"port": 80}]}}),
    (f"/apis/apps/v1/namespaces/{NS}/deployments", deployment()),
)  # fmt: skip


@dataclass
class Call:
    path: str
    authorization: str
    body: dict[str, Any]


@dataclass
class ControlPlane:
    """Records callbacks; answers the statuses in `script` first (then 202)."""

    calls: list[Call] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    url: str = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        body = json.loads(await read_body(receive) or b"{}")
        self.calls.append(Call(scope["path"], headers.get("authorization", ""), body))
        status = self.script.pop(0) if self.script else 202
        detail = {401: "unknown callback token", 409: "duplicate callback: already accepted"}.get(status, "x")
        await send_json(
            send, status, {"accepted": 1} if status < 300 else {"status_code": status, "detail": detail}
        )

    def reset(self) -> None:
        self.calls.clear()
        self.script.clear()


@dataclass
class World:
    kube_url: str
    kube: Any
    s3_url: str
    control: ControlPlane

    def env(self, **extra: str) -> dict[str, str]:
        """The environment contract of docs/golden-paths.md ("Agents"), for app `shop`."""
        host, port = self.kube_url.removeprefix("http://").split(":")
        return {
            "INCIDENT_ID": "inc-1",
            "APP_ID": "shop-api",
            "TARGET_NAMESPACE": NS,
            "TIME_WINDOW": "900",
            "MINIO_ENDPOINT": self.s3_url,
            "MINIO_ACCESS_KEY": S3_AGENT[0],
            "MINIO_SECRET_KEY": S3_AGENT[1],
            "CONTROL_PLANE_CALLBACK_URL": self.control.url,
            "CALLBACK_TOKEN": "cb-token-1",
            "KUBE_TOKEN": "k-agent",
            "KUBERNETES_SERVICE_HOST": host,
            "KUBERNETES_SERVICE_PORT": port,
            **extra,
        }

    def admin_store(self) -> S3ObjectStore:
        return S3ObjectStore(url=self.s3_url, access_key=S3_ADMIN[0], secret_key=S3_ADMIN[1], timeout=5)

    def get_object(self, bucket: str, key: str) -> bytes | None:
        async def get() -> bytes | None:
            store = self.admin_store()
            try:
                return await store.get(bucket=bucket, key=key)
            finally:
                await store.aclose()

        return asyncio.run(get())

    def put_object(self, bucket: str, key: str, data: bytes) -> None:
        async def put() -> None:
            store = self.admin_store()
            try:
                await store.put(bucket=bucket, key=key, data=data)
            finally:
                await store.aclose()

        asyncio.run(put())


def run_agent(
    agent: str, env: dict[str, str], *, cwd: Path | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """The agent as a Job runs it: a fresh process with only the Job's environment."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "-m", "appliance.agents", agent],
        env={**base, **env},
        cwd=cwd or Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def _buckets(url: str) -> None:
    store = S3ObjectStore(url=url, access_key=S3_ADMIN[0], secret_key=S3_ADMIN[1], timeout=5)
    for bucket in ("pathops-evidence", "pathops-patches", "pathops-reports"):
        await store.ensure_bucket(bucket=bucket)
    await store.aclose()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    rbac = tmp_path_factory.mktemp("rbac") / "rbac.yaml"
    rbac.write_text(RBAC)
    kube_options = {
        "backoff_base_s": "0.3",
        "backoff_max_s": "5",
        "resync_s": "0.2",
        "grace_scale": "0.1",
        "namespaces": f"{NS},shop-agents,shop-production",
        "preloaded_images": "local/*",
        "rbac": str(rbac),
    }
    s3_config = FakeConfig(
        tokens={S3_ADMIN[0]: "pathops", S3_AGENT[0]: "agent"},
        options={f"secret_key:{S3_ADMIN[0]}": S3_ADMIN[1], f"secret_key:{S3_AGENT[0]}": S3_AGENT[1],
                 "buckets:agent": "pathops-*"},
    )  # fmt: skip
    control = ControlPlane()
    port = free_port()  # known before the fake is built: its pods reach it at KUBERNETES_SERVICE_HOST/PORT
    kube_config = FakeConfig(tokens=KUBE_TOKENS, options=kube_options, public_url=f"http://127.0.0.1:{port}")
    kube = fakes.kubernetes.build(kube_config)
    with (
        ThreadedServer(kube, port=port) as kube_url,
        ThreadedServer(fakes.s3.build(s3_config)) as s3_url,
        ThreadedServer(control) as control_url,
    ):
        control.url = control_url
        for path, body in OBJECTS:
            response = httpx.post(f"{kube_url}{path}", json=body, headers={"Authorization": "Bearer k-admin"})
            assert response.status_code == 201, response.text
        asyncio.run(_buckets(s3_url))
        yield World(kube_url, kube, s3_url, control)
    assert kube.cluster.loop.errors == []


@pytest.fixture
def control(world: World) -> Iterator[ControlPlane]:
    world.control.reset()
    yield world.control
    world.control.reset()


def wait_for_crash_loop(world: World, restarts: int = 2, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        pods = httpx.get(
            f"{world.kube_url}/api/v1/namespaces/{NS}/pods", headers={"Authorization": "Bearer k-admin"}
        ).json()["items"]
        for pod in pods:
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                waiting = (status.get("state") or {}).get("waiting") or {}
                if status["restartCount"] >= restarts and waiting.get("reason") == "CrashLoopBackOff":
                    return dict(pod)
        if time.monotonic() > deadline:
            raise AssertionError(f"no pod in CrashLoopBackOff after {restarts} restarts: {pods}")
        time.sleep(0.1)


@dataclass(frozen=True)
class Collected:
    result: subprocess.CompletedProcess[str]
    calls: list[Call]
    pod: dict[str, Any]
    access_from: float


@pytest.fixture(scope="session")
def collected(world: World) -> Collected:
    """The Evidence Collector run once against the crash loop (the fix agent's tests reuse its snapshot)."""
    pod = wait_for_crash_loop(world)
    world.control.reset()
    started = time.time()
    result = run_agent("evidence", world.env())
    calls = list(world.control.calls)
    world.control.reset()
    assert result.returncode == 0, result.stderr
    return Collected(result, calls, pod, started)
