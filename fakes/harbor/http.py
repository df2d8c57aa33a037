"""Requests, responses, errors and routing of the Harbor API, in Harbor's own shapes.

Path parameters are matched on the raw path, one segment each, percent-decoded once (as Harbor's
router does); a repository name is decoded a second time by its handler, since Harbor asks clients
to encode `a/b` twice (`a%252Fb`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from fakes.common.asgi import Send

ERROR_CODES = {
    400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 412: "PRECONDITION", 422: "UNPROCESSABLE_ENTITY",
}  # fmt: skip
NEVER = "0001-01-01T00:00:00.000Z"  # Harbor's zero time (e.g. an artifact never pulled)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class HarborError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or ERROR_CODES.get(status, "UNKNOWN")


def errors(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able; None: an empty body
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"
    text: str | None = None  # a non-JSON body (text/plain)

    async def send(self, send: Send, *, request_id: bytes, head: bool = False) -> None:
        if self.text is not None:
            payload = self.text.encode()
        elif self.body is not None:
            payload = json.dumps(self.body).encode()
        else:
            payload = b""
        headers = [
            (b"content-type", self.content_type.encode()),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", request_id),
            *((k.lower().encode(), v.encode()) for k, v in self.headers),
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else payload})


@dataclass
class Request:
    method: str
    segments: list[str]  # after /api/v2.0, each decoded once
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    base_url: str
    principal: Any = None  # an access.Principal, set by the app
    params: dict[str, str] = field(default_factory=dict)
    object: str = ""  # what was touched, for the access log

    @property
    def request_id(self) -> bytes:
        return self.headers.get("x-request-id", "").encode("latin-1") or uuid.uuid4().hex.encode()

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def flag(self, name: str, default: bool) -> bool:
        value = self.arg(name)
        if value is None or value == "":
            return default
        if value in ("1", "t", "T", "true", "TRUE", "True"):
            return True
        if value in ("0", "f", "F", "false", "FALSE", "False"):
            return False
        raise HarborError(400, f"parsing {name} from query failed, because {value!r} is not a boolean")

    def integer(self, name: str, default: int) -> int:
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise HarborError(400, f"{name} in query must be of type int64: {value!r}") from None

    def json(self, *, required: bool = True) -> Any:
        if not self.body.strip():
            if required:
                raise HarborError(400, "the request body is required")
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise HarborError(400, "the request body is not valid JSON") from None

    def json_object(self, *, required: bool = True) -> dict[str, Any]:
        data = self.json(required=required)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise HarborError(400, "the request body must be a JSON object")
        return data


def parse_request(
    method: str, raw_path: bytes, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes, base_url: str
) -> Request:
    segments = [unquote(s.decode("latin-1")) for s in raw_path.split(b"/")[3:]]  # drop "", api, v2.0
    return Request(
        method=method,
        segments=segments,
        query=parse_qs(query.decode("latin-1"), keep_blank_values=True),
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers},
        body=body,
        base_url=base_url,
    )


Handler = Callable[[Request], Awaitable[Response]]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, list[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, pattern.strip("/").split("/"), handler))

    def resolve(self, request: Request) -> Handler:
        allowed = False
        for method, pattern, handler in self._routes:
            params = _match(pattern, request.segments)
            if params is None:
                continue
            if method == request.method:
                request.params = params
                return handler
            allowed = True
        if allowed:
            raise HarborError(405, f"method {request.method} is not allowed here")
        raise HarborError(404, "the requested resource is not found")


def _match(pattern: list[str], segments: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(segments):
        return None
    params = {}
    for want, got in zip(pattern, segments, strict=True):
        if want.startswith("{"):
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


# The `q` query of Harbor's list APIs: "k=v" exact, "k=~v" fuzzy, "k=[a~b]" range,
# "k={a b}" any of, "k=(a b)" all of; conditions separated by ",".
_Q_PART = re.compile(r"^([^=~\[\]{}()]+)=(.*)$", re.S)


@dataclass(frozen=True)
class Cond:
    op: str  # "exact", "fuzzy", "range", "any", "all"
    value: str
    values: tuple[str, ...] = ()

    def matches(self, actual: str | None) -> bool:
        if actual is None:
            return False
        if self.op == "exact":
            return actual == self.value
        if self.op == "fuzzy":
            return self.value in actual
        if self.op in ("any", "all"):
            return actual in self.values
        return True  # ranges are accepted and not applied


def parse_q(q: str | None) -> dict[str, Cond]:
    if not q:
        return {}
    conds: dict[str, Cond] = {}
    for part in _split_q(q):
        match = _Q_PART.match(part)
        if match is None or not match.group(1).strip():
            raise HarborError(400, f"invalid query: {q}")
        key, raw = match.group(1).strip(), match.group(2)
        if raw.startswith("~"):
            conds[key] = Cond("fuzzy", _unquote_value(raw[1:]))
        elif raw.startswith("[") and raw.endswith("]") and "~" in raw:
            conds[key] = Cond("range", raw[1:-1])
        elif raw[:1] in "{(" and raw[-1:] in "})":
            items = tuple(_unquote_value(v) for v in raw[1:-1].split())
            conds[key] = Cond("any" if raw[0] == "{" else "all", raw, items)
        else:
            conds[key] = Cond("exact", _unquote_value(raw))
    return conds


def _split_q(q: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in q:
        depth += 1 if char in "[{(" else -1 if char in "]})" else 0
        if char == "," and depth <= 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def _unquote_value(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def paginate(request: Request, items: list[Any], path: str) -> tuple[list[Any], list[tuple[str, str]]]:
    """One page of `items`, with Harbor's X-Total-Count and Link headers."""
    page = max(request.integer("page", 1), 1)
    size = request.integer("page_size", 10)
    size = 10 if size <= 0 else size
    start = (page - 1) * size
    headers = [("X-Total-Count", str(len(items)))]
    links = []
    others = [(k, v[0]) for k, v in request.query.items() if k not in ("page", "page_size") and v]
    extra = "&" + urlencode(others) if others else ""
    if page > 1:
        links.append(f'<{path}?page={page - 1}&page_size={size}{extra}>; rel="prev"')
    if start + size < len(items):
        links.append(f'<{path}?page={page + 1}&page_size={size}{extra}>; rel="next"')
    if links:
        headers.append(("Link", " , ".join(links)))
    return items[start : start + size], headers


def sort_by(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for key in reversed([k.strip() for k in (request.arg("sort") or "").split(",") if k.strip()]):
        field_name = key.lstrip("-")
        if items and field_name in items[0]:
            items = sorted(items, key=lambda item: str(item.get(field_name)), reverse=key.startswith("-"))
    return items
