"""The durable runner with port doubles: outbox delivery, retries with backoff, timers, stalls."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from appliance.bootstrap import Appliance
from appliance.contracts.entities import Role
from appliance.contracts.webhooks import AlertmanagerWebhook
from appliance.ports.errors import PermanentError, TransientError
from appliance.services import actions, alerts, queries
from appliance.services.access import Principal
from tests.conftest import golden
from tests.support.doubles import FakeClock, RecordingCi


async def _open(appliance: Appliance) -> str:
    payload = msgspec.convert(golden("alertmanager", "webhook_firing.json"), AlertmanagerWebhook)
    accepted = await alerts.receive_alertmanager(appliance.ctx, payload)
    [instance] = accepted.instances
    return instance


async def _state(appliance: Appliance, id: str) -> dict[str, Any]:
    return (await queries.instance(appliance.ctx, "incident", id)).state


async def test_effect_is_carried_out_once_with_key_and_callback_token(
    appliance: Appliance, ci: RecordingCi
) -> None:
    incident = await _open(appliance)
    assert ci.calls == []  # nothing leaves the process before the dispatcher runs
    assert await appliance.dispatcher.tick() == 1
    [(job, key, params)] = ci.calls
    assert (job, key) == ("schedule-evidence-collector", f"{incident}:schedule-evidence-collector:1")
    assert params["PATHOPS_IDEMPOTENCY_KEY"] == key
    assert params["CALLBACK_TOKEN"].startswith("cb-")
    assert params["target_namespace"] == "checkout-production"
    assert await appliance.dispatcher.tick() == 0  # done rows are not delivered again
    async with appliance.store.read() as r:
        [row] = await r.outbox(instance=incident)
    assert row.status == "done"


async def test_transient_failure_retries_with_backoff_and_the_same_key(
    appliance: Appliance, ci: RecordingCi, clock: FakeClock
) -> None:
    await _open(appliance)
    ci.fail = [TransientError("503"), TransientError("503")]
    await appliance.dispatcher.tick()
    assert len(ci.calls) == 1
    await appliance.dispatcher.tick()
    assert len(ci.calls) == 1  # not due yet: backoff
    clock.advance(seconds=2)
    await appliance.dispatcher.tick()
    clock.advance(seconds=4)
    await appliance.dispatcher.tick()
    assert len(ci.calls) == 3
    assert len({key for _, key, _ in ci.calls}) == 1
    assert len(ci.runs) == 1


async def test_permanent_failure_stalls_visibly_until_a_person_retries(
    appliance: Appliance, ci: RecordingCi, clock: FakeClock
) -> None:
    incident = await _open(appliance)
    ci.fail = [PermanentError("job not found")]
    await appliance.dispatcher.tick()
    row = await queries.instance(appliance.ctx, "incident", incident)
    assert row.phase == "stalled"
    assert row.state["reason"] == "schedule-evidence-collector failed: job not found"
    assert row.state["steps"][-1]["outcome"] == "stalled"
    owner = Principal(name="admin", role=Role.OWNER)
    applied = await actions.act(appliance.ctx, owner, kind="incident", id=incident, action="retry")
    assert applied.phase == "collecting-evidence"
    await appliance.dispatcher.tick()
    assert [key.rsplit(":", 1)[1] for _, key, _ in ci.calls] == ["1", "2"]  # a fresh key, so CI runs again
    assert len(ci.runs) == 1


async def test_timeouts_retry_then_stall_with_a_reason(
    appliance: Appliance, ci: RecordingCi, clock: FakeClock
) -> None:
    incident = await _open(appliance)
    await appliance.dispatcher.tick()
    for attempt in (2, 3):
        clock.advance(minutes=10, seconds=1)
        await appliance.dispatcher.tick()
        await appliance.dispatcher.tick()
        assert (await _state(appliance, incident))["attempt"] == attempt
    clock.advance(minutes=10, seconds=1)
    await appliance.dispatcher.tick()
    row = await queries.instance(appliance.ctx, "incident", incident)
    assert row.phase == "stalled"
    assert row.state["reason"] == "stalled: no evidence callback in 10m"
    assert len(ci.runs) == 3
    async with appliance.store.read() as r:
        assert await r.timers(instance=incident) == []


@pytest.mark.parametrize("repeat", [1, 2])
async def test_redelivered_alert_event_is_dropped_by_the_log(appliance: Appliance, repeat: int) -> None:
    incident = await _open(appliance)
    for _ in range(repeat):
        await _open(appliance)
    events = await queries.events(appliance.ctx, "incident", incident)
    assert [e.name for e in events] == ["alert_fired"]


async def test_the_engine_is_a_runner_and_submit_is_idempotent(appliance: Appliance) -> None:
    from appliance.contracts.workflow import Envelope, Event
    from appliance.ports.runner import Runner

    runner: Runner = appliance.ctx.engine
    event = Event(name="alert_fired", data={"fingerprint": "fp-x", "labels": {"app": "shop-api"}})
    envelope = Envelope(
        id="e-1", instance="inc-x", kind="incident", at=appliance.ctx.clock.now(), actor="t", event=event
    )
    first = await runner.submit(envelope)
    again = await runner.submit(envelope)
    assert (first.phase, first.duplicate) == ("collecting-evidence", False)
    assert (again.phase, again.duplicate) == ("collecting-evidence", True)
