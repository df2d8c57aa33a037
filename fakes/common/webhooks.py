"""Outgoing webhooks of a fake, with the drop / duplicate / reorder faults applied.

Faults for outgoing webhooks match the destination URL (e.g. `path: "*/webhooks/gitlab"`).
Delivery is like the real senders': one POST, a short timeout, failures logged, no retry.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from fakes.common.faults import Faults

log = logging.getLogger(__name__)
OUTGOING = ("drop", "duplicate", "reorder")


class WebhookSender:
    def __init__(self, faults: Faults, *, timeout: float = 10.0) -> None:
        self.faults = faults
        self.timeout = timeout
        self._held: list[tuple[str, Any, dict[str, str]]] = []
        self.sent: list[tuple[str, int]] = []  # (url, status or 0 on a transport error)

    async def send(self, url: str, *, body: Any, headers: dict[str, str]) -> None:
        fault = self.faults.take("POST", url, OUTGOING)
        if fault is not None and fault.kind == "drop":
            return
        if fault is not None and fault.kind == "reorder":
            self._held.append((url, body, headers))
            return
        copies = 2 if fault is not None and fault.kind == "duplicate" else 1
        for _ in range(copies):
            await self._post(url, body, headers)
        held, self._held = self._held, []
        for h_url, h_body, h_headers in held:
            await self._post(h_url, h_body, h_headers)

    async def _post(self, url: str, body: Any, headers: dict[str, str]) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(url, json=body, headers=headers)
            self.sent.append((url, response.status_code))
        except httpx.TransportError as exc:
            log.warning("webhook to %s failed: %s", url, type(exc).__name__)
            self.sent.append((url, 0))
