"""The durable runner: load state -> `decide` -> save state, log, outbox and timers in one transaction.

`Engine.submit(envelope)` is the only way an event reaches a machine. It appends the event to the
log (a redelivered event id is dropped there), runs the machine's pure `decide`, saves the new state
and turns the effects into rows: outgoing calls into the outbox (keyed for idempotency), timers into
the timer table, `Send` into further events delivered in the same transaction. Nothing leaves the
process here; the `Dispatcher` carries out the outbox after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import msgspec

from appliance.contracts.workflow import (
    Applied,
    CancelTimer,
    Envelope,
    Notify,
    Send,
    StartTimer,
    TriggerJob,
)
from appliance.logic.machine import InvalidEvent, Machine
from appliance.ports.store import InstanceRow, Store, Tx
from appliance.services.crashpoints import Crashpoints

log = logging.getLogger(__name__)

MAX_SEND_DEPTH = 8


class Engine:
    def __init__(
        self,
        *,
        store: Store,
        machines: Mapping[str, Machine[Any]],
        crashpoints: Crashpoints | None = None,
        on_commit: Callable[[], None] = lambda: None,
        start_defaults: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.store = store
        self.machines = machines
        # what the first event of a new instance of a kind gets when it does not say (the settings'
        # incident policy, for an incident a preflight opened as much as one an alert opened)
        self.start_defaults = dict(start_defaults or {})
        self.crash = crashpoints or Crashpoints()
        self.on_commit = on_commit
        # zero-arg callables told after each commit (the console's live views); they must not raise
        self.listeners: list[Callable[[], None]] = []

    def machine(self, kind: str) -> Machine[Any]:
        try:
            return self.machines[kind]
        except KeyError:
            raise InvalidEvent(f"no machine of kind {kind!r}") from None

    def decode(self, row: InstanceRow) -> Any:
        return msgspec.json.decode(row.state, type=self.machine(row.kind).state_type)

    async def submit(self, envelope: Envelope) -> Applied:
        async with self.store.transaction() as tx:
            applied = await self.deliver(tx, envelope)
        self.committed()
        return applied

    def committed(self) -> None:
        """Call after committing a transaction that delivered events: wakes the dispatcher."""
        self.crash.hit("state-committed")
        self.on_commit()
        for listener in list(self.listeners):
            listener()

    async def deliver(self, tx: Tx, env: Envelope, *, depth: int = 0) -> Applied:
        """Apply one event inside the caller's transaction (raises InvalidEvent to roll it all back)."""
        machine = self.machine(env.kind)
        row = await tx.instance(env.instance)
        if row is not None and row.kind != env.kind:
            raise InvalidEvent(f"{env.instance} is a {row.kind}, not a {env.kind}")
        defaults = self.start_defaults.get(env.kind) if row is None else None
        if defaults:
            env = msgspec.structs.replace(
                env, event=msgspec.structs.replace(env.event, data={**defaults, **env.event.data})
            )
        data = msgspec.json.encode(env.event.data)
        fresh = await tx.append_event(
            id=env.id, instance=env.instance, at=env.at, actor=env.actor, name=env.event.name, data=data
        )
        if not fresh:
            phase = row.phase if row else ""
            return Applied(instance=env.instance, kind=env.kind, phase=phase, duplicate=True)
        state = None if row is None else self.decode(row)
        decision = machine.decide(state, env.instance, env.event, env.at)
        new = decision.state
        await tx.save_instance(
            InstanceRow(
                id=env.instance,
                kind=env.kind,
                phase=machine.phase(new),
                final=machine.is_final(new),
                project=machine.project(new),
                correlation=machine.correlation(new),
                state=msgspec.json.encode(new),
                version=(row.version if row else 0) + 1,
                created_at=row.created_at if row else env.at,
                updated_at=env.at,
            ),
            expected_version=row.version if row else 0,
        )
        self.crash.hit("event-appended")
        for effect in decision.effects:
            if isinstance(effect, TriggerJob | Notify):
                delay = timedelta(seconds=effect.delay_s if isinstance(effect, TriggerJob) else 0)
                await tx.add_outbox(
                    key=effect.key,
                    instance=env.instance,
                    kind=env.kind,
                    effect=msgspec.json.encode(effect),
                    due_at=env.at + delay,
                )
            elif isinstance(effect, StartTimer):
                await tx.set_timer(
                    instance=env.instance,
                    kind=env.kind,
                    name=effect.name,
                    fire_at=effect.at,
                    event=msgspec.json.encode(effect.event),
                )
            elif isinstance(effect, CancelTimer):
                await tx.cancel_timer(instance=env.instance, name=effect.name)
            elif isinstance(effect, Send):
                if depth >= MAX_SEND_DEPTH:
                    raise RuntimeError(f"events bounce between machines more than {MAX_SEND_DEPTH} times")
                child = Envelope(
                    id=effect.event_id,
                    instance=effect.instance,
                    kind=effect.kind,
                    at=env.at,
                    actor=f"{env.kind}:{env.instance}",
                    event=effect.event,
                )
                await self.deliver(tx, child, depth=depth + 1)
        log.info(
            "%s %s: %s -> %s",
            env.kind,
            env.instance,
            env.event.name,
            machine.phase(new),
            extra={"instance": env.instance},
        )
        return Applied(instance=env.instance, kind=env.kind, phase=machine.phase(new))
