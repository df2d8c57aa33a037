"""The one error tree of every port.

    PortError
    ├── TransientError(delay)   a retry can help (timeout, 5xx, 429, connection refused)
    └── PermanentError          a retry cannot help (4xx but 429, bad credentials, not found)

Adapters map their system's failures to these in one place; services decide on retries from the
class alone. Anything else that escapes an adapter is a bug and should crash loudly.
"""

from __future__ import annotations


class PortError(Exception):
    def __init__(self, message: str, *, system: str = "") -> None:
        super().__init__(message)
        self.system = system


class TransientError(PortError):
    def __init__(self, message: str, *, system: str = "", delay: float | None = None) -> None:
        super().__init__(message, system=system)
        self.delay = delay


class PermanentError(PortError):
    pass
