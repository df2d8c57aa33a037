"""Incidents, newest first, each with its timeline: the events it received (who sent what, when)
and the steps it took; a link to its evidence."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from appliance.contracts.api import EventRead, InstanceRead
from appliance.services import queries
from ui.session import Console
from ui.views.common import LiveSection, link, tag, when

LIMIT = 30


@dataclass(frozen=True)
class Incident:
    row: InstanceRead
    events: list[EventRead]


async def load(console: Console) -> list[Incident]:
    rows = await queries.instances(console.ctx, "incident", limit=LIMIT)
    return [Incident(row, await queries.events(console.ctx, "incident", row.id)) for row in rows]


def describe(event: EventRead) -> str:
    data = event.data
    for key in ("summary", "reason", "snapshot_id", "mr_url", "changeset_id", "patch_id"):
        if data.get(key):
            return f"{key.replace('_', ' ')}: {data[key]}"
    return ""


def draw(
    console: Console,
    incidents: list[Incident],
    show_evidence: Callable[[str], Any] | None,
    opened: set[str] | None = None,
) -> None:
    """`opened`: the incidents whose rows the person opened; they stay open when the view redraws."""
    if not incidents:
        ui.label("No incidents. An alert from Alertmanager opens one.")
        return
    opened = set() if opened is None else opened
    for item in incidents:
        row, s = item.row, item.row.state
        title = f"{row.id} {row.phase} {s.get('classification', '')} {s.get('app', '')}/{s.get('env', '')}"
        expansion = ui.expansion(title, value=row.id in opened, on_value_change=_remember(opened, row.id))
        with tag(expansion.classes("w-full"), "incident-row"):
            tag(ui.label(str(s.get("summary", ""))), f"summary-{row.id}")
            if s.get("reason"):
                ui.label(str(s["reason"])).classes("text-negative")
            with ui.row().classes("gap-4 items-center"):
                if s.get("mr_url"):
                    link("merge request", str(s["mr_url"]))
                if s.get("changeset_id"):
                    ui.label(f"change set {s['changeset_id']}")
                if s.get("snapshot_id") and show_evidence is not None:
                    _evidence_button(row.id, show_evidence)
            with tag(ui.timeline(side="right").classes("w-full"), f"timeline-{row.id}"):
                for event in item.events:
                    ui.timeline_entry(
                        describe(event), title=event.name, subtitle=f"{when(event.at)} {event.actor}"
                    )
            steps = s.get("steps") or []
            if steps:
                ui.label("steps").classes("text-bold")
                for step in steps:
                    message = f": {step.get('message')}" if step.get("message") else ""
                    ui.label(
                        f"{when(step.get('at', ''))} {step.get('step')} {step.get('outcome')}{message}"
                    ).classes("text-caption")


def _remember(opened: set[str], incident: str) -> Callable[[ValueChangeEventArguments[bool]], None]:
    def change(event: ValueChangeEventArguments[bool]) -> None:
        (opened.add if event.value else opened.discard)(incident)

    return change


def _evidence_button(incident: str, show_evidence: Callable[[str], Any]) -> None:
    async def click() -> None:
        result = show_evidence(incident)
        if inspect.isawaitable(result):
            await result

    tag(ui.button("evidence", on_click=click).props("dense flat no-caps"), f"evidence-{incident}")


def view(console: Console, show_evidence: Callable[[str], Any] | None = None) -> LiveSection[list[Incident]]:
    opened: set[str] = set()  # per browser tab, for as long as the page lives
    return LiveSection("incidents", console, load, lambda c, rows: draw(c, rows, show_evidence, opened))
