"""The admin API every fake shares: faults and the access log, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import FakeApp, send_json
from fakes.common.faults import Faults
from fakes.common.server import ThreadedServer
from fakes.common.webhooks import WebhookSender


def _echo(log: AccessLog) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        log.record(identity="anonymous", method=scope["method"], path=scope["path"], outcome=200)
        await send_json(send, 200, {"path": scope["path"]})

    return app


def test_error_latency_and_count_limited_faults() -> None:
    log, faults = AccessLog(), Faults()
    with ThreadedServer(FakeApp("echo", _echo(log), faults=faults, log=log)) as url:
        added = httpx.post(
            f"{url}/_fake/faults", json={"kind": "error", "path": "/api/*", "status": 502, "count": 2}
        )
        assert added.status_code == 201
        codes = [httpx.get(f"{url}/api/x").status_code for _ in range(3)]
        assert codes == [502, 502, 200]
        assert httpx.get(f"{url}/other").status_code == 200
        listed = httpx.get(f"{url}/_fake/faults").json()
        assert listed[0]["hits"] == 2
        bad = httpx.post(f"{url}/_fake/faults", json={"kind": "explode"})
        assert bad.status_code == 422 and "kind must be one of" in bad.json()["message"]
        httpx.post(f"{url}/_fake/faults", json={"kind": "timeout", "path": "/slow", "delay_s": 1, "count": 1})
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{url}/slow", timeout=0.3)
        assert httpx.delete(f"{url}/_fake/faults").json() == []
        accesses = httpx.get(f"{url}/_fake/access-log").json()
        assert [a["path"] for a in accesses] == ["/api/x", "/other"]


async def test_outgoing_webhook_faults_drop_duplicate_reorder() -> None:
    got: list[Any] = []

    async def sink(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        got.append(body.decode())
        await send_json(send, 200, {})

    faults = Faults()
    sender = WebhookSender(faults)
    with ThreadedServer(sink) as url:
        faults.add({"kind": "drop", "count": 1})
        await sender.send(f"{url}/hook", body=1, headers={})
        faults.add({"kind": "duplicate", "count": 1})
        await sender.send(f"{url}/hook", body=2, headers={})
        faults.add({"kind": "reorder", "count": 1})
        await sender.send(f"{url}/hook", body=3, headers={})
        await sender.send(f"{url}/hook", body=4, headers={})
    assert got == ["2", "2", "4", "3"]
