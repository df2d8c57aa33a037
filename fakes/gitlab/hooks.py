"""Delivery of project hooks: one queue, one worker, in order, off the request path.

GitLab sends hooks from a background job, so a slow or failing receiver never delays an API call;
the fake does the same with one asyncio task per event loop that sends queued hooks one at a time
through `fakes.common.webhooks.WebhookSender` (where drop / duplicate / reorder faults apply).
`drain()` waits until everything queued so far has been sent (or failed).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from fakes.common.webhooks import WebhookSender

log = logging.getLogger(__name__)


class Deliveries:
    def __init__(self, sender: WebhookSender) -> None:
        self.sender = sender
        self._queue: asyncio.Queue[tuple[str, Any, dict[str, str]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def post(self, url: str, body: Any, headers: dict[str, str]) -> None:
        """Queue one hook; must be called from the event loop serving the fake."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._task is None or self._task.done() or self._loop is not loop:
            self._queue, self._loop = asyncio.Queue(), loop
            self._task = loop.create_task(self._run(self._queue))
        self._queue.put_nowait((url, body, headers))

    async def _run(self, queue: asyncio.Queue[tuple[str, Any, dict[str, str]]]) -> None:
        while True:
            url, body, headers = await queue.get()
            try:
                await self.sender.send(url, body=body, headers=headers)
            except (httpx.HTTPError, ValueError) as exc:  # an unusable URL: GitLab logs and moves on
                log.warning("hook to %s not sent: %s", url, exc)
            finally:
                queue.task_done()

    async def drain(self, timeout: float = 10.0) -> None:
        if self._queue is not None and self._loop is asyncio.get_running_loop():
            try:
                await asyncio.wait_for(self._queue.join(), timeout)
            except TimeoutError:
                log.warning("hooks still queued after %.1fs", timeout)

    async def close(self) -> None:
        await self.drain(timeout=2.0)
        if self._task is not None:
            self._task.cancel()
            self._task = None
