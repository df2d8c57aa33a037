"""The GitOps port on the Argo CD REST API (../shared/specs/argocd/swagger.json), bearer token auth.

    GET  /api/v1/applications/{name}                  get_app
    GET  /api/v1/applications/{name}?refresh=normal   refresh
    POST /api/v1/applications/{name}/sync             sync {name, revision?, prune}

Errors are gRPC-gateway bodies `{"error", "code", "message"}`, mapped in `_raise_for` only:
    400, 401, 403, 404, other 4xx      PermanentError (with the body's message)
    400 "another operation is already in progress" (FailedPrecondition)   TransientError
    429, 5xx, transport errors         TransientError
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from appliance.ports.errors import PermanentError, TransientError
from appliance.ports.gitops import AppResource, AppStatus

Obj = dict[str, Any]
SYSTEM = "argocd"
BUSY = "another operation is already in progress"


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or "")
    return ""


def _raise_for(response: httpx.Response, what: str) -> None:
    """The one place Argo CD answers become port errors."""
    code = response.status_code
    if code < 400:
        return
    message = _message(response)
    text = f"{what}: Argo CD answered {code} {message}".rstrip()
    if code == 429 or code >= 500 or BUSY in message:
        retry_after = response.headers.get("Retry-After", "")
        delay = float(retry_after) if retry_after.isdigit() else None
        raise TransientError(text, system=SYSTEM, delay=delay)
    raise PermanentError(text, system=SYSTEM)


def _resource(raw: Obj) -> AppResource:
    health = raw.get("health") or {}
    return AppResource(
        kind=str(raw.get("kind") or ""),
        name=str(raw.get("name") or ""),
        namespace=str(raw.get("namespace") or ""),
        group=str(raw.get("group") or ""),
        sync_status=str(raw.get("status") or ""),
        health=str(health.get("status") or ""),
        health_message=str(health.get("message") or ""),
    )


def _status(app: Obj) -> AppStatus:
    status = app.get("status") or {}
    sync, health = status.get("sync") or {}, status.get("health") or {}
    operation = status.get("operationState") or {}
    conditions = [f"{c.get('type', '')}: {c.get('message', '')}" for c in status.get("conditions") or []]
    return AppStatus(
        name=str((app.get("metadata") or {}).get("name") or ""),
        sync_status=str(sync.get("status") or "Unknown"),
        health=str(health.get("status") or "Unknown"),
        health_message=str(health.get("message") or ""),
        revision=str(sync.get("revision") or ""),
        operation_phase=str(operation.get("phase") or ""),
        operation_message=str(operation.get("message") or ""),
        resources=tuple(_resource(r) for r in status.get("resources") or []),
        images=tuple(str(i) for i in (status.get("summary") or {}).get("images") or []),
        conditions=tuple(conditions),
    )


class ArgoCdGitOps:
    def __init__(self, *, url: str, token: str, timeout: float = 10.0, verify: bool | str = True) -> None:
        self._client = httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            verify=verify,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _app(self, method: str, name: str, what: str, suffix: str = "", **kwargs: Any) -> AppStatus:
        """One call on an application's URL, answered by the Application (or a port error)."""
        path = f"/api/v1/applications/{quote(name, safe='')}{suffix}"
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise TransientError(f"{what}: {type(exc).__name__}", system=SYSTEM) from exc
        _raise_for(response, what)
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"{what}: the answer is not JSON", system=SYSTEM) from exc
        if not isinstance(body, dict):
            raise TransientError(f"{what}: the answer is not an application", system=SYSTEM)
        return _status(body)

    async def get_app(self, *, name: str) -> AppStatus:
        return await self._app("GET", name, f"get application {name}")

    async def refresh(self, *, name: str) -> AppStatus:
        return await self._app("GET", name, f"refresh application {name}", params={"refresh": "normal"})

    async def sync(self, *, name: str, revision: str | None = None, prune: bool = False) -> AppStatus:
        body: Obj = {"name": name, "prune": prune}
        if revision:
            body["revision"] = revision
        return await self._app("POST", name, f"sync application {name}", "/sync", json=body)
