"""What the waiting machines (change set, artifact, preflight) share: step records and retry rounds.

A machine that waits for a callback arms the timer `step`, whose event is `timeout {phase, attempt}`.
Attempts are counted per waiting phase and never start again at 1 inside it: a person's `retry` of
a stalled wait opens a new *round* at the next attempt. So every CI trigger gets a fresh idempotency
key `{id}:{job}:{attempt}` (the outbox drops a repeated key), and a late timer or failure of an
earlier attempt is recognised as stale and ignored. A round allows `max_attempts` attempts.

A `job_failed` says which attempt failed through `attempt` or through the outbox `key` it came from
(`...:{attempt}`); one that says neither is taken to be about the current attempt.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec

from appliance.contracts.workflow import Event, Notify, StartTimer, StepRecord
from appliance.logic.machine import InvalidEvent

TIMER = "step"
P = TypeVar("P")


def record(
    steps: tuple[StepRecord, ...],
    *,
    at: datetime,
    step: str,
    outcome: str,
    message: str = "",
    retries: int = 0,
) -> tuple[StepRecord, ...]:
    """`steps` and one more record; a record equal to the last one is not added again, so an event
    that is only noted (a viewer's approval, a health report) changes nothing when it comes twice."""
    new = StepRecord(at=at, step=step, outcome=outcome, message=message, retries=retries)
    return steps if steps and steps[-1] == new else (*steps, new)


def can_retry(attempt: int, round_start: int, max_attempts: int) -> bool:
    """Whether the round that began at `round_start` has an attempt left after `attempt`."""
    return attempt - round_start + 1 < max_attempts


def timer(phase: str, attempt: int, at: datetime) -> StartTimer:
    return StartTimer(
        name=TIMER, at=at, event=Event(name="timeout", data={"phase": phase, "attempt": attempt})
    )


def is_current_timeout(event: Event, phase: str, attempt: int) -> bool:
    """A `timeout` counts only for the wait that armed it (same phase, same attempt)."""
    return event.data.get("phase") == phase and _as_int(event.data.get("attempt")) == attempt


def failed_attempt(event: Event) -> int | None:
    """The attempt a `job_failed` is about: its `attempt`, or the last part of its `key`, or None."""
    attempt = _as_int(event.data.get("attempt"))
    if attempt is not None:
        return attempt
    key = event.data.get("key")
    return _as_int(key.rsplit(":", 1)[-1]) if isinstance(key, str) and ":" in key else None


def is_stale_failure(event: Event, attempt: int) -> bool:
    failed = failed_attempt(event)
    return failed is not None and failed != attempt


def notify(kind: str, instance: str, what: str, message: str, links: dict[str, str] | None = None) -> Notify:
    """A console/MR notice keyed `{instance}:notify:{what}` (`what` must name one occasion)."""
    text = f"{kind} {instance} {message}"
    return Notify(key=f"{instance}:notify:{what}", topic=kind, message=text, links=links or {})


def policy_of(event: Event, policy: type[P]) -> P:
    """The start event's optional `policy` (timeouts, attempts), or the defaults."""
    try:
        return msgspec.convert(event.data.get("policy") or {}, policy)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(f"event {event.name!r} has a bad policy: {exc}") from None


def number(event: Event, field: str) -> float | None:
    """An optional numeric field (a risk score); InvalidEvent if it is there and not a number."""
    value = event.data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvent(f"event {event.name!r} has a {field} that is not a number: {value!r}")
    return float(value)


def minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60}m" if seconds >= 60 and seconds % 60 == 0 else f"{seconds}s"


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def slug(text: str, default: str) -> str:
    """A branch-name part from free text: lower-case words joined by "-", at most 40 characters."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].rstrip("-") or default
