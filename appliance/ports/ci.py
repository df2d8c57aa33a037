"""CI: run a named job with parameters (Jenkins in every target)."""

from __future__ import annotations

from typing import Protocol

import msgspec


class JobRun(msgspec.Struct, frozen=True, kw_only=True):
    job: str
    key: str
    queue_url: str = ""
    duplicate: bool = False  # CI already had a run with this idempotency key


class Ci(Protocol):
    async def trigger(self, *, job: str, params: dict[str, str], key: str) -> JobRun:
        """Start `job` once per `key`: a repeated call with the same key must not start it again."""
        ...
