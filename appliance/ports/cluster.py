"""Cluster: what the Evidence Collector and the Verification Agent read from a namespace (read-only).

PathOps never writes to a cluster: this port has no verb that changes anything. Times in and out
are timezone-aware datetimes; the caller passes the window (no clock is read behind the port).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

WorkloadKind = Literal["Deployment", "ReplicaSet", "Job"]


class ContainerState(msgspec.Struct, frozen=True, kw_only=True):
    state: Literal["waiting", "running", "terminated", "unknown"]
    reason: str = ""  # CrashLoopBackOff, ImagePullBackOff, Error, OOMKilled, Completed...
    message: str = ""
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ContainerStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    image: str = ""
    ready: bool = False
    restart_count: int = 0
    state: ContainerState
    last_state: ContainerState | None = None  # the previous run, when it ended
    init: bool = False


class Pod(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    namespace: str
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    ready: bool  # every (non-init) container ready
    labels: dict[str, str] = {}
    owner: str = ""  # "ReplicaSet/shop-api-7d9c", "Job/evidence-1"
    reason: str = ""  # the pod's own reason (Evicted...)
    message: str = ""
    started_at: datetime | None = None
    containers: tuple[ContainerStatus, ...] = ()


class Event(msgspec.Struct, frozen=True, kw_only=True):
    reason: str
    message: str
    type: str  # Normal, Warning
    object: str  # "Pod/shop-api-7d9c-x2x1"
    count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    source: str = ""


class Description(msgspec.Struct, frozen=True, kw_only=True):
    """A workload trimmed for evidence: metadata that matters, spec (env values hidden) and status."""

    kind: str
    name: str
    namespace: str
    metadata: dict[str, Any] = {}
    spec: dict[str, Any] = {}
    status: dict[str, Any] = {}


class RestartSignal(msgspec.Struct, frozen=True, kw_only=True):
    pod: str
    container: str
    restarts: int
    oom_killed: bool  # the current or the last run ended OOMKilled
    waiting_reason: str = ""
    last_reason: str = ""
    last_exit_code: int | None = None


class Cluster(Protocol):
    async def list_pods(self, *, namespace: str, label_selector: str = "") -> list[Pod]:
        """Pods of `namespace` (optionally `app=shop-api,tier in (web)`), with their container states."""
        ...

    async def pod_logs(
        self,
        *,
        namespace: str,
        pod: str,
        container: str | None = None,
        previous: bool = False,
        since_seconds: int | None = None,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
    ) -> str:
        """A container's log; `previous` reads the run before the last restart."""
        ...

    async def events(
        self, *, namespace: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[Event]:
        """Events of `namespace` seen within [since, until], oldest first."""
        ...

    async def describe(
        self, *, namespace: str, kind: WorkloadKind, name: str | None = None, label_selector: str = ""
    ) -> list[Description]:
        """One workload by `name`, or every one of `kind` in `namespace` (matching `label_selector`)."""
        ...

    async def restart_signals(self, *, namespace: str, label_selector: str = "") -> list[RestartSignal]:
        """Restarts and OOM kills per container of the matching pods."""
        ...
