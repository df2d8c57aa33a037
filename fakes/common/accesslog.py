"""Who did what to a fake, when, and how it went: the evidence for least-privilege checks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Access:
    at: float  # unix time
    identity: str  # the authenticated principal, or "anonymous"
    method: str
    path: str
    object: str  # what was touched, in the fake's own words ("project shop/api", "pods shop-api-preflight")
    outcome: int  # HTTP status


class AccessLog:
    """Thread-safe, in memory; also appended as JSON lines to `path` when one is given."""

    def __init__(self, path: Path | None = None) -> None:
        self._entries: list[Access] = []
        self._lock = threading.Lock()
        self._path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, *, identity: str, method: str, path: str, object: str = "", outcome: int) -> None:
        entry = Access(
            at=time.time(), identity=identity, method=method, path=path, object=object, outcome=outcome
        )
        with self._lock:
            self._entries.append(entry)
            if self._path is not None:
                with self._path.open("a") as f:
                    f.write(json.dumps(asdict(entry)) + "\n")

    def entries(self, *, identity: str | None = None) -> list[Access]:
        with self._lock:
            return [e for e in self._entries if identity is None or e.identity == identity]

    def as_json(self) -> list[dict[str, object]]:
        return [asdict(e) for e in self.entries()]
