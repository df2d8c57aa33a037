"""The embedded target for end-to-end tests: the fakes as one child process, seeded with `shop`, and the
real appliance (API and workers) driving them through Jenkins, as `pathops demo` does."""

from __future__ import annotations

import asyncio
import io
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import gitlab
import httpx

from appliance.adapters.embedded.endpoints import Endpoints
from appliance.adapters.embedded.report import SeedReport
from appliance.bootstrap import Target, start_target
from appliance.contracts.settings import Settings
from tests.support.server import LiveServer
from tests.support.world import free_port


@dataclass
class Embedded:
    target: Target
    endpoints: Endpoints
    server: LiveServer
    report: SeedReport

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.server.token}"}

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}{path}", headers=self.auth, timeout=30, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def state(self, kind: str, id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/api/{kind}/{id}")["state"])

    def wait(self, what: str, check: Callable[[], Any], *, timeout: float = 480.0, every: float = 0.5) -> Any:
        """Poll `check` until it returns something truthy; fail naming `what` and the last state seen."""
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(every)
        raise AssertionError(
            f"timed out after {timeout:.0f}s waiting for {what}; audit tail, newest first: {self.audit(30)}"
        )

    def audit(self, limit: int) -> list[str]:
        rows = self.api("GET", "/api/audit", params={"limit": limit})
        return [
            f"{r['actor']} {r['action']} {r['object']} {r['outcome']} {r.get('detail', '')}" for r in rows
        ]

    def instances(self, kind: str, **params: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"/api/{kind}", params=params))

    def gitlab(self, identity: str = "admin") -> gitlab.Gitlab:
        return gitlab.Gitlab(self.endpoints.gitlab.url, private_token=self.endpoints.gitlab.token(identity))

    def s3(self) -> Any:
        s3 = self.endpoints.s3
        return boto3.client("s3", endpoint_url=s3.url, aws_access_key_id=s3.token("admin"),
                            aws_secret_access_key=s3.secret("admin"), region_name="us-east-1")  # fmt: skip

    def bundle(self, snapshot_id: str) -> dict[str, str]:
        """The files of an evidence bundle, by path."""
        body = self.s3().get_object(Bucket="pathops-evidence", Key=f"snapshots/{snapshot_id}.tar.gz")["Body"]
        with tarfile.open(fileobj=io.BytesIO(body.read()), mode="r:gz") as tar:
            return {m.name: tar.extractfile(m).read().decode(errors="replace") for m in tar if m.isfile()}  # type: ignore[union-attr]

    def access_log(self, system: str) -> list[dict[str, Any]]:
        service = getattr(self.endpoints, system)
        return list(httpx.get(f"{service.url}/_fake/access-log", timeout=30).json())

    def kube(self, path: str) -> Any:
        kube = self.endpoints.kubernetes
        headers = {"Authorization": f"Bearer {kube.token('admin')}"}
        return httpx.get(f"{kube.url}{path}", headers=headers, timeout=30).json()


def start(data_dir: Path) -> Iterator[Embedded]:
    port = free_port()
    settings = Settings(
        data_dir=data_dir,
        port=port,
        alertmanager_secret="am-e2e-secret",
        gitlab_secret="gl-e2e-secret",
        argocd_secret="argo-e2e-secret",
        callback_key="cb-e2e-key",
    )
    target = asyncio.run(start_target(settings))
    try:
        assert target.endpoints is not None
        server = LiveServer(target.settings, bind_port=port).start()
        try:
            report = asyncio.run(target.seed())
            assert report is not None
            yield Embedded(target=target, endpoints=target.endpoints, server=server, report=report)
        finally:
            server.stop()
    finally:
        asyncio.run(target.stop())
