"""Same-interface doubles of the ports (no mocks): they keep state and honour the contracts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from appliance.ports.ci import JobRun
from appliance.ports.errors import PermanentError, TransientError


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        self.at += timedelta(**kwargs)


class CountingIds:
    def __init__(self) -> None:
        self._n = itertools.count(1)

    def new(self, prefix: str) -> str:
        return f"{prefix}-{next(self._n):04d}"

    def token(self) -> str:
        return f"tok{next(self._n):08d}x" * 3


class RecordingCi:
    """A CI that remembers every run by idempotency key; `fail` queues errors for the next calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.runs: dict[str, tuple[str, dict[str, str]]] = {}
        self.fail: list[Exception] = []

    async def trigger(self, *, job: str, params: dict[str, str], key: str) -> JobRun:
        self.calls.append((job, key, params))
        if self.fail:
            raise self.fail.pop(0)
        if key in self.runs:
            return JobRun(job=job, key=key, duplicate=True)
        self.runs[key] = (job, params)
        return JobRun(job=job, key=key, queue_url=f"/queue/item/{len(self.runs)}/")


class MemoryObjects:
    """An object store in memory (the ObjectStore port's read side and `put`, for console tests)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    async def put(self, *, bucket: str, key: str, data: bytes, **_: object) -> None:
        self.objects[(bucket, key)] = data

    async def get(self, *, bucket: str, key: str) -> bytes | None:
        return self.objects.get((bucket, key))


__all__ = ["CountingIds", "FakeClock", "MemoryObjects", "PermanentError", "RecordingCi", "TransientError"]
