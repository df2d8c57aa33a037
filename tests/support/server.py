"""Run the real appliance (API and workers) on a loopback port in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from appliance.bootstrap import build
from appliance.contracts.settings import Settings
from appliance.entrypoints.api.app import create_app
from appliance.ports.ci import Ci
from appliance.services import access, projects

SEED = Path(__file__).parents[2] / "appliance" / "seed" / "shop.yaml"


@dataclass
class LiveServer:
    settings: Settings
    ci: Ci | None = None  # None: the CI the settings name (Jenkins)
    bind_port: int = 0  # 0: any free port
    token: str = ""
    url: str = ""
    _ready: threading.Event = field(default_factory=threading.Event)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> LiveServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", self.bind_port))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main(sock)), daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30) or self._error:
            raise RuntimeError(f"appliance did not start: {self._error}")
        return self

    async def _main(self, sock: socket.socket) -> None:
        try:
            appliance = await build(self.settings, ci=self.ci)
            self.token = await access.ensure_owner(appliance.ctx, name="admin") or ""
            await projects.load(appliance.ctx, projects.parse_meta(SEED.read_text()), actor="test")
            self._server = uvicorn.Server(uvicorn.Config(create_app(appliance), log_level="warning"))
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise
        serving = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            await asyncio.sleep(0.01)
        self._ready.set()
        await serving

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
