"""One ASGI callable for the API and the console.

A small dispatcher sends `/api/...`, `/webhooks/...` and `/schema[/...]` to the Litestar app and
everything else (pages, NiceGUI's assets and websocket) to a bare FastAPI shell on which
`ui.run_with` set NiceGUI up. The lifespan goes to the shell, whose own lifespan enters Litestar's:
neither app is mounted inside the other (that broke path parameters, static assets or lifespan).

The server that runs this callable sets `nicegui.server.Server.instance` to itself (see `serve`);
NiceGUI finds it through the dispatcher's `app` attribute too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from litestar import Litestar
from nicegui import ui
from nicegui.storage import Storage

from appliance.bootstrap import Appliance
from ui import live, pages, session

API_PREFIXES = ("/api/", "/webhooks/", "/schema/")
API_PATHS = ("/api", "/webhooks", "/schema")


def is_api(path: str) -> bool:
    return path in API_PATHS or path.startswith(API_PREFIXES)


class Dispatcher:
    """Routes each ASGI connection by path; `app` is the console shell (NiceGUI looks for it there)."""

    def __init__(self, api: Litestar, shell: FastAPI) -> None:
        self.api = api
        self.app = shell

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and is_api(scope["path"]):
            await self.api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def storage_secret(appliance: Appliance) -> str:
    """The console's session-cookie key, derived from the data directory's callback key."""
    key = appliance.settings.callback_key.encode()
    if not key:
        raise ValueError("settings.callback_key is empty: load settings through entrypoints.settings")
    return hmac.new(key, b"pathops console session", hashlib.sha256).hexdigest()


def build(appliance: Appliance, api: Litestar) -> Dispatcher:
    """The one ASGI callable: the console on a FastAPI shell, the API beside it (call once per process)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with api.lifespan():
            yield

    shell = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    Storage.path = (appliance.settings.data_dir / "console").resolve()
    session.install(appliance)
    live.connect(appliance.ctx.engine)
    pages.register()
    ui.run_with(
        shell,
        title="PathOps",
        storage_secret=storage_secret(appliance),
        show_welcome_message=False,
        favicon="🛤",
    )
    return Dispatcher(api, shell)


def adopt(server: Any) -> None:
    """Tell NiceGUI which uvicorn server runs the console (without it, shutdown hangs)."""
    from nicegui import server as nicegui_server

    nicegui_server.Server.instance = server
