"""The runner of the durable state machines, as a port.

The default runner is `services.engine.Engine` on SQLite: it appends the event, calls the machine's
pure `decide`, and stores state, outbox and timers in one transaction. A distributed host (Temporal:
events in as signals, effects out as activities) implements the same `submit`, with no change to
`appliance/logic`; the machines are plain functions of (state, event, now).
"""

from __future__ import annotations

from typing import Protocol

from appliance.contracts.workflow import Applied, Envelope


class Runner(Protocol):
    async def submit(self, envelope: Envelope) -> Applied:
        """Deliver one event to its instance (created by its first event); a redelivered id is a no-op."""
        ...
