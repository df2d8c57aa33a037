"""GitOps: the state of an Argo CD application, and asking it to sync or refresh.

Argo CD is the only thing that applies workloads; PathOps reads applications and requests syncs.
There is no wait here: services poll `get_app` on their own timers.
"""

from __future__ import annotations

from typing import Protocol

import msgspec


class AppResource(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    name: str
    namespace: str = ""
    group: str = ""
    sync_status: str = ""  # Synced, OutOfSync
    health: str = ""  # Healthy, Progressing, Degraded, Missing, Suspended, Unknown ("" for no check)
    health_message: str = ""


class AppStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    sync_status: str  # Synced, OutOfSync, Unknown
    health: str  # Healthy, Progressing, Degraded, Missing, Suspended, Unknown
    health_message: str = ""
    revision: str = ""  # the git commit the live state was compared to
    operation_phase: str = ""  # Running, Succeeded, Failed, Error, Terminating ("" before any sync)
    operation_message: str = ""
    resources: tuple[AppResource, ...] = ()
    images: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()  # e.g. "ComparisonError: git clone failed"


class GitOps(Protocol):
    async def get_app(self, *, name: str) -> AppStatus:
        """The application's last known status (no reconciliation forced)."""
        ...

    async def sync(self, *, name: str, revision: str | None = None, prune: bool = False) -> AppStatus:
        """Ask for a sync to `revision` (default: the app's target revision)."""
        ...

    async def refresh(self, *, name: str) -> AppStatus:
        """Compare git with the cluster now (a normal refresh), then return the status."""
        ...
