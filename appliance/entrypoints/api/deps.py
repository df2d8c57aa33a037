"""Litestar dependencies: the services' context and the calling user."""

from __future__ import annotations

from typing import Any

from litestar import Request

from appliance.services import access
from appliance.services.access import Principal
from appliance.services.context import Context


def context(request: Request[Any, Any, Any]) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def principal(request: Request[Any, Any, Any]) -> Principal:
    action = f"{request.method} {request.url.path}"
    return await access.authenticate(context(request), request.headers.get("authorization"), action=action)
