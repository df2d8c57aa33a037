"""The shape every durable state machine shares.

A machine is pure: `decide(state, instance, event, now) -> Decision(state, effects)`. `state` is
None before the first event. An event the machine does not expect in its current phase (a duplicate,
a late or out-of-order callback) is ignored: the same state comes back with no effects, so redelivery
never changes the outcome. An event whose data is malformed raises `InvalidEvent`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from appliance.contracts.workflow import Effect, Event

S = TypeVar("S")


class InvalidEvent(ValueError):
    """The event cannot be applied to this machine at all (missing field, unknown name)."""


@dataclass(frozen=True)
class Decision(Generic[S]):
    state: S
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class Machine(Generic[S]):
    kind: str
    state_type: type[S]
    decide: Callable[[S | None, str, Event, datetime], Decision[S]]
    is_final: Callable[[S], bool]
    phase: Callable[[S], str]
    project: Callable[[S], str] = lambda s: str(getattr(s, "project", ""))
    # what finds an open instance from outside (an alert fingerprint, an MR branch)
    correlation: Callable[[S], str] = lambda s: str(getattr(s, "fingerprint", "") or getattr(s, "branch", ""))


def require(event: Event, *fields: str) -> tuple[Any, ...]:
    """The named fields of `event.data`, or InvalidEvent naming the first one missing."""
    missing = [f for f in fields if event.data.get(f) in (None, "")]
    if missing:
        raise InvalidEvent(f"event {event.name!r} needs field {missing[0]!r}")
    return tuple(event.data[f] for f in fields)


def backoff(
    attempt: int, *, base: timedelta = timedelta(seconds=2), cap: timedelta = timedelta(minutes=5)
) -> timedelta:
    """Exponential backoff for the `attempt`-th retry (1-based), capped."""
    delay: timedelta = base * (2 ** max(0, attempt - 1))
    return min(cap, delay)
