"""The one exception -> HTTP map of the API: JSON errors that name the problem, never a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from appliance.logic.machine import InvalidEvent
from appliance.services.errors import ServiceError

log = logging.getLogger(__name__)


def _body(status: int, detail: str) -> Response[dict[str, Any]]:
    return Response({"status_code": status, "detail": detail}, status_code=status)


def service_error(_: Request[Any, Any, Any], exc: ServiceError) -> Response[dict[str, Any]]:
    return _body(exc.status, str(exc))


def invalid_event(_: Request[Any, Any, Any], exc: InvalidEvent) -> Response[dict[str, Any]]:
    return _body(422, str(exc))


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.detail}
    if getattr(exc, "extra", None):
        body["extra"] = exc.extra
    return Response(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


HANDLERS: Any = {
    ServiceError: service_error,
    InvalidEvent: invalid_event,
    HTTPException: http_error,
}
