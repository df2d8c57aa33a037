"""Carries out the outbox and fires timers, after commit, at least once.

Each outbox row is one effect with an idempotency key. A `TransientError` reschedules it with
backoff; a `PermanentError` (or too many transient ones) marks it failed and tells the machine with a
`job_failed` event, so the failure is data the API and console can show. A crash between calling
CI and marking the row done means the call is made again with the same key: CI adapters must treat a
repeated key as the same run.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import msgspec

from appliance.contracts.workflow import Envelope, Event, Notify, TriggerJob
from appliance.logic.machine import backoff
from appliance.ports.ci import Ci
from appliance.ports.clock import Clock
from appliance.ports.errors import PermanentError, TransientError
from appliance.ports.notifier import Notifier
from appliance.ports.store import OutboxRow, Store, TimerRow
from appliance.services.crashpoints import Crashpoints
from appliance.services.engine import Engine
from appliance.services.tokens import CallbackMinter, digest

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        *,
        store: Store,
        engine: Engine,
        ci: Ci,
        notifier: Notifier,
        clock: Clock,
        minter: CallbackMinter,
        callback_url: str,
        token_ttl: timedelta = timedelta(hours=2),
        max_attempts: int = 8,
        idle_poll: float = 5.0,
        crashpoints: Crashpoints | None = None,
    ) -> None:
        self.store, self.engine, self.ci, self.notifier, self.clock = store, engine, ci, notifier, clock
        self.minter, self.callback_url, self.token_ttl = minter, callback_url, token_ttl
        self.max_attempts, self.idle_poll = max_attempts, idle_poll
        self.crash = crashpoints or Crashpoints()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set: deliver what is due, then sleep until the next due time or a wake."""
        while not stop.is_set():
            self._wake.clear()
            busy = await self.tick()
            if busy:
                continue
            due = await self.store.next_due()
            delay = self.idle_poll
            if due is not None:
                delay = max(0.0, min(delay, (due - self.clock.now()).total_seconds()))
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()

    async def tick(self) -> int:
        now = self.clock.now()
        done = 0
        for timer in await self.store.due_timers(now):
            await self.fire(timer, now)
            done += 1
        for row in await self.store.due_outbox(now):
            await self.carry_out(row)
            done += 1
        return done

    async def fire(self, timer: TimerRow, now: datetime) -> None:
        event = msgspec.json.decode(timer.event, type=Event)
        envelope = Envelope(
            id=f"timer:{timer.name}:{timer.fire_at.isoformat()}",
            instance=timer.instance,
            kind=timer.kind,
            at=now,
            actor="timer",
            event=event,
        )
        async with self.store.transaction() as tx:
            current = [t for t in await tx.timers(instance=timer.instance) if t.name == timer.name]
            if not current or current[0].fire_at != timer.fire_at:
                return  # re-armed or cancelled meanwhile
            await tx.cancel_timer(instance=timer.instance, name=timer.name)
            await self.engine.deliver(tx, envelope)
        self.crash.hit("timer-fired")

    async def carry_out(self, row: OutboxRow) -> None:
        effect = msgspec.json.decode(row.effect, type=TriggerJob | Notify)
        attempts = row.attempts + 1
        try:
            if isinstance(effect, TriggerJob):
                result = await self._trigger(row, effect)
            else:
                await self.notifier.publish(
                    topic=effect.topic, message=effect.message, links=effect.links, key=effect.key
                )
                result = "published"
        except TransientError as exc:
            await self._retry(row, effect, attempts, exc)
            return
        except PermanentError as exc:
            await self._fail(row, effect, attempts, str(exc), permanent=True)
            return
        async with self.store.transaction() as tx:
            await tx.outbox_done(row.key, at=self.clock.now(), result=result)
            await tx.add_audit(
                at=self.clock.now(),
                actor="pathops",
                action=_action(effect),
                object=row.instance,
                outcome="ok",
                links={"key": row.key},
                detail=result,
            )
        self.crash.hit("outbox-done")

    async def _trigger(self, row: OutboxRow, effect: TriggerJob) -> str:
        params = dict(effect.params)
        if effect.callback:
            token = self.minter.mint(effect.key)
            async with self.store.transaction() as tx:
                await tx.add_callback_token(
                    token_hash=digest(token),
                    instance=row.instance,
                    job=effect.job,
                    key=effect.key,
                    expires_at=self.clock.now() + self.token_ttl,
                )
            self.crash.hit("token-minted")
            params |= {"CALLBACK_TOKEN": token, "CALLBACK_URL": self.callback_url}
        params["PATHOPS_IDEMPOTENCY_KEY"] = effect.key
        run = await self.ci.trigger(job=effect.job, params=params, key=effect.key)
        self.crash.hit("job-triggered")
        return f"{effect.job} {'already queued' if run.duplicate else 'queued'} {run.queue_url}".strip()

    async def _retry(
        self, row: OutboxRow, effect: TriggerJob | Notify, attempts: int, exc: TransientError
    ) -> None:
        if attempts >= self.max_attempts:
            await self._fail(
                row, effect, attempts, f"gave up after {attempts} attempts: {exc}", permanent=False
            )
            return
        delay = timedelta(seconds=exc.delay) if exc.delay else backoff(attempts)
        log.warning("%s: attempt %d failed (%s); retry in %s", row.key, attempts, exc, delay)
        async with self.store.transaction() as tx:
            await tx.outbox_retry(row.key, attempts=attempts, due_at=self.clock.now() + delay, error=str(exc))

    async def _fail(
        self, row: OutboxRow, effect: TriggerJob | Notify, attempts: int, error: str, *, permanent: bool
    ) -> None:
        log.error("%s failed: %s", row.key, error)
        async with self.store.transaction() as tx:
            await tx.outbox_failed(row.key, attempts=attempts, error=error)
            await tx.add_audit(
                at=self.clock.now(),
                actor="pathops",
                action=_action(effect),
                object=row.instance,
                outcome="failed",
                links={"key": row.key},
                detail=error,
            )
            if isinstance(effect, TriggerJob):
                event = Event(
                    name="job_failed",
                    data={"job": effect.job, "reason": error, "permanent": permanent, "key": effect.key},
                )
                envelope = Envelope(
                    id=f"outbox-failed:{row.key}",
                    instance=row.instance,
                    kind=row.kind,
                    at=self.clock.now(),
                    actor="pathops",
                    event=event,
                )
                await self.engine.deliver(tx, envelope)


def _action(effect: TriggerJob | Notify) -> str:
    return f"ci.trigger {effect.job}" if isinstance(effect, TriggerJob) else f"notify {effect.topic}"
