"""One host, like Harbor: `/api/v2.0/...` (the API), `/v2/...` (the registry), `/service/token`."""

from __future__ import annotations

import asyncio

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import Receive, Scope, Send, lifespan, read_body, send_json
from fakes.harbor.api import Api
from fakes.harbor.backend import RegistryProcess
from fakes.harbor.http import HarborError, Response, errors, parse_request
from fakes.harbor.registry import Registry


class HarborApp:
    def __init__(
        self, api: Api, registry: Registry, backend: RegistryProcess, log: AccessLog, public_url: str
    ) -> None:
        self.api, self.registry, self.backend, self.log = api, registry, backend, log
        self.public_url = public_url.rstrip("/")
        self._started = False
        self._starting = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await lifespan(receive, send, start=self.start, stop=self.stop)

    async def start(self) -> None:
        async with self._starting:
            if not self._started:
                await asyncio.to_thread(self.backend.start)
                self._started = True

    async def stop(self) -> None:
        await self.registry.close()
        await asyncio.to_thread(self.backend.stop)
        self._started = False

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        base = self.public_url or f"{scope.get('scheme', 'http')}://{headers.get('host', 'localhost')}"
        if path == "/api/v2.0" or path.startswith("/api/v2.0/"):
            await self._api(scope, receive, send, base)
        elif path == "/service/token":
            await self.registry.token(scope, send, headers)
        elif path == "/v2" or path.startswith("/v2/"):
            await self.start()
            await self.registry.handle(scope, receive, send, headers, base)
        else:
            await send_json(send, 404, errors("NOT_FOUND", f"{path} is not served by this Harbor"))

    async def _api(self, scope: Scope, receive: Receive, send: Send, base: str) -> None:
        request = parse_request(
            scope["method"],
            scope.get("raw_path") or scope["path"].encode(),
            scope.get("query_string", b""),
            scope["headers"],
            await read_body(receive),
            base,
        )
        try:
            response = await self.api.handle(request)
        except HarborError as exc:
            response = Response(exc.status, errors(exc.code, exc.message))
        await response.send(send, request_id=request.request_id, head=scope["method"] == "HEAD")
        who = request.principal.name if request.principal is not None else "anonymous"
        self.log.record(
            identity=who,
            method=scope["method"],
            path=scope["path"],
            object=request.object,
            outcome=response.status,
        )
