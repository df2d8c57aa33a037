"""Read-only access to the target namespace for the Evidence Collector.

`connect(kube)` builds the Cluster adapter (pods, logs, events, workloads). `RawObjects` lists the
core/v1 objects the Cluster port has no verb for, as the apiserver returns them: pods (with their
spec, for the bundle's pods/<pod>.yaml), services and configmaps. Secrets are never listed.

Errors, mapped in `RawObjects.list` only: 429, 5xx and transport errors -> TransientError; other
4xx -> PermanentError with the apiserver's Status message (the caller skips a forbidden kind).
"""

from __future__ import annotations

from typing import Any, Literal

import httpx

from appliance.adapters.kubernetes.cluster import KubernetesCluster
from appliance.agents.settings import Kube
from appliance.ports.errors import PermanentError, TransientError

CoreKind = Literal["pods", "services", "configmaps"]
SYSTEM = "kubernetes"


def connect(kube: Kube, *, timeout: float = 10.0) -> KubernetesCluster:
    return KubernetesCluster(host=kube.url, token=kube.token, ca_cert=kube.ca_file, timeout=timeout)


class RawObjects:
    def __init__(self, kube: Kube, *, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=kube.url,
            headers={"Authorization": f"Bearer {kube.token}", "Accept": "application/json"},
            verify=kube.ca_file or True,
            timeout=timeout,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def list(self, *, namespace: str, kind: CoreKind) -> list[dict[str, Any]]:
        what = f"list {kind} in {namespace}"
        try:
            response = await self._client.get(f"/api/v1/namespaces/{namespace}/{kind}")
        except httpx.TransportError as exc:
            raise TransientError(f"{what}: {type(exc).__name__}", system=SYSTEM) from exc
        if response.status_code >= 400:
            try:
                message = str(response.json().get("message") or response.reason_phrase)
            except ValueError:
                message = response.reason_phrase
            text = f"{what}: {response.status_code} {message}"
            if response.status_code == 429 or response.status_code >= 500:
                raise TransientError(text, system=SYSTEM)
            raise PermanentError(text, system=SYSTEM)
        try:
            items = response.json().get("items") or []
        except ValueError as exc:
            raise TransientError(f"{what}: the answer is not JSON", system=SYSTEM) from exc
        return sorted((i for i in items if isinstance(i, dict)), key=lambda o: str(o["metadata"]["name"]))
