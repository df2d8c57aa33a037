"""Wrap a fake's ASGI app with its admin API (`/_fake/...`), fault injection and the access log.

    /_fake/health        GET: {"status": "ok", "name": ...}
    /_fake/faults        GET: list; POST: add one (JSON, see faults.py); DELETE: clear all
    /_fake/access-log    GET: every access so far (JSON list)

The fake itself records accesses (it knows identities and objects); the wrapper only injects faults.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fakes.common.accesslog import AccessLog
from fakes.common.faults import INCOMING, FaultError, Faults

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def read_body(receive: Receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


class FakeApp:
    def __init__(self, name: str, app: ASGIApp, *, faults: Faults, log: AccessLog) -> None:
        self.name, self.app, self.faults, self.log = name, app, faults, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/_fake/"):
            await self._admin(scope, receive, send, path)
            return
        if scope["type"] == "http":
            fault = self.faults.take(scope.get("method", "GET"), path, INCOMING)
            if fault is not None:
                if fault.kind == "latency":
                    await asyncio.sleep(fault.delay_s)
                elif fault.kind == "error":
                    await send_json(
                        send, fault.status, {"message": f"injected fault {fault.id}", "fault": fault.id}
                    )
                    return
                elif fault.kind == "timeout":
                    await asyncio.sleep(fault.delay_s)  # longer than the client waits, as a hung server
                    await send_json(send, 504, {"message": f"injected timeout {fault.id}", "fault": fault.id})
                    return
        await self.app(scope, receive, send)

    async def _admin(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        method = scope.get("method", "GET")
        if path == "/_fake/health":
            await send_json(send, 200, {"status": "ok", "name": self.name})
        elif path == "/_fake/access-log" and method == "GET":
            await send_json(send, 200, self.log.as_json())
        elif path == "/_fake/faults" and method == "GET":
            await send_json(send, 200, self.faults.list())
        elif path == "/_fake/faults" and method == "DELETE":
            self.faults.clear()
            await send_json(send, 200, [])
        elif path == "/_fake/faults" and method == "POST":
            try:
                fault = self.faults.add(json.loads(await read_body(receive) or b"null"))
            except (FaultError, json.JSONDecodeError) as exc:
                await send_json(send, 422, {"message": str(exc)})
                return
            await send_json(send, 201, {"id": fault.id, "kind": fault.kind, "path": fault.path})
        else:
            await send_json(send, 404, {"message": f"no admin route {method} {path}"})


async def lifespan(
    receive: Receive, send: Send, *, start: Callable[[], Awaitable[Any]], stop: Callable[[], Awaitable[Any]]
) -> None:
    """Serve the ASGI lifespan protocol: `start()` on startup (an OSError or RuntimeError fails it,
    with its message), `stop()` on shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await start()
            except (OSError, RuntimeError) as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
