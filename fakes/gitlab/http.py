"""Request and response plumbing of the GitLab REST fake: raw-path routing, parameters, errors, pages.

GitLab addresses projects, files and branches by URL-encoded paths (`projects/shop%2Fshop-api`), so
routing splits the *raw* path on `/` and only then decodes each segment. Parameters come from the
query string and the body (JSON or form), the body winning, as Grape merges them. Errors are
`ApiError(status, body)` with GitLab's own bodies: `{"message": "404 Project Not Found"}` for a
missing object, `{"error": "branch is missing"}` for a missing parameter (Grape's wording).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status, self.body = status, body


def not_found(what: str) -> ApiError:
    return ApiError(404, {"message": f"404 {what} Not Found"})


def bad_request(message: Any) -> ApiError:
    return ApiError(400, {"message": message})


def forbidden() -> ApiError:
    return ApiError(403, {"message": "403 Forbidden"})


UNAUTHORIZED = {"message": "401 Unauthorized"}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return b"" if self.body is None and self.status == 204 else json.dumps(self.body).encode()


@dataclass
class Request:
    method: str
    raw_path: str  # after /api/v4, still encoded
    segments: list[str]  # decoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    params: dict[str, Any]
    base_url: str
    username: str = "anonymous"
    user_id: int = 0
    object: str = ""  # what the request touched, for the access log

    def value(self, name: str) -> Any:
        value = self.params.get(name)
        return self.params.get(f"{name}[]") if value is None else value

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.value(name)
        if value is None:
            return default
        if isinstance(value, list | dict):
            raise ApiError(400, {"error": f"{name} is invalid"})
        return str(value)

    def need(self, name: str) -> str:
        value = self.text(name)
        if value is None or value == "":
            raise ApiError(400, {"error": f"{name} is missing"})
        return value

    def number(self, name: str, *, default: int | None = None) -> int | None:
        value = self.value(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, {"error": f"{name} is invalid"}) from None

    def flag(self, name: str, *, default: bool | None = None) -> bool | None:
        value = self.value(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("true", "1", "yes", "t"):
            return True
        if text in ("false", "0", "no", "f"):
            return False
        raise ApiError(400, {"error": f"{name} is invalid"})

    def names(self, name: str) -> list[str] | None:
        value = self.value(name)
        if value is None:
            return None
        if isinstance(value, list):
            return [str(v) for v in value if v is not None and str(v) != ""]
        return [v.strip() for v in str(value).split(",") if v.strip()]


def parse_params(query: dict[str, list[str]], body: bytes, content_type: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: (v if k.endswith("[]") else v[-1]) for k, v in query.items()}
    if not body.strip():
        return params
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, {"error": "The request body is not valid JSON"}) from None
        if not isinstance(data, dict):
            raise ApiError(400, {"error": "The request body must be a JSON object"})
        params.update({k: v for k, v in data.items() if v is not None})
    elif content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update({k: (v if k.endswith("[]") else v[-1]) for k, v in form.items()})
    return params


def split_path(raw_path: str) -> list[str]:
    return [unquote(s) for s in raw_path.strip("/").split("/")] if raw_path.strip("/") else []


Handler = Callable[..., Response]


class Router:
    """Routes like `projects/:id/repository/branches/:branch`; `:name` takes one decoded segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, tuple[str, ...], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, tuple(pattern.strip("/").split("/")), handler))

    def match(self, method: str, segments: list[str]) -> tuple[Handler, dict[str, str]]:
        allowed = False
        for route_method, pattern, handler in self._routes:
            params = _match(pattern, segments)
            if params is None:
                continue
            if route_method == method or (method == "HEAD" and route_method == "GET"):
                return handler, params
            allowed = True
        if allowed:
            raise ApiError(405, {"message": "405 Method Not Allowed"})
        raise ApiError(404, {"error": "404 Not Found"})


def _match(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(segments):
        return None
    params: dict[str, str] = {}
    for part, segment in zip(pattern, segments, strict=True):
        if part.startswith(":"):
            if segment == "":
                return None
            params[part[1:]] = segment
        elif part != segment:
            return None
    return params


def paginate(req: Request, items: list[Any]) -> Response:
    """One page of `items` with GitLab's pagination headers (python-gitlab follows `Link: rel=next`)."""
    page = max(1, req.number("page", default=1) or 1)
    per_page = min(100, max(1, req.number("per_page", default=20) or 20))
    total = len(items)
    pages = max(1, math.ceil(total / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]

    def url(n: int) -> str:
        query = {k: v[-1] for k, v in req.query.items() if k not in ("page", "per_page")}
        query.update(page=str(n), per_page=str(per_page))
        return f"{req.base_url}/api/v4/{req.raw_path.lstrip('/')}?{urlencode(query, quote_via=quote)}"

    links = [f'<{url(page + 1)}>; rel="next"'] if page < pages else []
    links += [f'<{url(page - 1)}>; rel="prev"'] if page > 1 else []
    links += [f'<{url(1)}>; rel="first"', f'<{url(pages)}>; rel="last"']
    headers = [
        ("x-page", str(page)),
        ("x-per-page", str(per_page)),
        ("x-total", str(total)),
        ("x-total-pages", str(pages)),
        ("x-next-page", str(page + 1) if page < pages else ""),
        ("x-prev-page", str(page - 1) if page > 1 else ""),
        ("link", ", ".join(links)),
    ]
    return Response(200, chunk, headers)
