"""Registry of every durable state machine, by kind: what the engine hosts and `Send` may address."""

from __future__ import annotations

from typing import Any

from appliance.logic import artifact, changeset, incident, lane, preflight
from appliance.logic.machine import Machine

MACHINES: dict[str, Machine[Any]] = {
    incident.KIND: incident.MACHINE,
    changeset.KIND: changeset.MACHINE,
    artifact.KIND: artifact.MACHINE,
    preflight.KIND: preflight.MACHINE,
    lane.KIND: lane.MACHINE,
}
