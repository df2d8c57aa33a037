"""Small adapters that need no outside system: the clock, ids, a log notifier, no CI."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from appliance.ports.ci import JobRun
from appliance.ports.errors import PermanentError

log = logging.getLogger("pathops.notify")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    def new(self, prefix: str) -> str:
        return f"{prefix}-{secrets.token_hex(4)}"

    def token(self) -> str:
        return secrets.token_urlsafe(32)


class LogNotifier:
    """Notices go to the log (and, once the console exists, to its live push)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def publish(self, *, topic: str, message: str, links: dict[str, str], key: str) -> None:
        self.sent.append((topic, message))
        log.info("[%s] %s %s", topic, message, " ".join(f"{k}={v}" for k, v in links.items()))


class NoCi:
    """The target has no CI configured: every trigger fails permanently, with the reason shown."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def trigger(self, *, job: str, params: dict[str, str], key: str) -> JobRun:
        raise PermanentError(f"cannot run {job}: {self.reason}", system="ci")
