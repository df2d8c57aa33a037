"""Alertmanager's HTTP API v2 (openapi.yaml) as far as the appliance's world needs it, and the probes.

    GET  /api/v2/status          GET /api/v2/receivers
    GET  /api/v2/alerts          POST /api/v2/alerts          GET /api/v2/alerts/groups
    GET  /-/healthy              GET /-/ready

Alertmanager has no authentication; every caller is "anonymous" in the access log. Invalid input
is 400 with a JSON string body, as the spec declares (Alertmanager itself answers some schema
violations with go-swagger's 422). Silences and inhibitions are not modelled: no alert is muted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fakes.alertmanager.dispatch import Dispatcher
from fakes.alertmanager.model import Alert, AlertError, api_time, parse_matcher, postable
from fakes.common.accesslog import AccessLog
from fakes.common.asgi import Receive, Scope, Send, read_body

VERSION_INFO = {
    "branch": "HEAD",
    "buildDate": "20230409-09:50:43",
    "buildUser": "pathops-fake",
    "goVersion": "go1.19.8",
    "revision": "fake",
    "version": "0.25.0",
}
BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
        "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}  # fmt: skip
ROUTES = {"/api/v2/status": ("GET",), "/api/v2/receivers": ("GET",), "/api/v2/alerts": ("GET", "POST"),
          "/api/v2/alerts/groups": ("GET",), "/-/healthy": ("GET", "HEAD"), "/-/ready": ("GET", "HEAD")}  # fmt: skip


class BadRequest(Exception):
    pass


class AlertmanagerApp:
    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        log: AccessLog,
        config_yaml: str,
        resolve_timeout: float,
        started: datetime,
        on_first_host: Callable[[str], None],
    ) -> None:
        self.dispatcher, self.log, self.config_yaml = dispatcher, log, config_yaml
        self.resolve_timeout, self.started, self.on_first_host = resolve_timeout, started, on_first_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope.get("method", "GET"), scope.get("path", "/")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if headers.get("host"):
            self.on_first_host(f"{scope.get('scheme', 'http')}://{headers['host']}")
        query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
        body = await read_body(receive)
        status, content, ctype, extra, what = self._route(method, path, query, body)
        payload = (
            content
            if isinstance(content, bytes)
            else json.dumps(content, separators=(",", ":")).encode() + b"\n"
        )  # Go's Encoder
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(payload)).encode()),
                                *extra]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else payload})
        self.log.record(identity="anonymous", method=method, path=path, object=what, outcome=status)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any, str, list[tuple[bytes, bytes]], str]:
        json_type = "application/json"
        path = path.rstrip("/") if path != "/" else path
        methods = ROUTES.get(path)
        if methods is None:
            return 404, b"404 page not found\n", "text/plain; charset=utf-8", [], "not found"
        if method not in methods:
            allowed = ",".join(m for m in methods if m != "HEAD")
            message = {"code": 405, "message": f"method {method} is not allowed, but [{allowed}] are"}
            return 405, message, json_type, [(b"allow", allowed.encode())], path
        if path.startswith("/-/"):
            return 200, b"OK", "text/plain; charset=utf-8", [], "health"
        try:
            if path == "/api/v2/status":
                return 200, self._status(), json_type, [], "status"
            if path == "/api/v2/receivers":
                return 200, [{"name": self.dispatcher.route.receiver}], json_type, [], "receivers"
            if path == "/api/v2/alerts" and method == "POST":
                count = self._post_alerts(body)
                return 200, b"", json_type, [], f"alerts ({count} posted)"
            if path == "/api/v2/alerts":
                return 200, self._alerts(query), json_type, [], "alerts"
            return 200, self._groups(query), json_type, [], "alert groups"
        except BadRequest as exc:
            return 400, str(exc), json_type, [], path

    # --- handlers --------------------------------------------------------------------------------
    def _status(self) -> dict[str, Any]:
        return {
            "cluster": {"peers": [], "status": "disabled"},
            "config": {"original": self.config_yaml},
            "uptime": api_time(self.started),
            "versionInfo": VERSION_INFO,
        }

    def _post_alerts(self, body: bytes) -> int:
        try:
            items = json.loads(body or b"null")
        except ValueError as exc:
            raise BadRequest(f"parsing alerts body failed: {exc}") from None
        if not isinstance(items, list):
            raise BadRequest("alerts in body must be of type array")
        now = self.dispatcher.clock()
        valid, errors = [], []
        for item in items:  # a best effort, as Alertmanager: keep the valid ones, report the rest
            try:
                valid.append(postable(item, now=now, resolve_timeout=self.resolve_timeout))
            except AlertError as exc:
                errors.append(str(exc))
        self.dispatcher.put(valid)
        if errors:
            raise BadRequest("; ".join(errors))
        return len(valid)

    def _filter(self, query: dict[str, list[str]], flags: tuple[str, ...]) -> Callable[[Alert], bool]:
        values = {}
        for flag in flags:
            raw = query.get(flag, ["true"])[-1]
            if raw not in BOOL:
                raise BadRequest(f"{flag} in query must be of type boolean: {raw!r}")
            values[flag] = BOOL[raw]
        try:
            matchers = [parse_matcher(f) for f in query.get("filter", [])]
        except AlertError as exc:
            raise BadRequest(str(exc)) from None
        receiver_ok = True
        if query.get("receiver"):
            try:
                receiver_ok = bool(
                    re.fullmatch(f"(?:{query['receiver'][-1]})", self.dispatcher.route.receiver)
                )
            except re.error as exc:
                raise BadRequest(f"failed to parse receiver param: {exc}") from None
        now = self.dispatcher.clock()

        def keep(alert: Alert) -> bool:
            return (receiver_ok and values["active"] and all(m.matches(alert.labels) for m in matchers)
                    and not alert.resolved_at(now))  # fmt: skip

        return keep

    def _gettable(self, alert: Alert) -> dict[str, Any]:
        out = {
            "annotations": dict(sorted(alert.annotations.items())),
            "endsAt": api_time(alert.ends_at),
            "fingerprint": alert.fingerprint,
            "receivers": [{"name": self.dispatcher.route.receiver}],
            "startsAt": api_time(alert.starts_at),
            "status": {"inhibitedBy": [], "mutedBy": [], "silencedBy": [], "state": "active"},
            "updatedAt": api_time(alert.updated_at),
            "labels": dict(sorted(alert.labels.items())),
        }
        if alert.generator_url:
            out["generatorURL"] = alert.generator_url
        return out

    def _alerts(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        keep = self._filter(query, ("active", "silenced", "inhibited", "unprocessed"))
        alerts = [a for a in self.dispatcher.alerts.values() if keep(a)]
        return [self._gettable(a) for a in sorted(alerts, key=lambda a: a.fingerprint)]

    def _groups(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        keep = self._filter(query, ("active", "silenced", "inhibited", "muted"))
        return [
            {
                "alerts": [self._gettable(a) for a in alerts],
                "labels": dict(sorted(group.labels.items())),
                "receiver": {"name": self.dispatcher.route.receiver},
                "routeLabels": {},
            }
            for group, alerts in self.dispatcher.groups_with(keep)
        ]

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.dispatcher.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
