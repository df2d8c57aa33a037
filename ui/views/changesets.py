"""Change sets: state, their merge requests (links into GitLab), deploy order, what each app reached,
and approve/reject for the roles that may."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.contracts.api import InstanceRead
from appliance.services import queries
from ui.session import Console
from ui.views.common import LiveSection, action_button, facts, facts_line, link, tag

FACTS = {"approved_by": "approved by {}", "waiting_for": "waits for {}"}
APPROVABLE = ("open",)
REJECTABLE = ("open", "approved")


async def load(console: Console) -> list[InstanceRead]:
    return await queries.instances(console.ctx, "changeset", limit=50)


def merge_requests(state: dict[str, Any]) -> dict[str, str]:
    """app -> MR URL (several apps: one MR each; one app: `mr_url`)."""
    mrs = dict(state.get("mrs") or {})
    if not mrs and state.get("mr_url"):
        apps = state.get("apps") or ["mr"]
        mrs = {str(apps[0]): str(state["mr_url"])}
    return mrs


def draw(console: Console, rows: list[InstanceRead], section: LiveSection[Any]) -> None:
    if not rows:
        ui.label("No change sets yet.")
        return
    for row in rows:
        s = row.state
        with tag(ui.card().classes("w-full"), "changeset-row"):
            with ui.row().classes("items-center gap-2"):
                ui.label(row.id).classes("text-bold")
                tag(ui.badge(row.phase), f"phase-{row.id}")
                ui.label(f"{row.project}: {s.get('title', '')}")
                if row.phase in APPROVABLE:
                    action_button(
                        console, section, kind="changeset", id=row.id, action="approve", label="approve"
                    )
                if row.phase in REJECTABLE:
                    action_button(
                        console, section, kind="changeset", id=row.id, action="reject", label="reject"
                    )
            apps = list(s.get("apps") or [])
            merged, released = set(s.get("merged_apps") or []), set(s.get("released") or [])
            order = " → ".join(
                f"{a}{' ✓' if a in merged else ''}{' ▶' if a in released else ''}" for a in apps
            )
            ui.label(f"deploy order: {order}  (origin {s.get('origin', '')}, branch {s.get('branch', '')})")
            with ui.row().classes("gap-4"):
                for app, url in merge_requests(s).items():
                    link(f"MR {app}", url)
            known = [f"risk {s['risk']}"] if s.get("risk") is not None else []  # a risk of 0 is said too
            known += facts(s, FACTS)
            if s.get("reports"):
                known.append("reports " + ", ".join(f"{a}: {r}" for a, r in s["reports"].items()))
            facts_line(known, row)


def view(console: Console) -> LiveSection[list[InstanceRead]]:
    section: LiveSection[list[InstanceRead]] = LiveSection(
        "changesets", console, load, lambda c, rows: draw(c, rows, section)
    )
    return section
