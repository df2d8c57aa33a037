"""The Lane machine: one app's preflight namespace, lent to one preflight run at a time.

Two runs deploying to `<app>-preflight` at once would judge each other's deploys (verification of
the wrong image is no evidence). So an artifact does not start its run itself: it queues it here
(`enqueue {preflight_id, started}`), and the lane sends the run its `started` when the namespace
is free. A run hands the namespace back when it ends (`released {preflight_id}`: passed, failed or
closed); a stalled run keeps it until a person retries or closes it. A run released before its
turn leaves the queue; a run that had its turn is not queued again. The lane never ends; `phase` is
`busy` or `idle`.

Instance id: `lane-{project}-{app}` (`lane_id`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from appliance.contracts.workflow import Event, Send, StepRecord
from appliance.logic.machine import Decision, InvalidEvent, Machine, require

KIND = "lane"
BUSY = "busy"
IDLE = "idle"
HISTORY = 20  # steps kept
DONE = 100  # released runs remembered (the engine's event ids guard beyond that)


def lane_id(project: str, app: str) -> str:
    return f"lane-{project}-{app}"


class Queued(msgspec.Struct, frozen=True, kw_only=True):
    preflight_id: str
    started: dict[str, Any]
    at: datetime


class LaneState(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    project: str
    app: str
    updated_at: datetime
    active: str | None = None
    queue: tuple[Queued, ...] = ()
    done: tuple[str, ...] = ()
    steps: tuple[StepRecord, ...] = ()

    @property
    def phase(self) -> str:
        return BUSY if self.active else IDLE


def _note(s: LaneState, now: datetime, step: str, message: str) -> LaneState:
    record = StepRecord(at=now, step=step, outcome="ok", message=message)
    return msgspec.structs.replace(s, steps=(*s.steps, record)[-HISTORY:], updated_at=now)


def _start(s: LaneState, item: Queued, now: datetime) -> Decision[LaneState]:
    s = _note(msgspec.structs.replace(s, active=item.preflight_id), now, "start", item.preflight_id)
    started = Event(name="started", data=item.started)
    send = Send(
        kind="preflight", instance=item.preflight_id, event_id=f"{item.preflight_id}:started", event=started
    )
    return Decision(s, (send,))


def decide(state: LaneState | None, instance: str, event: Event, now: datetime) -> Decision[LaneState]:
    if event.name not in ("enqueue", "released"):
        raise InvalidEvent(f"lane has no event {event.name!r}")
    run, project, app = (str(v) for v in require(event, "preflight_id", "project", "app"))
    if state is None:
        state = LaneState(id=instance, project=project, app=app, updated_at=now)
    s, ignore = state, Decision(state)
    if event.name == "enqueue":
        started = event.data.get("started")
        if not isinstance(started, dict):
            raise InvalidEvent("event 'enqueue' needs field 'started' (the run's start event data)")
        if run == s.active or run in s.done or any(q.preflight_id == run for q in s.queue):
            return ignore  # already there, or had its turn
        item = Queued(preflight_id=run, started=dict(started), at=now)
        if s.active is None:
            return _start(s, item, now)
        return Decision(
            _note(
                msgspec.structs.replace(s, queue=(*s.queue, item)), now, "queued", f"{run} after {s.active}"
            )
        )
    if run != s.active:
        rest = tuple(q for q in s.queue if q.preflight_id != run)
        if rest == s.queue:
            return ignore
        left = msgspec.structs.replace(s, queue=rest, done=(*s.done, run)[-DONE:])
        return Decision(_note(left, now, "left", run))
    s = msgspec.structs.replace(s, active=None, done=(*s.done, run)[-DONE:])
    s = _note(s, now, "released", run)
    if not s.queue:
        return Decision(s)
    return _start(msgspec.structs.replace(s, queue=s.queue[1:]), s.queue[0], now)


MACHINE: Machine[LaneState] = Machine(
    kind=KIND,
    state_type=LaneState,
    decide=decide,
    is_final=lambda s: False,
    phase=lambda s: s.phase,
    correlation=lambda s: s.app,
)
