"""The Argo CD REST API (../shared/specs/argocd/swagger.json), the part PathOps and its checks use:
session, applications (list, get, create, update, delete, sync), resource tree, managed resources,
and the git webhook receiver. Errors are gRPC-gateway bodies: {"error", "code", "message"}.
"""

from __future__ import annotations

import hmac
import json
import secrets
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from fakes.argocd.reconcile import Controller
from fakes.common.accesslog import AccessLog

Obj = dict[str, Any]
Req = Request[Any, Any, Any]
GRPC = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error(_: Req, exc: ApiError) -> Response[Obj]:
    return Response(
        {"error": str(exc), "code": GRPC.get(exc.status, 2), "message": str(exc)}, status_code=exc.status
    )


class State:
    """The fake's state; with `path`, the applications (not their live status) survive a restart."""

    def __init__(
        self,
        *,
        tokens: dict[str, str],
        password: str,
        webhook_secret: str,
        readers: set[str],
        path: Path | None = None,
    ) -> None:
        self.tokens = dict(tokens)  # bearer token -> identity
        self.password = password
        self.webhook_secret = webhook_secret
        self.readers = readers  # identities that may only read
        self.apps: dict[str, Obj] = {}
        self.controller: Controller | None = None
        self.path = path
        self.log = AccessLog(path.parent / "access-log.jsonl" if path else None)
        if path is not None and path.exists():
            for app in json.loads(path.read_text()):
                self.apps[app["metadata"]["name"]] = {
                    **app,
                    "status": {"sync": {"status": "Unknown"}, "health": {"status": "Unknown"}},
                }

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keep = [{k: a[k] for k in ("apiVersion", "kind", "metadata", "spec")} for a in self.apps.values()]
        self.path.write_text(json.dumps(keep, indent=1))


def create_api(state: State) -> Litestar:
    def who(request: Req, *, write: bool = False, obj: str = "") -> str:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else request.cookies.get("argocd.token", "")
        identity = state.tokens.get(token) if token else None
        if identity is None:
            state.log.record(
                identity="anonymous", method=request.method, path=request.url.path, object=obj, outcome=401
            )
            raise ApiError(
                401, "no session information" if not token else "invalid session: token is not valid"
            )
        if write and identity in state.readers:
            state.log.record(
                identity=identity, method=request.method, path=request.url.path, object=obj, outcome=403
            )
            raise ApiError(403, "permission denied")
        state.log.record(
            identity=identity, method=request.method, path=request.url.path, object=obj, outcome=200
        )
        return identity

    def find(name: str) -> Obj:
        if name not in state.apps:
            raise ApiError(404, f'applications.argoproj.io "{name}" not found')
        return state.apps[name]

    @post("/api/v1/session", status_code=200)
    async def create_session(data: JSONBody[Obj]) -> Obj:
        ok = data.get("username") == "admin" and hmac.compare_digest(
            str(data.get("password", "")), state.password
        )
        if not ok:
            raise ApiError(401, "Invalid username or password")
        token = secrets.token_urlsafe(24)
        state.tokens[token] = "admin"
        return {"token": token}

    @get("/api/v1/session/userinfo")
    async def userinfo(request: Req) -> Obj:
        return {"loggedIn": True, "username": who(request), "iss": "argocd"}

    @get("/api/v1/applications")
    async def list_apps(
        request: Req, name: FromQuery[str | None] = None, selector: FromQuery[str | None] = None
    ) -> Obj:
        who(request)
        items = [a for a in state.apps.values() if name in (None, a["metadata"]["name"])]
        if selector:
            wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
            items = [
                a
                for a in items
                if all((a["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
            ]
        return {"metadata": {"resourceVersion": str(len(state.apps))}, "items": items}

    @post("/api/v1/applications", status_code=200)
    async def create_app(request: Req, data: JSONBody[Obj], upsert: FromQuery[bool] = False) -> Obj:
        name = _validate(data)
        who(request, write=True, obj=f"application {name}")
        if name in state.apps and not upsert:
            if state.apps[name]["spec"] != data["spec"]:
                raise ApiError(400, "existing application spec is different, use upsert flag to force update")
            return state.apps[name]
        app = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {**data["metadata"], "namespace": "argocd", "resourceVersion": "1"},
            "spec": data["spec"],
            "status": {"sync": {"status": "Unknown"}, "health": {"status": "Unknown"}},
        }
        state.apps[name] = app
        state.save()
        _refresh(state)
        return app

    @get("/api/v1/applications/{name:str}")
    async def get_app(request: Req, name: FromPath[str], refresh: FromQuery[str | None] = None) -> Obj:
        who(request, obj=f"application {name}")
        app = find(name)
        if refresh and state.controller is not None:
            await state.controller.reconcile(name)
        return app

    @put("/api/v1/applications/{name:str}")
    async def update_app(request: Req, name: FromPath[str], data: JSONBody[Obj]) -> Obj:
        who(request, write=True, obj=f"application {name}")
        app = find(name)
        if _validate(data) != name:
            raise ApiError(400, "application name in the body does not match the path")
        app["spec"] = data["spec"]
        state.save()
        _refresh(state)
        return app

    @delete("/api/v1/applications/{name:str}", status_code=200)
    async def delete_app(request: Req, name: FromPath[str], cascade: FromQuery[bool] = True) -> Obj:
        who(request, write=True, obj=f"application {name}")
        app = find(name)
        if cascade and state.controller is not None:
            for res in app.get("status", {}).get("resources", []):
                await state.controller.kube.delete(res["kind"], res.get("namespace"), res["name"])
        del state.apps[name]
        state.save()
        return {}

    @post("/api/v1/applications/{name:str}/sync", status_code=200)
    async def sync_app(request: Req, name: FromPath[str], data: JSONBody[Obj | None] = None) -> Obj:
        who(request, write=True, obj=f"application {name}")
        find(name)
        if state.controller is None:
            raise ApiError(400, "no cluster configured")
        prune = (data or {}).get("prune")
        return await state.controller.reconcile(
            name, sync=True, prune=bool(prune) if prune is not None else None
        )

    @get("/api/v1/applications/{name:str}/resource-tree")
    async def resource_tree(request: Req, name: FromPath[str]) -> Obj:
        who(request, obj=f"application {name}")
        app = find(name)
        nodes: list[Obj] = []
        if state.controller is not None:
            for res in app.get("status", {}).get("resources", []):
                live = await state.controller.kube.get(res["kind"], res.get("namespace"), res["name"])
                if live is None:
                    continue
                nodes.append(_node(live, res.get("health")))
                if res["kind"] in ("Deployment", "Job"):
                    for child in await state.controller.children_of(live):
                        nodes.append(_node(child, None))
        return {"nodes": nodes}

    @get("/api/v1/applications/{name:str}/managed-resources")
    async def managed_resources(request: Req, name: FromPath[str]) -> Obj:
        who(request, obj=f"application {name}")
        app = find(name)
        items = []
        for res in app.get("status", {}).get("resources", []):
            live = (
                await state.controller.kube.get(res["kind"], res.get("namespace"), res["name"])
                if state.controller
                else None
            )
            target = ((live or {}).get("metadata", {}).get("annotations") or {}).get(
                "kubectl.kubernetes.io/last-applied-configuration", ""
            )
            items.append(
                {
                    "group": res["group"],
                    "kind": res["kind"],
                    "namespace": res.get("namespace") or "",
                    "name": res["name"],
                    "targetState": target,
                    "liveState": json.dumps(live) if live else "null",
                    "normalizedLiveState": json.dumps(live) if live else "null",
                    "modified": res.get("status") != "Synced",
                }
            )
        return {"items": items}

    @post("/api/webhook", status_code=200)
    async def git_webhook(request: Req) -> str:
        """The git webhook receiver: a GitLab push with the configured secret refreshes every app."""
        token = request.headers.get("x-gitlab-token", "")
        if not state.webhook_secret or not hmac.compare_digest(token, state.webhook_secret):
            state.log.record(identity="gitlab", method="POST", path="/api/webhook", outcome=400)
            raise ApiError(400, "Webhook processing failed: The provided secret token does not match")
        state.log.record(identity="gitlab", method="POST", path="/api/webhook", outcome=200)
        _refresh(state)
        return ""

    return Litestar(
        [
            create_session,
            userinfo,
            list_apps,
            create_app,
            get_app,
            update_app,
            delete_app,
            sync_app,
            resource_tree,
            managed_resources,
            git_webhook,
        ],
        exception_handlers={ApiError: _error},
    )


def _refresh(state: State) -> None:
    if state.controller is not None:
        state.controller.refresh()


def _validate(data: Obj) -> str:
    name = (data.get("metadata") or {}).get("name") if isinstance(data, dict) else None
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise ApiError(400, "application metadata.name is required")
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("source"), dict)
        or not isinstance(spec.get("destination"), dict)
    ):
        raise ApiError(400, "application spec.source and spec.destination are required")
    if not spec["source"].get("repoURL"):
        raise ApiError(400, "application repo URL is required")
    spec.setdefault("project", "default")
    return name


def _node(obj: Obj, health: Obj | None) -> Obj:
    api = str(obj.get("apiVersion", "v1"))
    meta = obj["metadata"]
    node: Obj = {
        "group": api.split("/")[0] if "/" in api else "",
        "version": api.split("/")[-1],
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
        "parentRefs": [
            {
                "kind": r.get("kind"),
                "name": r.get("name"),
                "uid": r.get("uid"),
                "namespace": meta.get("namespace", ""),
            }
            for r in meta.get("ownerReferences") or []
        ],
    }
    if health:
        node["health"] = health
    return node
