"""Fault injection for a fake, set through its admin API (`/_fake/faults`).

A fault applies to requests whose path matches `path` (a glob, e.g. `/api/v4/projects/*`) and
method (`*` for any), `count` times (0: unlimited) or until `until` (unix time). Kinds:

    latency    wait `delay_s` seconds, then serve normally
    error      answer `status` (default 503) with a JSON body, do not serve
    timeout    hold the request `delay_s` seconds (default 30), then answer 504
    drop       (outgoing webhooks) do not send
    duplicate  (outgoing webhooks) send twice
    reorder    (outgoing webhooks) hold this one back and send it after the next one
"""

from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("latency", "error", "timeout", "drop", "duplicate", "reorder")
INCOMING = ("latency", "error", "timeout")


class FaultError(ValueError):
    pass


@dataclass
class Fault:
    kind: str
    path: str = "*"
    method: str = "*"
    status: int = 503
    delay_s: float = 0.0
    count: int = 0
    until: float = 0.0
    id: int = 0
    hits: int = field(default=0)

    def matches(self, method: str, path: str, now: float) -> bool:
        if self.until and now > self.until:
            return False
        if self.count and self.hits >= self.count:
            return False
        return (self.method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self.path)


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._next = 1

    def add(self, spec: dict[str, Any]) -> Fault:
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object")
        unknown = sorted(
            set(spec) - {"kind", "path", "method", "status", "delay_s", "count", "until", "for_s"}
        )
        if unknown:
            raise FaultError(f"unknown fault field(s): {', '.join(unknown)}")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultError(f"fault kind must be one of {', '.join(KINDS)}, not {kind!r}")
        try:
            until = float(spec.get("until") or 0) or (
                time.time() + float(spec["for_s"]) if spec.get("for_s") else 0.0
            )
            fault = Fault(
                kind=str(kind),
                path=str(spec.get("path", "*")),
                method=str(spec.get("method", "*")).upper(),
                status=int(spec.get("status", 503)),
                delay_s=float(spec.get("delay_s", 30.0 if kind == "timeout" else 0.0)),
                count=int(spec.get("count", 0)),
                until=until,
            )
        except (TypeError, ValueError) as exc:
            raise FaultError(f"bad fault field: {exc}") from None
        if not 100 <= fault.status <= 599:
            raise FaultError(f"status must be an HTTP status, not {fault.status}")
        with self._lock:
            fault.id = self._next
            self._next += 1
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, method: str, path: str, kinds: tuple[str, ...]) -> Fault | None:
        """The first live fault of one of `kinds` for this request, counted as hit."""
        now = time.time()
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(method, path, now):
                    fault.hits += 1
                    return fault
        return None
