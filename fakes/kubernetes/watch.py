"""`?watch=true`: newline-delimited `{"type", "object"}` events, from `resourceVersion` on, for
`timeoutSeconds`. Objects that start or stop matching the selectors arrive as ADDED / DELETED, as the
apiserver's watch cache sends them; a resourceVersion older than the history is an ERROR event (410).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from fakes.common.asgi import Receive, Send
from fakes.kubernetes import errors
from fakes.kubernetes.resources import Resource
from fakes.kubernetes.selectors import Selector, labels_match
from fakes.kubernetes.store import Change, Obj, Store

DEFAULT_TIMEOUT_S = 1800.0


class Connection:
    """Whether a streaming response should go on: the client is still there and the server is not
    shutting down (uvicorn asks open connections to finish by clearing `keep_alive` on the request
    cycle; an endless stream would otherwise hold the server, and the node's processes, up)."""

    def __init__(self, receive: Receive) -> None:
        self._cycle = getattr(receive, "__self__", None)
        self._keep_alive = self._closing() is False
        self._gone = asyncio.Event()
        self._task = asyncio.create_task(self._watch(receive))

    def _closing(self) -> bool:
        return self._cycle is not None and getattr(self._cycle, "keep_alive", True) is False

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._gone.set()

    def open(self) -> bool:
        return not self._gone.is_set() and not (self._keep_alive and self._closing())

    def close(self) -> None:
        self._task.cancel()


async def serve(
    store: Store,
    res: Resource,
    namespace: str,
    labels: Selector,
    fields: Callable[[Obj], bool],
    resource_version: str,
    timeout_s: float | None,
    send: Send,
    receive: Receive,
) -> None:
    def matches(obj: Obj | None) -> bool:
        return obj is not None and labels_match(labels, obj) and fields(obj)

    def translate(change: Change) -> tuple[str, Obj] | None:
        now_in, was_in = matches(change.obj), matches(change.old)
        if change.type == "ADDED":
            return ("ADDED", change.obj) if now_in else None
        if change.type == "DELETED":
            return ("DELETED", change.obj) if was_in or now_in else None
        if now_in:
            return ("MODIFIED" if was_in else "ADDED", change.obj)
        return ("DELETED", change.obj) if was_in else None

    queue: asyncio.Queue[Change] = asyncio.Queue()

    def listener(change: Change) -> None:
        if change.resource == res.key and (not namespace or change.namespace == namespace):
            queue.put_nowait(change)

    initial: list[tuple[str, Any]] = []
    if resource_version in ("", "0"):
        initial = [("ADDED", o) for o in store.list(res.key, namespace or None) if matches(o)]
    else:
        try:
            since = store.since(int(resource_version))
        except ValueError:
            raise errors.bad_request(f'resourceVersion: Invalid value: "{resource_version}"') from None
        if since is None:
            gone = errors.expired(f"too old resource version: {resource_version} ({store.oldest})")
            initial = [("ERROR", gone.status())]
        else:
            initial = [
                e for e in map(translate, (c for c in since if c.resource == res.key)) if e is not None
            ]
            initial = [e for e in initial if not namespace or e[1]["metadata"].get("namespace") == namespace]
    unsubscribe = store.subscribe(listener)
    connection = Connection(receive)
    deadline = time.monotonic() + (timeout_s if timeout_s else DEFAULT_TIMEOUT_S)
    try:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-cache, private")]})  # fmt: skip
        for kind, obj in initial:
            await _event(send, kind, obj)
        if initial and initial[0][0] == "ERROR":
            return
        while connection.open():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                change = await asyncio.wait_for(queue.get(), timeout=min(remaining, 0.25))
            except TimeoutError:
                continue
            event = translate(change)
            if event is not None:
                await _event(send, *event)
    finally:
        unsubscribe()
        connection.close()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _event(send: Send, kind: str, obj: Obj) -> None:
    line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
    await send({"type": "http.response.body", "body": line, "more_body": True})
