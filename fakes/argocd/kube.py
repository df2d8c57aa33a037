"""The little of the Kubernetes REST API Argo CD's reconciler needs: get, create, replace, delete, list.

Argo CD talks to the cluster with its own identity (a bearer token); it is the only identity that
writes workloads, and the cluster's access log shows it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

Obj = dict[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# kind -> (API prefix, plural, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Pod": ("/api/v1", "pods", True),
    "Service": ("/api/v1", "services", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Secret": ("/api/v1", "secrets", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "ReplicaSet": ("/apis/apps/v1", "replicasets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
}


class KubeError(RuntimeError):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Kube:
    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        self.client = httpx.AsyncClient(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    @staticmethod
    def path(kind: str, namespace: str | None, name: str | None = None) -> str:
        if kind not in KINDS:
            raise KubeError(f"the cluster has no resource kind {kind!r}")
        prefix, plural, namespaced = KINDS[kind]
        base = (
            f"{prefix}/namespaces/{namespace}/{plural}" if namespaced and namespace else f"{prefix}/{plural}"
        )
        return f"{base}/{name}" if name else base

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise KubeError(f"cluster unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400 and response.status_code != 404:
            message = (
                response.json().get("message", response.text) if response.content else response.reason_phrase
            )
            raise KubeError(f"{method} {path}: {response.status_code} {message}", response.status_code)
        return response

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        response = await self._call("GET", self.path(kind, namespace, name))
        return None if response.status_code == 404 else dict(response.json())

    async def apply(self, obj: Obj) -> str:
        """Create or replace `obj`, like `kubectl apply`: the last applied form is kept in an
        annotation, and an object whose desired form has not changed is left alone."""
        kind, meta = obj["kind"], obj["metadata"]
        desired = json.dumps(obj, sort_keys=True)
        annotations = {**(meta.get("annotations") or {}), LAST_APPLIED: desired}
        body = {**obj, "metadata": {**meta, "annotations": annotations}}
        current = await self.get(kind, meta.get("namespace"), meta["name"])
        if current is None:
            await self._call("POST", self.path(kind, meta.get("namespace")), json=body)
            return "created"
        if (current["metadata"].get("annotations") or {}).get(LAST_APPLIED) == desired:
            return "unchanged"
        body["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
        await self._call("PUT", self.path(kind, meta.get("namespace"), meta["name"]), json=body)
        return "configured"

    async def delete(self, kind: str, namespace: str | None, name: str) -> None:
        await self._call("DELETE", self.path(kind, namespace, name), json={"propagationPolicy": "Foreground"})

    async def list(self, kind: str, namespace: str | None, selector: str = "") -> list[Obj]:
        params = {"labelSelector": selector} if selector else {}
        response = await self._call("GET", self.path(kind, namespace), params=params)
        return [] if response.status_code == 404 else list(response.json().get("items", []))
