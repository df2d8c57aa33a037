"""The registry half of Harbor: `/v2/` in front of docker-registry, and `/service/token`.

Like Harbor's core, the front authenticates (bearer tokens from `/service/token`, or basic auth),
checks the caller's access to `<project>/<repo>`, keeps its own record of artifacts and tags, and
proxies the rest to the real registry, streaming blobs both ways:

- a manifest pushed (PUT) is recorded as an artifact (digest, tags, size, push time, media types);
- a manifest pulled by tag is resolved through that record, so tags removed through the API are
  gone from the registry too; `tags/list` and `_catalog` are answered from it;
- refusals are Harbor's: 401 `UNAUTHORIZED` with a `WWW-Authenticate` challenge (Bearer to
  `/service/token` for requests without credentials, Basic otherwise), also for a missing project.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import httpx

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import Receive, Scope, Send, read_body
from fakes.harbor import scanner
from fakes.harbor.access import ANONYMOUS, TOKEN_TTL_S, Access, Principal
from fakes.harbor.backend import RegistryProcess
from fakes.harbor.http import now_iso
from fakes.harbor.store import Artifact, Project, Store

HOP_BY_HOP = {
    b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade", b"trailer", b"expect",
    b"proxy-authorization", b"proxy-connection", b"authorization",
}  # fmt: skip
API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")
MAX_MANIFEST_BYTES = 4 << 20
IMAGE_CONFIGS = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
_ROUTE = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags)/(?P<rest>.*)$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


class Denied(Exception):
    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.message, self.challenge = message, challenge


class Caller:
    """Who calls /v2, and what they may do: from a bearer token, basic auth, or nobody."""

    def __init__(self, access: Access, headers: dict[str, str]) -> None:
        self.access = access
        self.header = headers.get("authorization", "")
        self.claims: dict[str, Any] | None = None
        self.principal: Principal | None = ANONYMOUS
        if self.header[:7].lower() == "bearer ":
            self.claims = access.read_token(self.header[7:].strip())
            self.principal = None
        elif self.header[:6].lower() == "basic ":
            self.principal = access.from_basic(self.header)

    @property
    def valid(self) -> bool:
        return self.claims is not None or self.principal is not None

    @property
    def name(self) -> str:
        if self.claims is not None:
            return str(self.claims.get("sub") or "anonymous")
        return self.principal.name if self.principal is not None else "anonymous"

    @property
    def authenticated(self) -> bool:
        return self.name != "anonymous" and self.valid

    def may(self, repository: str, action: str) -> bool:
        if self.claims is not None:
            return any(
                entry.get("type") == "repository"
                and entry.get("name") == repository
                and (action in entry.get("actions", []) or "*" in entry.get("actions", []))
                for entry in self.claims.get("access", [])
            )
        return self.principal is not None and self.access.registry_allows(self.principal, repository, action)

    def may_list_catalog(self) -> bool:
        if self.claims is not None:
            return any(
                e.get("type") == "registry" and "*" in e.get("actions", []) for e in self.claims["access"]
            )
        return self.principal is not None and self.principal.admin


class Registry:
    def __init__(
        self,
        store: Store,
        access: Access,
        backend: RegistryProcess,
        log: AccessLog,
        vulnerabilities: dict[str, Any],
        *,
        scanner: bool = True,
    ) -> None:
        self.store, self.access, self.backend, self.log = store, access, backend, log
        self.vulnerabilities = vulnerabilities
        self.scanner = scanner  # False: no scanner is installed (scans are refused, auto-scan does nothing)
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=self.backend.socket),
                timeout=httpx.Timeout(300.0, connect=5),
            )
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- /service/token
    async def token(self, scope: Scope, send: Send, headers: dict[str, str]) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        auth = headers.get("authorization", "")
        who = self.access.from_basic(auth) if auth[:6].lower() == "basic " else ANONYMOUS
        if who is None:
            await _json(send, 401, _errors("UNAUTHORIZED", "unauthorized: authentication required"))
            self.log.record(
                identity="anonymous", method="GET", path=scope["path"], object="token", outcome=401
            )
            return
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        token = self.access.issue_token(who, scopes)
        body = {"token": token, "access_token": token, "expires_in": TOKEN_TTL_S, "issued_at": now_iso()}
        await _json(send, 200, body)
        self.log.record(
            identity=who.name,
            method="GET",
            path=scope["path"],
            object="token " + " ".join(scopes),
            outcome=200,
        )

    # -- /v2/...
    async def handle(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], base: str
    ) -> None:
        method, path = scope["method"], scope["path"]
        caller = Caller(self.access, headers)
        obj = ""
        try:
            if not self.backend.running:
                status = await _json(
                    send,
                    503,
                    _errors(
                        "UNAVAILABLE", "docker-registry is not running (apt-get install docker-registry)"
                    ),
                )
            elif path in ("/v2", "/v2/"):
                if not caller.authenticated:
                    raise Denied("unauthorized", self._challenge(caller, base, None))
                status = await _json(send, 200, {})
            elif path == "/v2/_catalog":
                if not caller.may_list_catalog():
                    raise Denied(
                        "unauthorized to list catalog", self._challenge(caller, base, "registry:catalog:*")
                    )
                status = await self._catalog(scope, send)
            else:
                route = _ROUTE.match(path)
                if route is None:
                    status = await _json(send, 404, _errors("NOT_FOUND", "not found"))
                else:
                    name, kind, rest = route.group("name"), route.group("kind"), route.group("rest")
                    obj = f"repository {name}"
                    action = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(method, "push")
                    self._authorize(caller, name, action, base)
                    status, obj = await self._serve(scope, receive, send, caller, (name, kind, rest))
        except Denied as denied:
            status = await _json(
                send,
                401,
                _errors("UNAUTHORIZED", denied.message),
                [(b"www-authenticate", denied.challenge.encode())],
            )
        self.log.record(identity=caller.name, method=method, path=path, object=obj, outcome=status)

    def _authorize(self, caller: Caller, name: str, action: str, base: str) -> None:
        scope = f"repository:{name}:{'pull,push' if action == 'push' else action}"
        if not caller.valid:
            raise Denied("unauthorized", self._challenge(caller, base, scope, "invalid_token"))
        if not caller.header and action == "pull":
            raise Denied(
                "authorize header needed to send HEAD to repository", self._challenge(caller, base, scope)
            )
        project = self.store.project_by_name(name.split("/", 1)[0]) if "/" in name else None
        if project is None:
            raise Denied(f"project {name.split('/', 1)[0]} not found", self._challenge(caller, base, scope))
        if not caller.may(name, action):
            message = f"unauthorized to access repository: {name}, action: {action}"
            raise Denied(message, self._challenge(caller, base, scope, "insufficient_scope"))

    def _challenge(self, caller: Caller, base: str, scope: str | None, error: str = "") -> str:
        """Basic for a basic-auth caller (as Harbor); Bearer to the token service otherwise."""
        if caller.header and caller.claims is None and caller.header[:7].lower() != "bearer ":
            return 'Basic realm="harbor"'
        challenge = f'Bearer realm="{base}/service/token",service="harbor-registry"'
        challenge += f',scope="{scope}"' if scope else ""
        return challenge + (f',error="{error}"' if error and caller.header else "")

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, caller: Caller, route: tuple[str, str, str]
    ) -> tuple[int, str]:
        method, (name, kind, rest) = scope["method"], route
        obj = f"repository {name}"
        project = self.store.project_by_name(name.split("/", 1)[0])
        assert project is not None  # checked by _authorize
        if kind == "tags":
            return await self._tags(scope, send, name), obj
        if kind == "blobs":
            query = scope.get("query_string", b"")
            if method == "POST" and b"mount=" in query:
                query = _without_unpullable_mount(query, caller)
            return await self._proxy(scope, receive, send, _raw_path(scope), query), f"{obj} blob {rest}"
        reference = rest
        obj = f"artifact {name}{'@' if ':' in reference else ':'}{reference}"
        if method in ("GET", "HEAD"):
            repo = self.store.repository(name)
            artifact = self.store.artifact(repo, reference) if repo is not None else None
            if artifact is None:
                return await _json(
                    send, 404, _errors("NOT_FOUND", f"artifact {name}:{reference} not found")
                ), obj
            target = f"/v2/{name}/manifests/{artifact.digest}".encode()
            status = await self._proxy(scope, receive, send, target, b"")
            if method == "GET" and status == 200:
                tag = None if ":" in reference else self.store.tag(artifact.repository_id, reference)
                self.store.mark_pulled(artifact, tag)
            return status, obj
        if method == "DELETE":
            if not _DIGEST.match(reference):
                return await _json(send, 405, _errors("UNSUPPORTED", f"unsupported digest {reference}")), obj
            status = await self._proxy(scope, receive, send, _raw_path(scope), b"")
            repo = self.store.repository(name)
            artifact = self.store.artifact(repo, reference) if repo is not None else None
            if status == 202 and artifact is not None:
                self.store.delete_artifact(artifact)
            return status, obj
        if method == "PUT":
            return await self._push_manifest(scope, receive, send, project, name, reference), obj
        return await self._proxy(scope, receive, send, _raw_path(scope), scope.get("query_string", b"")), obj

    async def _push_manifest(
        self, scope: Scope, receive: Receive, send: Send, project: Project, name: str, reference: str
    ) -> int:
        body = await read_body(receive)
        if len(body) > MAX_MANIFEST_BYTES:
            return await _json(send, 400, _errors("MANIFEST_INVALID", "manifest too large"))
        headers = _forward_headers(scope)
        response = await self.client.request(
            "PUT", _url(_raw_path(scope), scope.get("query_string", b"")), headers=headers, content=body
        )
        if response.status_code == 201:  # recorded (and scanned) before the client hears of it
            content_type = next((v.decode() for k, v in scope["headers"] if k.lower() == b"content-type"), "")
            digest = response.headers.get("docker-content-digest", "")
            fields = await self._describe(name, body, content_type, digest)
            artifact = self.store.record_push(project, name, reference, fields)
            auto = project.metadata.get("auto_scan") == "true" and self.scanner
            if auto and artifact.type == "IMAGE" and artifact.layers:
                await self.scan(artifact)
        await _relay(send, response.status_code, response.headers.raw, response.content)
        return response.status_code

    async def _describe(self, name: str, body: bytes, content_type: str, digest: str) -> dict[str, Any]:
        manifest = json.loads(body)
        media = str(manifest.get("mediaType") or content_type)
        if "manifests" in manifest:
            repo = self.store.repository(name)
            references, size = [], len(body)
            for child in manifest.get("manifests", []):
                known = self.store.artifact(repo, str(child.get("digest"))) if repo is not None else None
                size += known.size if known is not None else int(child.get("size", 0))
                references.append(
                    {
                        **({"child_id": known.id} if known is not None else {}),
                        "child_digest": child.get("digest"),
                        "platform": child.get("platform", {}),
                        "annotations": child.get("annotations", {}),
                        "urls": child.get("urls", []),
                    }
                )
            return _fields(digest, media, media, str(manifest.get("artifactType") or media), "IMAGE", size,
                           manifest, references=references)  # fmt: skip
        config = manifest.get("config") or {}
        config_media = str(config.get("mediaType", ""))
        layers = [layer for layer in manifest.get("layers", []) if isinstance(layer, dict)]
        size = len(body) + int(config.get("size", 0)) + sum(int(layer.get("size", 0)) for layer in layers)
        kind = (
            "IMAGE"
            if config_media in IMAGE_CONFIGS
            else "CHART"
            if config_media == HELM_CONFIG
            else "UNKNOWN"
        )
        extra: dict[str, Any] = {}
        if kind == "IMAGE" and int(config.get("size", 0)) < (1 << 20):
            response = await self.client.get(_url(f"/v2/{name}/blobs/{config.get('digest')}".encode(), b""))
            if response.status_code == 200:
                try:
                    image_config = json.loads(response.content)
                except ValueError:
                    image_config = {}
                if isinstance(image_config, dict) and isinstance(image_config.get("config"), dict):
                    extra = {"config": image_config["config"]}
        art_type = str(manifest.get("artifactType") or config_media)
        return _fields(
            digest, media, config_media, art_type, kind, size, manifest, layers=layers, extra=extra
        )

    async def _tags(self, scope: Scope, send: Send, name: str) -> int:
        repo = self.store.repository(name)
        if repo is None:
            return await _json(send, 404, _errors("NAME_UNKNOWN", f"repository {name} not found"))
        names = sorted({t.name for t in self.store.tags.values() if t.repository_id == repo.id})
        page, link = _page(scope, names, f"/v2/{name}/tags/list")
        return await _json(send, 200, {"name": name, "tags": page}, link)

    async def _catalog(self, scope: Scope, send: Send) -> int:
        names = sorted(r.name for r in self.store.repositories.values())
        page, link = _page(scope, names, "/v2/_catalog")
        return await _json(send, 200, {"repositories": page}, link)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, raw_path: bytes, query: bytes) -> int:
        has_body = any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])
        request = self.client.build_request(
            scope["method"],
            _url(raw_path, query),
            headers=_forward_headers(scope),
            content=_stream(receive) if has_body else None,
        )
        response = await self.client.send(request, stream=True)
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": _back_headers(response.headers.raw)})  # fmt: skip
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()
        return response.status_code

    # -- scanning, for the API and for auto-scan on push
    async def scan(self, artifact: Artifact) -> dict[str, Any]:
        def open_blob(digest: str) -> Iterator[bytes]:
            with (
                httpx.Client(transport=httpx.HTTPTransport(uds=self.backend.socket), timeout=300) as client,
                client.stream(
                    "GET", f"http://registry/v2/{artifact.repository_name}/blobs/{digest}"
                ) as response,
            ):
                if response.status_code != 200:
                    raise OSError(f"blob {digest}: HTTP {response.status_code}")
                yield from response.iter_bytes()

        try:
            report = await asyncio.to_thread(
                scanner.scan,
                digest=artifact.digest,
                media_type=artifact.manifest_media_type,
                repository=artifact.repository_name,
                layers=artifact.layers,
                open_blob=open_blob,
                database=self.vulnerabilities,
            )
        except (OSError, httpx.HTTPError) as exc:
            report = scanner.failed(str(exc))
        artifact.scan = report
        self.store.save()
        return report


def _fields(
    digest: str,
    manifest_media: str,
    media: str,
    artifact_type: str,
    kind: str,
    size: int,
    manifest: dict[str, Any],
    *,
    references: list[dict[str, Any]] | None = None,
    layers: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    annotations = manifest.get("annotations") if isinstance(manifest.get("annotations"), dict) else {}
    return {
        "digest": digest,
        "manifest_media_type": manifest_media,
        "media_type": media,
        "artifact_type": artifact_type,
        "type": kind,
        "size": size,
        "extra_attrs": extra or {},
        "annotations": {str(k): str(v) for k, v in (annotations or {}).items()},
        "references": references or [],
        "layers": [
            {
                "mediaType": str(x.get("mediaType", "")),
                "digest": str(x.get("digest", "")),
                "size": int(x.get("size", 0)),
            }
            for x in layers or []
        ],
    }


def _without_unpullable_mount(query: bytes, caller: Caller) -> bytes:
    """Drop a cross-repository mount from a repository the caller may not pull (a plain upload starts)."""
    params = parse_qs(query.decode("latin-1"))
    if caller.may((params.get("from") or [""])[0], "pull"):
        return query
    return urlencode({k: v[0] for k, v in params.items() if k not in ("mount", "from")}).encode()


def _raw_path(scope: Scope) -> bytes:
    return scope.get("raw_path") or quote(scope["path"]).encode()


def _page(scope: Scope, items: list[str], path: str) -> tuple[list[str], list[tuple[bytes, bytes]]]:
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    last = (params.get("last") or [""])[0]
    if last:
        items = [i for i in items if i > last]
    try:
        n = int((params.get("n") or ["0"])[0])
    except ValueError:
        n = 0
    if n <= 0 or n >= len(items):
        return items, []
    page = items[:n]
    link = f'<{path}?n={n}&last={quote(page[-1], safe="/")}>; rel="next"'
    return page, [(b"link", link.encode())]


def _url(raw_path: bytes, query: bytes) -> httpx.URL:
    return httpx.URL("http://registry").copy_with(raw_path=raw_path + (b"?" + query if query else b""))


def _forward_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]


def _back_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in raw if k.lower() not in HOP_BY_HOP and k.lower() not in (b"date", b"server")]


async def _stream(receive: Receive) -> AsyncIterator[bytes]:
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if message.get("body"):
            yield message["body"]
        more = message.get("more_body", False)


async def _relay(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    kept = [(k, v) for k, v in _back_headers(headers) if k.lower() != b"content-length"]
    kept.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": kept})
    await send({"type": "http.response.body", "body": body})


def _errors(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


async def _json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> int:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(payload)).encode()), API_VERSION, *(headers or [])]})  # fmt: skip
    await send({"type": "http.response.body", "body": payload})
    return status
