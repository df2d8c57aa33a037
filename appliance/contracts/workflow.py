"""What the durable state machines take in and give out.

A machine is `decide(state, event, now) -> Decision(state, effects)`. Events come in wrapped in an
`Envelope` (id for deduplication, time, actor). Effects are data: the shell carries them out.
Effects that leave the process (`TriggerJob`, `Notify`) go through the transactional outbox and
carry an idempotency `key`; `StartTimer`/`CancelTimer`/`Send` are applied inside the same
transaction as the state change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One thing that happened to one instance. `name` picks the transition; `data` its inputs."""

    name: str
    data: dict[str, Any] = {}


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # unique per instance: a redelivered event with the same id is dropped
    instance: str
    kind: str
    at: datetime
    actor: str
    event: Event


class TriggerJob(msgspec.Struct, frozen=True, kw_only=True, tag="trigger_job"):
    """Ask CI to run `job` with `params`. `key` makes a repeated delivery harmless."""

    key: str
    job: str
    params: dict[str, str]
    callback: bool = True  # a per-job callback token is minted and passed as CALLBACK_TOKEN
    delay_s: float = 0.0  # not before this many seconds after the decision (retry backoff)


class Notify(msgspec.Struct, frozen=True, kw_only=True, tag="notify"):
    """Tell people (console push, MR comment): best effort, but still through the outbox."""

    key: str
    topic: str
    message: str
    links: dict[str, str] = {}


class StartTimer(msgspec.Struct, frozen=True, kw_only=True, tag="start_timer"):
    name: str  # one armed timer per (instance, name); starting it again re-arms it
    at: datetime
    event: Event


class CancelTimer(msgspec.Struct, frozen=True, kw_only=True, tag="cancel_timer"):
    name: str


class Send(msgspec.Struct, frozen=True, kw_only=True, tag="send"):
    """Deliver `event` to another instance (created on first event) in the same transaction."""

    kind: str
    instance: str
    event_id: str
    event: Event


Effect = TriggerJob | Notify | StartTimer | CancelTimer | Send
OUTBOX_EFFECTS = (TriggerJob, Notify)


class Applied(msgspec.Struct, frozen=True, kw_only=True):
    """What became of an event: the instance's phase after it, or that it was a redelivery."""

    instance: str
    kind: str
    phase: str
    duplicate: bool = False


class StepRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A step of a run as people see it: what happened, when, and how it went."""

    at: datetime
    step: str
    outcome: str  # "ok" | "waiting" | "retry" | "failed" | "stalled" | "ignored"
    message: str = ""
    retries: int = 0
