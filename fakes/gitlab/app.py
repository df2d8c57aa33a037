"""The ASGI app of the GitLab fake: REST v4 under `/api/v4`, git smart HTTP under `/<path>.git/`.

Every request is written to the access log with the caller's username, the object it touched
("project shop/shop-api", "merge_request shop/shop-api!1", "repo shop/shop-api push refs/heads/main")
and the status. REST requests are authenticated, checked against the token's scopes (see auth.py),
routed on the raw path, and answered with GitLab's bodies; state is saved after every write.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import Receive, Scope, Send, read_body, send_json
from fakes.gitlab import auth, smarthttp
from fakes.gitlab.git import GitError
from fakes.gitlab.http import (
    UNAUTHORIZED,
    ApiError,
    Request,
    Response,
    Router,
    forbidden,
    parse_params,
    split_path,
)
from fakes.gitlab.instance import Instance

log = logging.getLogger(__name__)
READS = ("GET", "HEAD")


class GitLabApp:
    def __init__(self, inst: Instance, access: AccessLog, router: Router) -> None:
        self.inst, self.access, self.router = inst, access, router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        self.inst.base_url = (
            self.inst.config.public_url.rstrip("/") or f"{scope.get('scheme', 'http')}://{host}"
        )
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        if raw == "/api/v4" or raw.startswith("/api/v4/"):
            await self._api(scope, receive, send, raw.removeprefix("/api/v4"), headers)
        elif (found := smarthttp.match(scope["path"])) is not None:
            await smarthttp.serve(self.inst, self.access, scope, receive, send, *found)
        else:
            await send_json(send, 404, {"message": "404 Not Found"})
            self.access.record(identity="anonymous", method=scope["method"], path=scope["path"], outcome=404)

    async def _api(
        self, scope: Scope, receive: Receive, send: Send, rest: str, headers: dict[str, str]
    ) -> None:
        method = scope["method"]
        body = await read_body(receive)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        req = Request(method, rest, split_path(rest), query, headers, {}, self.inst.base_url)
        try:
            response = self._handle(req, body)
        except ApiError as exc:
            response = Response(exc.status, exc.body)
        except GitError as exc:
            log.warning("git refused %s %s: %s", method, scope["path"], exc)
            response = Response(400, {"message": str(exc)})
        payload = response.encoded()
        out = [(b"content-length", str(len(payload)).encode())]
        out += [] if response.status == 204 else [(b"content-type", response.content_type.encode())]
        out += [(k.lower().encode(), v.encode("latin-1", "replace")) for k, v in response.headers]
        await send({"type": "http.response.start", "status": response.status, "headers": out})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else payload})
        self.access.record(
            identity=req.username,
            method=method,
            path=scope["path"],
            object=req.object,
            outcome=response.status,
        )

    def _handle(self, req: Request, body: bytes) -> Response:
        user = self.inst.user_for_token(auth.api_token(req.headers, req.query))
        if user is None:
            raise ApiError(401, UNAUTHORIZED)
        req.username, req.user_id = user.username, user.id
        scopes = self.inst.scopes(user)
        if not auth.may_read_api(scopes) or (req.method not in READS and not auth.may_write_api(scopes)):
            raise forbidden()
        req.params = parse_params(req.query, body, req.headers.get("content-type", ""))
        handler, params = self.router.match(req.method, req.segments)
        response = handler(self.inst, req, **params)
        if req.method not in READS:
            self.inst.store.save()
        return response

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.inst.deliveries.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
