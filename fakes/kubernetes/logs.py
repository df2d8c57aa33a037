"""Container logs: timestamped lines per (pod uid, container), the current run and the previous one."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from fakes.kubernetes.meta import stamp

MAX_LINES = 50_000


@dataclass
class Run:
    lines: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=MAX_LINES))
    ended: bool = False


@dataclass
class ContainerLog:
    current: Run | None = None
    previous: Run | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class LogStore:
    def __init__(self) -> None:
        self._logs: dict[tuple[str, str], ContainerLog] = {}

    def start(self, uid: str, container: str) -> None:
        log = self._logs.setdefault((uid, container), ContainerLog())
        if log.current is not None:
            log.previous = log.current
            log.previous.ended = True
        log.current = Run()
        log.touch()

    def append(self, uid: str, container: str, text: str, at: float | None = None) -> None:
        log = self._logs.get((uid, container))
        if log is not None and log.current is not None:
            log.current.lines.append((time.time() if at is None else at, text))
            log.touch()

    def end(self, uid: str, container: str) -> None:
        log = self._logs.get((uid, container))
        if log is not None and log.current is not None:
            log.current.ended = True
            log.touch()

    def get(self, uid: str, container: str) -> ContainerLog | None:
        return self._logs.get((uid, container))

    def drop(self, uid: str) -> None:
        for key in [k for k in self._logs if k[0] == uid]:
            self._logs[key].touch()
            del self._logs[key]


def render(
    lines: list[tuple[float, str]],
    *,
    tail: int | None = None,
    since: float | None = None,
    timestamps: bool = False,
    limit_bytes: int | None = None,
) -> bytes:
    chosen = [(at, text) for at, text in lines if since is None or at >= since]
    if tail is not None:
        chosen = chosen[-tail:] if tail > 0 else []
    out = "".join(f"{stamp(at, nano=True)} {text}\n" if timestamps else f"{text}\n" for at, text in chosen)
    data = out.encode()
    return data[:limit_bytes] if limit_bytes is not None else data
