"""The GitLab REST v4 transport: one httpx client, and the one place GitLab's answers become port errors.

    5xx, 429, timeouts, connection errors   TransientError (delay from Retry-After when given)
    any other 4xx                           PermanentError with GitLab's own message
    a body that is not what GitLab sends    PermanentError

The token travels only in the `PRIVATE-TOKEN` header; messages are scrubbed of it all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from appliance.ports.errors import PermanentError, TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")
SYSTEM = "gitlab"
PER_PAGE = 100
MAX_PAGES = 50


def enc(value: str | int) -> str:
    """One URL path segment as GitLab wants it: `shop/shop-api` -> `shop%2Fshop-api`."""
    return quote(str(value), safe="")


class GitLabHttp:
    def __init__(self, *, url: str, token: str, timeout: float) -> None:
        self._token = token
        self._client = httpx.AsyncClient(
            base_url=f"{url.rstrip('/')}/api/v4",
            headers={"PRIVATE-TOKEN": token, "Accept": "application/json"},
            timeout=timeout,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        ok: Collection[int] = (),
    ) -> httpx.Response:
        """Send one request; a failure raises unless its status is in `ok` (the caller then decides)."""
        try:
            response = await self._client.request(method, path, params=params, json=json)
        except httpx.TransportError as exc:  # timeouts, refused and reset connections
            raise TransientError(f"{what}: {type(exc).__name__}", system=SYSTEM) from exc
        if response.status_code not in ok:
            self.raise_for(response, what)
        return response

    async def get(
        self, path: str, what: str, into: type[T], params: Mapping[str, str | int] | None = None
    ) -> T:
        return self.decode(await self.request("GET", path, what, params=params), into, what)

    async def pages(
        self, path: str, what: str, into: type[T], params: Mapping[str, str | int] | None = None
    ) -> list[T]:
        """Every item of a paginated list (GitLab's `X-Next-Page`)."""
        items: list[T] = []
        page = "1"
        for _ in range(MAX_PAGES):
            query = {**(params or {}), "per_page": PER_PAGE, "page": page}
            response = await self.request("GET", path, what, params=query)
            items += self.decode(response, list[into], what)  # type: ignore[valid-type]
            page = response.headers.get("x-next-page", "")
            if not page:
                break
        return items

    def decode(self, response: httpx.Response, into: type[T], what: str) -> T:
        try:
            return msgspec.json.decode(response.content, type=into)
        except msgspec.DecodeError as exc:
            raise PermanentError(f"{what}: unexpected answer from GitLab: {exc}", system=SYSTEM) from None

    def raise_for(self, response: httpx.Response, what: str) -> None:
        """The one place GitLab statuses become port errors."""
        code = response.status_code
        if code < 400:
            return
        detail = _message(response)
        text = self._scrub(f"{what}: GitLab answered {code}" + (f": {detail}" if detail else ""))
        if code == 429 or code >= 500:
            raise TransientError(
                text, system=SYSTEM, delay=_retry_after(response.headers.get("Retry-After", ""))
            )
        raise PermanentError(text, system=SYSTEM)

    def not_ready(self, what: str, status: str) -> TransientError:
        """GitLab is still checking mergeability (`checking`, `unchecked`, ...): try again shortly."""
        return TransientError(self._scrub(f"{what}: merge status is {status}"), system=SYSTEM, delay=2.0)

    def refused(self, what: str, reason: str) -> PermanentError:
        return PermanentError(f"{what}: {self._scrub(reason)}", system=SYSTEM)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text


def _message(response: httpx.Response) -> str:
    """GitLab's message: `{"message": ...}` (text, list or field map) or Grape's `{"error": ...}`."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return response.reason_phrase
    if not isinstance(body, dict):
        return response.reason_phrase
    message = body.get("message", body.get("error", ""))
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    elif isinstance(message, dict):
        message = "; ".join(
            f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in message.items()
        )
    return str(message)[:500]


def _retry_after(value: str) -> float | None:
    """Seconds from `Retry-After`, given as seconds or as an HTTP date."""
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
