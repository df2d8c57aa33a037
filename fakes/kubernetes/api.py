"""The apiserver as an ASGI app: authentication, RBAC, routing to the verbs, watch and log streams,
the access log, and the lifespan that starts and stops the simulated node."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import parse_qsl

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import Receive, Scope, Send, read_body, send_json
from fakes.kubernetes import errors, handlers, podlog, routes, watch
from fakes.kubernetes.auth import Authorizer
from fakes.kubernetes.logs import LogStore
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.resources import PODS, SERVER_VERSION
from fakes.kubernetes.selectors import parse_fields, parse_labels

PUBLIC = ("/version", "/healthz", "/livez", "/readyz")


class Runtime(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class KubeApi:
    def __init__(
        self,
        *,
        registry: Registry,
        authorizer: Authorizer,
        access: AccessLog,
        logs: LogStore,
        runtime: Runtime,
    ) -> None:
        self.registry, self.authorizer, self.access, self.logs = registry, authorizer, access, logs
        self.runtime = runtime
        self._started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if not self._started:  # served without a lifespan: start the node on first use
                self._started = True
                await self.runtime.start()
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._started = True
                await self.runtime.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.runtime.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"].rstrip("/") or "/"
        query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        identity = self.authorizer.authenticate(headers.get("authorization"))
        if path in PUBLIC:
            body: Any = SERVER_VERSION if path == "/version" else "ok"
            self.access.record(
                identity=identity or "anonymous", method=method, path=scope["path"], object="", outcome=200
            )
            await send_json(send, 200, body)
            return
        if identity is None:
            await self._fail(send, errors.unauthorized(), "anonymous", method, scope["path"], "")
            return
        host = headers.get("host", "127.0.0.1")
        doc = routes.discovery(path, host)
        if doc is not None and method == "GET":
            self.access.record(
                identity=identity, method=method, path=scope["path"], object="discovery", outcome=200
            )
            await send_json(send, 200, doc)
            return
        what = ""
        try:
            target = routes.parse(method, path, handlers.flag(query, "watch"))
            what = target.describe()
            if not self.authorizer.allowed(
                identity, target.verb, target.rbac_resource, target.rbac_namespace
            ):
                raise errors.forbidden(identity, target.verb, target.res, target.rbac_resource, target.namespace,
                                       target.name)  # fmt: skip
            await self._serve(target, identity, method, scope["path"], query, headers, receive, send)
        except errors.ApiError as exc:
            await self._fail(send, exc, identity, method, scope["path"], what)

    async def _serve(
        self, t: routes.Target, identity: str, method: str, path: str, query: dict[str, str],
        headers: dict[str, str], receive: Receive, send: Send,
    ) -> None:  # fmt: skip
        if t.verb == "watch":
            labels = parse_labels(query.get("labelSelector"))
            fields = parse_fields(query.get("fieldSelector"), t.res.key)
            timeout = handlers.number(query, "timeoutSeconds")
            self.access.record(identity=identity, method=method, path=path, object=t.describe(), outcome=200)
            await watch.serve(self.registry.store, t.res, t.namespace, labels, fields,
                              query.get("resourceVersion", ""), timeout, send, receive)  # fmt: skip
            return
        if t.sub == "log":
            pod = self.registry.get(PODS, t.namespace, t.name)
            self.access.record(identity=identity, method=method, path=path, object=t.describe(), outcome=200)
            await podlog.serve(pod, self.logs, query, send, receive)
            return
        raw = await read_body(receive) if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        code = 200
        if t.verb == "list":
            result = handlers.list_objects(self.registry, t, query)
        elif t.verb == "get":
            result = handlers.get(self.registry, t)
        elif t.verb == "create":
            result, code = handlers.create(self.registry, t, raw, query), 201
            t = routes.Target(t.res, t.namespace, result["metadata"]["name"], t.sub, t.verb)
        elif t.verb == "update":
            result = handlers.update(self.registry, t, raw)
        elif t.verb == "patch":
            result = handlers.patch(self.registry, t, raw, headers.get("content-type", ""), query)
        elif t.verb == "delete":
            result = handlers.delete(self.registry, t, raw, query)
        else:
            result = handlers.delete_collection(self.registry, t, raw, query)
        self.access.record(identity=identity, method=method, path=path, object=t.describe(), outcome=code)
        await send_json(send, code, result)

    async def _fail(
        self, send: Send, exc: errors.ApiError, identity: str, method: str, path: str, what: str
    ) -> None:
        self.access.record(identity=identity, method=method, path=path, object=what, outcome=exc.code)
        await send_json(send, exc.code, exc.status())
