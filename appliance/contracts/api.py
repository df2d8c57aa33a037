"""Shapes of the control-plane API: separate read and write structs per purpose."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from appliance.contracts.entities import Role

Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class InstanceRead(msgspec.Struct, frozen=True, kw_only=True):
    """An incident, change set, artifact or preflight run: its phase and its whole state."""

    id: str
    kind: str
    phase: str
    final: bool
    project: str
    created_at: datetime
    updated_at: datetime
    state: dict[str, Any]


class EventRead(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    id: str
    at: datetime
    actor: str
    name: str
    data: dict[str, Any]


class AuditRead(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    outcome: str
    links: dict[str, str]
    detail: str


class EvidenceRead(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    incident: str
    summary: str
    pointers: dict[str, str]
    created_at: datetime


class UserCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: Name
    role: Role


class UserRead(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: Role
    created_at: datetime


class TokenCreate(msgspec.Struct, frozen=True, kw_only=True):
    user: Name
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""


class TokenIssued(msgspec.Struct, frozen=True, kw_only=True):
    """The only time a token is shown: store it, PathOps keeps just its hash."""

    user: str
    token: str


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """Body of approve / reject / promote / close actions."""

    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class Status(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    projects: list[str]
    instances: dict[str, dict[str, int]]
    outbox_pending: int
    outbox_failed: int
    timers: int


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int
    detail: str


class FeatureCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A request for change: one change set across `apps` (all of the project's, if none named)."""

    project: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    description: Annotated[str, msgspec.Meta(max_length=20_000)] = ""
    apps: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]], msgspec.Meta(max_length=50)
    ] = []
