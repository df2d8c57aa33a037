"""Time and identifiers come in through ports, so decisions stay reproducible."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC."""
        ...


class Ids(Protocol):
    def new(self, prefix: str) -> str:
        """A fresh identifier such as `inc-7f3a2b9c`."""
        ...

    def token(self) -> str:
        """A fresh high-entropy secret (URL-safe)."""
        ...
