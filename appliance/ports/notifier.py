"""Push notices to people (console, chat). Best effort, never a source of truth."""

from __future__ import annotations

from typing import Protocol


class Notifier(Protocol):
    async def publish(self, *, topic: str, message: str, links: dict[str, str], key: str) -> None: ...
