"""One ASGI callable for the API and the console, served by a real uvicorn on a free port: paths go
to the right app, NiceGUI's assets are served, and the lifespan starts and stops both."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from nicegui import server as nicegui_server
from nicegui.testing.general import nicegui_reset_globals

from appliance.bootstrap import Appliance
from appliance.entrypoints.api.app import create_app
from ui import asgi

pytestmark = pytest.mark.xdist_group("ui")


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/api/health", True),
        ("/api/incidents/inc-1", True),
        ("/webhooks/alertmanager", True),
        ("/schema", True),
        ("/schema/openapi.json", True),
        ("/", False),
        ("/login", False),
        ("/apiary", False),
        ("/schemas", False),
        ("/_nicegui/3.18.0/static/quasar.css", False),
    ],
)
def test_paths_are_sent_to_the_api_or_the_console(path: str, api: bool) -> None:
    assert asgi.is_api(path) is api


def test_the_session_key_is_derived_from_the_data_directorys_secret(appliance: Appliance) -> None:
    key = asgi.storage_secret(appliance)
    assert len(key) == 64 and appliance.settings.callback_key not in key
    assert key == asgi.storage_secret(appliance)  # stable across restarts: sessions survive them


@contextlib.asynccontextmanager
async def serve(appliance: Appliance) -> AsyncIterator[str]:
    """The composed app under uvicorn on 127.0.0.1:<free port>, workers running."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    with nicegui_reset_globals():
        app = asgi.build(appliance, create_app(appliance))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        asgi.adopt(server)
        assert nicegui_server.Server.instance is server
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            assert not serving.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, timeout=20)
            sock.close()


async def test_one_server_answers_for_the_api_and_the_console(
    appliance: Appliance, tokens: dict[str, str]
) -> None:
    async with serve(appliance) as served, httpx.AsyncClient(base_url=served, timeout=10) as http:
        health = await http.get("/api/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        owner = {"Authorization": f"Bearer {tokens['admin']}"}
        missing = await http.get("/api/incidents/inc-404", headers=owner)  # a path parameter reaches Litestar
        assert missing.status_code == 404 and missing.json()["detail"] == "no incident 'inc-404'"
        stranger = await http.get("/api/incidents/inc-404", headers={"Authorization": "Bearer nope"})
        assert stranger.status_code == 401 and "unknown API token" in stranger.json()["detail"]
        hook = await http.post("/webhooks/alertmanager", json={})
        assert hook.status_code == 400 and hook.json()["status_code"] == 400  # Litestar's error body
        schema = await http.get("/schema/openapi.json")
        assert schema.status_code == 200 and schema.json()["info"]["title"] == "PathOps appliance"
        assert (await http.get("/schema")).status_code == 200
        page = await http.get("/login")
        assert page.status_code == 200 and "login-submit" in page.text
        [asset] = re.findall(r'"(/_nicegui/[^"]+/static/[^"]+\.js)"', page.text)[:1]
        static = await http.get(asset)
        assert static.status_code == 200 and len(static.content) > 1000
        console = await http.get("/", follow_redirects=False)
        assert console.status_code in (302, 307) and console.headers["location"] == "/login"
        assert not appliance._stop.is_set()  # the lifespan started the appliance's workers
        assert [t.get_name() for t in appliance._tasks] == ["pathops-dispatcher"]


async def test_stopping_the_server_stops_the_appliance(appliance: Appliance) -> None:
    async with serve(appliance) as served:
        async with httpx.AsyncClient(base_url=served, timeout=10) as http:
            assert (await http.get("/api/health")).status_code == 200
        tasks = list(appliance._tasks)
        assert tasks and not any(t.done() for t in tasks)
    assert appliance._stop.is_set() and all(t.done() for t in tasks)  # Litestar's lifespan ran to its end
