"""Artifacts and their promotion state (`built` → `not-promotable` → `verified` → `promoted`, or
`rejected`), with the promote button for the roles that may (owners)."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.contracts.api import InstanceRead
from appliance.services import queries
from ui.session import Console
from ui.views.common import LiveSection, action_button, facts, facts_line, tag

FACTS = {"stage": "stage {} (never promoted)", "report_id": "evidence: report {}",
         "approved_by": "approved by {}", "changeset_id": "change set {}"}  # fmt: skip
LIFECYCLE = {"building": "built", "promoting": "verified, promoting"}


async def load(console: Console) -> list[InstanceRead]:
    return await queries.instances(console.ctx, "artifact", limit=50)


def promotable(row: InstanceRead) -> bool:
    return row.phase == "verified" and not row.state.get("stage")


def draw(console: Console, rows: list[InstanceRead], section: LiveSection[Any]) -> None:
    if not rows:
        ui.label("No artifacts yet.")
        return
    for row in rows:
        s = row.state
        with tag(ui.card().classes("w-full"), "artifact-row"), ui.row().classes("items-center gap-2"):
            ui.label(row.id).classes("text-bold")
            tag(ui.badge(LIFECYCLE.get(row.phase, row.phase)), f"phase-{row.id}")
            ui.label(f"{s.get('app', '')} {str(s.get('commit_sha', ''))[:12]} {s.get('image', '')}")
            if promotable(row):
                action_button(console, section, kind="artifact", id=row.id, action="promote", label="promote")
            facts_line(facts(s, FACTS), row)


def view(console: Console) -> LiveSection[list[InstanceRead]]:
    section: LiveSection[list[InstanceRead]] = LiveSection(
        "artifacts", console, load, lambda c, rows: draw(c, rows, section)
    )
    return section
