"""Prometheus' HTTP API, the part that shows alerting: alerts, rules and the probes.

    GET /api/v1/alerts      {"status": "success", "data": {"alerts": [{labels, annotations, state,
                            activeAt, value}]}}  (pending and firing alerts)
    GET /api/v1/rules       {"status": "success", "data": {"groups": [...]}}; `?type=alert|record`
    GET /-/healthy          GET /-/ready

Prometheus has no authentication: every caller is "anonymous" in the access log. The lifespan
starts and stops the evaluation loop.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import Receive, Scope, Send, lifespan, send_json
from fakes.monitor.monitor import Monitor

PROBES = {"/-/healthy": b"Prometheus Server is Healthy.\n", "/-/ready": b"Prometheus Server is Ready.\n"}


class MonitorApi:
    def __init__(self, monitor: Monitor, *, log: AccessLog) -> None:
        self.monitor, self.log = monitor, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, start=self.monitor.start, stop=self.monitor.stop)
            return
        if scope["type"] != "http":
            return
        method, path = scope.get("method", "GET"), scope.get("path", "/")
        query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
        status, what = await self._route(send, method, path, query)
        self.log.record(identity="anonymous", method=method, path=path, object=what, outcome=status)

    async def _route(
        self, send: Send, method: str, path: str, query: dict[str, list[str]]
    ) -> tuple[int, str]:
        if path in PROBES:
            if method not in ("GET", "HEAD"):
                return await _text(send, 405, b"Method Not Allowed\n"), "probe"
            return await _text(send, 200, b"" if method == "HEAD" else PROBES[path]), "probe"
        if path not in ("/api/v1/alerts", "/api/v1/rules"):
            return await _text(send, 404, b"404 page not found\n"), "not found"
        if method not in ("GET", "POST"):
            await send_json(send, 405, _error("bad_data", f"method {method} not allowed"))
            return 405, path
        if path == "/api/v1/alerts":
            alerts = [a.api() for a in self.monitor.alerts.listed()]
            await send_json(send, 200, {"status": "success", "data": {"alerts": alerts}})
            return 200, "alerts"
        kind = (query.get("type") or [""])[-1].lower()
        if kind not in ("", "alert", "record"):
            await send_json(send, 400, _error("bad_data", f'unsupported rule type "{kind}"'))
            return 400, "rules"
        groups = [] if kind == "record" else self.monitor.rule_groups()  # every rule here alerts
        await send_json(send, 200, {"status": "success", "data": {"groups": groups}})
        return 200, "rules"


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"status": "error", "errorType": kind, "error": message}


async def _text(send: Send, status: int, body: bytes) -> int:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return status
