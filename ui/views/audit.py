"""The audit trail, newest first: who or what did what to which object, with what outcome. Refusals
are written outside the engine, so this view also looks again every few seconds."""

from __future__ import annotations

from nicegui import ui

from appliance.contracts.api import AuditRead
from appliance.services import queries
from ui.session import Console
from ui.views.common import LiveSection, link, tag, when

LIMIT = 100
EVERY_S = 2.0


async def load(console: Console) -> list[AuditRead]:
    return await queries.audit(console.ctx, limit=LIMIT)


def draw(console: Console, rows: list[AuditRead]) -> None:
    if not rows:
        ui.label("The audit trail is empty.")
        return
    for row in rows:
        colour = "text-negative" if row.outcome == "denied" else ""
        with tag(ui.row().classes(f"w-full gap-2 items-baseline {colour}"), "audit-row"):
            ui.label(when(row.at)).classes("text-caption")
            ui.label(row.actor).classes("text-bold")
            ui.label(row.action)
            ui.label(row.object)
            ui.label(row.outcome)
            ui.label(row.detail).classes("text-caption")
            for name, url in row.links.items():
                if url.startswith(("http://", "https://")):
                    link(name, url)


def view(console: Console) -> LiveSection[list[AuditRead]]:
    return LiveSection("audit", console, load, draw, every=EVERY_S)
