"""One REST API of a stack's system, as the seed calls it: a base URL, credentials, a few retries of what
a retry can help, and the one place the seed maps HTTP statuses to port errors.

    connection refused, timeouts, 429, 5xx   TransientError (retried `attempts` times first)
    any other 4xx not in `allow`             PermanentError

Messages name the system, the operation and the status, with the system's own error text cut
short, and never a credential (the secrets given are replaced by `***`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from appliance.ports.errors import PermanentError, TransientError


class Http:
    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        secrets: tuple[str, ...] = (),
        timeout: float = 15.0,
        attempts: int = 3,
        backoff_s: float = 0.3,
    ) -> None:
        self.system = system
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers or {}, auth=auth, timeout=timeout
        )
        self._secrets = tuple(s for s in secrets if s)
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(
        self, method: str, path: str, *, what: str, allow: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """Send; statuses in `allow` come back to the caller, other failures raise."""
        error: TransientError | None = None
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                response = await self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                error = TransientError(self._scrub(f"{what}: {type(exc).__name__}"), system=self.system)
                continue
            if response.status_code in allow or response.status_code < 400:
                return response
            failure = self._error(response, what)
            if isinstance(failure, PermanentError):
                raise failure
            error = failure
        assert error is not None
        raise error

    async def json(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, what=what, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise PermanentError(f"{what}: {self.system} answered no JSON", system=self.system) from None

    def _error(self, response: httpx.Response, what: str) -> TransientError | PermanentError:
        status = response.status_code
        detail = " ".join(response.text.split())[:160]
        message = self._scrub(f"{what}: {self.system} answered {status}" + (f": {detail}" if detail else ""))
        if status == 429 or status >= 500:
            return TransientError(message, system=self.system)
        return PermanentError(message, system=self.system)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
