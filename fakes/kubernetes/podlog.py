"""`GET .../pods/{name}/log`: container, previous, tailLines, sinceSeconds, sinceTime, timestamps,
limitBytes and follow, with the kubelet's error messages for containers that have not started."""

from __future__ import annotations

import asyncio
import time

from fakes.common.asgi import Receive, Send
from fakes.kubernetes import errors
from fakes.kubernetes.logs import ContainerLog, LogStore, render
from fakes.kubernetes.meta import parse_time
from fakes.kubernetes.store import Obj
from fakes.kubernetes.watch import Connection


def _int(query: dict[str, str], key: str) -> int | None:
    if not query.get(key):
        return None
    try:
        return int(query[key])
    except ValueError:
        raise errors.bad_request(f"{key}: Invalid value: {query[key]!r}") from None


def _flag(query: dict[str, str], key: str) -> bool:
    return query.get(key, "").lower() in ("true", "1")


def _choose(pod: Obj, query: dict[str, str]) -> str:
    names = [c["name"] for c in pod["spec"].get("containers") or []]
    inits = [c["name"] for c in pod["spec"].get("initContainers") or []]
    name = query.get("container", "")
    pod_name = pod["metadata"]["name"]
    if not name:
        if len(names) == 1:
            return str(names[0])
        raise errors.bad_request(
            f"a container name must be specified for pod {pod_name}, choose one of: [{' '.join(names)}]"
        )
    if name not in names + inits:
        raise errors.bad_request(f"container {name} is not valid for pod {pod_name}")
    return name


def _waiting_reason(pod: Obj, container: str) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    statuses += (pod.get("status") or {}).get("initContainerStatuses") or []
    for s in statuses:
        if s["name"] == container:
            waiting = (s.get("state") or {}).get("waiting")
            if waiting:
                return str(waiting.get("reason", "ContainerCreating"))
    return "ContainerCreating"


async def serve(pod: Obj, store: LogStore, query: dict[str, str], send: Send, receive: Receive) -> None:
    container = _choose(pod, query)
    name = pod["metadata"]["name"]
    log = store.get(pod["metadata"]["uid"], container)
    previous = _flag(query, "previous")
    if previous and (log is None or log.previous is None):
        raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
    if log is None or log.current is None:
        reason = _waiting_reason(pod, container)
        raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    since: float | None = None
    if (seconds := _int(query, "sinceSeconds")) is not None:
        since = time.time() - seconds
    elif query.get("sinceTime"):
        since = parse_time(query["sinceTime"])
    timestamps = _flag(query, "timestamps")
    run = log.previous if previous else log.current
    assert run is not None
    body = render(list(run.lines), tail=_int(query, "tailLines"), since=since, timestamps=timestamps,
                  limit_bytes=_int(query, "limitBytes"))  # fmt: skip
    follow = _flag(query, "follow") and not previous
    headers = [(b"content-type", b"text/plain")]
    if not follow:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": follow})
    if follow:
        connection = Connection(receive)
        try:
            await _follow(log, len(run.lines), timestamps, send, connection)
        finally:
            connection.close()


async def _follow(log: ContainerLog, seen: int, timestamps: bool, send: Send, connection: Connection) -> None:
    run = log.current
    while run is not None and not run.ended and connection.open():
        try:
            await asyncio.wait_for(log.changed.wait(), timeout=0.5)
        except TimeoutError:
            continue
        if log.current is not run:
            break
        lines = list(run.lines)
        if len(lines) > seen:
            await send(
                {
                    "type": "http.response.body",
                    "body": render(lines[seen:], timestamps=timestamps),
                    "more_body": True,
                }
            )
            seen = len(lines)
    await send({"type": "http.response.body", "body": b"", "more_body": False})
