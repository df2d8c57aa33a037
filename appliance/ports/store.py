"""Durable state: machine instances, the event log, the outbox, timers, audit, users, tokens.

Everything that must change together happens inside one `Tx` (one SQLite write transaction): an
event appended, the instance's new state, its outbox rows and timers. Reads outside a transaction
use `Store.read()`, which sees the last committed state.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

import msgspec

from appliance.contracts.entities import Role


class InstanceRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    phase: str
    final: bool
    project: str
    correlation: str  # what finds this instance from outside: an alert fingerprint, a branch
    state: bytes  # msgspec JSON of the machine's state
    version: int
    created_at: datetime
    updated_at: datetime


class OutboxRow(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    instance: str
    kind: str
    effect: bytes
    status: str  # pending | done | failed
    attempts: int
    due_at: datetime
    last_error: str = ""


class TimerRow(msgspec.Struct, frozen=True, kw_only=True):
    instance: str
    kind: str
    name: str
    fire_at: datetime
    event: bytes


class AuditRow(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    outcome: str
    links: dict[str, str] = {}
    detail: str = ""


class EventRow(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    id: str
    instance: str
    at: datetime
    actor: str
    name: str
    data: dict[str, Any]


class UserRow(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: Role
    created_at: datetime


class CallbackTokenRow(msgspec.Struct, frozen=True, kw_only=True):
    instance: str
    job: str
    key: str
    expires_at: datetime
    used_at: datetime | None
    request_digest: str = ""


class EvidenceRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    incident: str
    summary: str
    pointers: dict[str, str]
    created_at: datetime


class Reader(Protocol):
    async def instance(self, id: str) -> InstanceRow | None: ...
    async def instances(
        self,
        *,
        kind: str,
        project: str | None = None,
        phase: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[InstanceRow]: ...
    async def open_instance(self, *, kind: str, correlation: str) -> InstanceRow | None: ...
    async def events(self, instance: str) -> list[EventRow]: ...
    async def audit(
        self, *, limit: int = 100, offset: int = 0, object: str | None = None
    ) -> list[AuditRow]: ...
    async def user(self, name: str) -> UserRow | None: ...
    async def users(self) -> list[UserRow]: ...
    async def user_for_token(self, token_hash: str) -> UserRow | None: ...
    async def callback_token(self, token_hash: str) -> CallbackTokenRow | None: ...
    async def projects(self) -> list[tuple[str, bytes]]: ...
    async def project(self, name: str) -> bytes | None: ...
    async def evidence(self, id: str) -> EvidenceRow | None: ...
    async def evidence_list(self, *, incident: str | None = None, limit: int = 100) -> list[EvidenceRow]: ...
    async def outbox(self, *, instance: str | None = None, status: str | None = None) -> list[OutboxRow]: ...
    async def timers(self, *, instance: str | None = None) -> list[TimerRow]: ...
    async def counts(self) -> dict[str, dict[str, int]]: ...


class Tx(Reader, Protocol):
    async def append_event(
        self, *, id: str, instance: str, at: datetime, actor: str, name: str, data: bytes
    ) -> bool:
        """False when an event with this id was already logged for the instance (a redelivery)."""
        ...

    async def save_instance(self, row: InstanceRow, *, expected_version: int) -> None: ...
    async def add_outbox(
        self, *, key: str, instance: str, kind: str, effect: bytes, due_at: datetime
    ) -> bool: ...
    async def outbox_done(self, key: str, *, at: datetime, result: str = "") -> None: ...
    async def outbox_retry(self, key: str, *, attempts: int, due_at: datetime, error: str) -> None: ...
    async def outbox_failed(self, key: str, *, attempts: int, error: str) -> None: ...
    async def set_timer(
        self, *, instance: str, kind: str, name: str, fire_at: datetime, event: bytes
    ) -> None: ...
    async def cancel_timer(self, *, instance: str, name: str) -> None: ...
    async def add_audit(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        object: str,
        outcome: str,
        links: dict[str, str],
        detail: str,
    ) -> None: ...
    async def add_user(self, *, name: str, role: Role, at: datetime) -> None: ...
    async def add_api_token(self, *, token_hash: str, user: str, label: str, at: datetime) -> None: ...
    async def add_callback_token(
        self, *, token_hash: str, instance: str, job: str, key: str, expires_at: datetime
    ) -> None: ...
    async def use_callback_token(self, token_hash: str, *, at: datetime, request_digest: str) -> None: ...
    async def put_project(self, name: str, meta: bytes, *, at: datetime) -> None: ...
    async def add_evidence(self, row: EvidenceRow) -> bool: ...


class Store(Protocol):
    def read(self) -> AbstractAsyncContextManager[Reader]: ...
    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...
    async def due_outbox(self, now: datetime, *, limit: int = 50) -> Sequence[OutboxRow]: ...
    async def due_timers(self, now: datetime, *, limit: int = 50) -> Sequence[TimerRow]: ...
    async def next_due(self) -> datetime | None: ...
