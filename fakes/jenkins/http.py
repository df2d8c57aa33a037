"""Jenkins' HTTP surface as an ASGI app: authentication, the crumb filter, permissions, the routes.

In Jenkins' order: HTTP Basic `user:apiToken` is checked first (a wrong token is 401 with
`WWW-Authenticate: Basic realm="Jenkins"` and Jetty's error page); then every POST needs a valid
crumb (`Jenkins-Crumb` header or form field, else 403 "No valid crumb was included in the request";
stricter than Jenkins >= 2.96, which exempts API-token requests: `crumb_for_tokens=False` is that);
then an anonymous caller gets 403 "Authentication required" (HudsonAuthenticationEntryPoint: Jenkins
answers missing credentials with 403, not 401); then a user without the permission a route needs
gets 403 "<user> is missing the Job/Build permission". Users listed as readers hold only
Overall/Read and Job/Read. With no tokens configured security is off: anyone may do anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import Receive, Scope, Send, read_body

VERSION = "2.492.3"
PERMISSIONS = {  # route permission -> (display name, Java id)
    "read": ("Overall/Read", "hudson.model.Hudson.Read"),
    "extended_read": ("Job/ExtendedRead", "hudson.model.Item.ExtendedRead"),
    "build": ("Job/Build", "hudson.model.Item.Build"),
    "cancel": ("Job/Cancel", "hudson.model.Item.Cancel"),
    "create": ("Job/Create", "hudson.model.Item.Create"),
    "configure": ("Job/Configure", "hudson.model.Item.Configure"),
    "delete": ("Job/Delete", "hudson.model.Item.Delete"),
}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html;charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(
        status,
        json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(),
        "application/json;charset=utf-8",
    )


def text_reply(text: str | bytes, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Reply:
    body = text.encode() if isinstance(text, str) else text
    return Reply(status, body, "text/plain;charset=utf-8", headers or [])


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, b"", headers=[("Location", location)])


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    root: str  # Jenkins' root URL, with a trailing slash
    identity: str = "anonymous"
    object: str = "jenkins"
    match: re.Match[str] | None = None

    @property
    def form(self) -> dict[str, list[str]]:
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {}

    def params(self) -> dict[str, list[str]]:
        """Query and form fields together, as a servlet's getParameterValues sees them."""
        merged = {k: list(v) for k, v in self.query.items()}
        for k, v in self.form.items():
            merged.setdefault(k, []).extend(v)
        return merged

    def arg(self, name: str) -> str | None:
        values = self.params().get(name)
        return values[0] if values else None


Handler = Callable[[Request], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Handler
    permission: str = "read"


def error_page(status: int, message: str, req: Request) -> Reply:
    """Jetty's error page (what `sendError` produces), as HTML unless the client asks for text."""
    accept = req.headers.get("accept", "*/*")
    if "text/plain" in accept and "html" not in accept and "*/*" not in accept:
        text = f"HTTP ERROR {status} {message}\nURI: {req.path}\nSTATUS: {status}\nMESSAGE: {message}\nSERVLET: Stapler\n"
        return text_reply(text, status)
    m, p = html.escape(message), html.escape(req.path)
    page = (
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
        f"<title>Error {status} {m}</title>\n</head>\n<body><h2>HTTP ERROR {status} {m}</h2>\n<table>\n"
        f"<tr><th>URI:</th><td>{p}</td></tr>\n<tr><th>STATUS:</th><td>{status}</td></tr>\n"
        f"<tr><th>MESSAGE:</th><td>{m}</td></tr>\n<tr><th>SERVLET:</th><td>Stapler</td></tr>\n"
        "</table>\n\n</body>\n</html>\n"
    )
    return Reply(status, page.encode())


def _denied_headers(identity: str, permission: str) -> list[tuple[str, str]]:
    return [
        ("X-You-Are-Authenticated-As", identity),
        ("X-You-Are-In-Group-Disabled", "JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose"),
        ("X-Required-Permission", PERMISSIONS[permission][1]),
        ("X-Permission-Implied-By", "hudson.model.Hudson.Administer"),
    ]  # fmt: skip


def authentication_required(req: Request) -> Reply:
    login = f"/login?from={html.escape(req.path)}"
    page = (
        f"<html><head><meta http-equiv='refresh' content='1;url={login}'/>"
        f"<script>window.location.replace('{login}');</script></head>"
        "<body style='background-color:white; color:white;'>\n\n\nAuthentication required\n<!--\n"
        "You are authenticated as: anonymous\nGroups that you are in:\n  \n"
        "Permission you need to have (but didn't): hudson.model.Hudson.Read\n"
        " ... which is implied by: hudson.security.Permission.GenericRead\n"
        " ... which is implied by: hudson.model.Hudson.Administer\n-->\n\n</body></html>"
    )
    return Reply(403, page.encode(), headers=_denied_headers("anonymous", "read"))


def access_denied(req: Request, permission: str) -> Reply:
    message = f"{req.identity} is missing the {PERMISSIONS[permission][0]} permission"
    page = error_page(403, message, req)
    page.headers += _denied_headers(req.identity, permission)
    return page


class JenkinsHttp:
    """Runs `routes` behind Jenkins' filters; records every request in the access log."""

    def __init__(
        self,
        routes: list[Route],
        *,
        tokens: dict[str, str],
        readers: set[str],
        log: AccessLog,
        public_url: str = "",
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        crumb_for_tokens: bool = True,
    ) -> None:
        self.routes, self.tokens, self.readers, self.log = routes, tokens, readers, log
        self.crumb_for_tokens = crumb_for_tokens
        self.public_url = public_url.rstrip("/") + "/" if public_url else ""
        self.on_shutdown = on_shutdown
        self._salt = secrets.token_hex(16)
        self.session = secrets.token_hex(4)

    @property
    def secured(self) -> bool:
        return bool(self.tokens)

    def crumb(self, identity: str) -> str:
        return hashlib.sha256(f"{self._salt}:{identity}".encode()).hexdigest()

    def allowed(self, identity: str, permission: str) -> bool:
        if not self.secured:
            return True
        if identity == "anonymous":
            return False
        return identity not in self.readers or permission == "read"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        req = self._request(scope, await read_body(receive))
        reply = await self._handle(req)
        headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body))),
                   ("X-Jenkins", VERSION), ("X-Jenkins-Session", self.session), ("X-Hudson", "1.395"),
                   *reply.headers]  # fmt: skip
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(k.lower().encode(), v.encode("latin-1", "replace")) for k, v in headers]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"" if req.method == "HEAD" else reply.body})
        self.log.record(identity=req.identity, method=req.method, path=req.path, object=req.object,
                        outcome=reply.status)  # fmt: skip

    def _request(self, scope: Scope, body: bytes) -> Request:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        root = self.public_url
        if not root:
            host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
            root = f"{scope.get('scheme', 'http')}://{host}/"
        query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
        return Request(scope.get("method", "GET"), scope.get("path", "/"), query, headers, body, root)

    async def _handle(self, req: Request) -> Reply:
        identity, failure = self._authenticate(req)
        if failure is not None:
            return failure
        req.identity = identity
        if req.method == "POST" and (self.crumb_for_tokens or identity == "anonymous"):
            field_name = "Jenkins-Crumb"
            crumb = req.headers.get(field_name.lower()) or req.arg(field_name)
            if crumb != self.crumb(identity):
                req.object = "crumb"
                return error_page(403, "No valid crumb was included in the request", req)
        if not self.allowed(identity, "read"):
            return authentication_required(req)
        method = "GET" if req.method == "HEAD" else req.method
        allowed_methods: set[str] = set()
        for route in self.routes:
            match = route.pattern.fullmatch(req.path)
            if match is None:
                continue
            if method not in route.methods:
                allowed_methods.update(route.methods)
                continue
            req.match = match
            groups = match.groupdict()
            if groups.get("job"):
                run = groups.get("run")
                req.object = f"job {groups['job']}" + (f" #{run}" if run and run.isdigit() else "")
            if not self.allowed(identity, route.permission):
                return access_denied(req, route.permission)
            return await route.handler(req)
        if allowed_methods:
            message = "This URL requires POST" if allowed_methods == {"POST"} else "Method Not Allowed"
            return error_page(405, message, req)
        return error_page(404, "Not Found", req)

    def _authenticate(self, req: Request) -> tuple[str, Reply | None]:
        header = req.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return "anonymous", None
        try:
            user, _, token = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "anonymous", error_page(400, "Invalid Authorization header", req)
        if not self.secured or self.tokens.get(token) == user:
            return user, None
        req.object = f"login {user}"
        reply = error_page(401, f"Invalid password/token for user: {user}", req)
        reply.headers.append(("WWW-Authenticate", 'Basic realm="Jenkins"'))
        return "anonymous", reply

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.on_shutdown is not None:
                    await self.on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
