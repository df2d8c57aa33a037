"""Deploy status per environment: for each app, its newest preflight run (phase, image, Argo CD
revision and health, verification report) and what runs in production: the newest promotion, or
the release a level-3 rollback went back to since (appliance/services/production.py); and what is
being promoted."""

from __future__ import annotations

from dataclasses import dataclass, field

from nicegui import ui

from appliance.contracts.api import InstanceRead
from appliance.logic.rollback import Release
from appliance.services import production, queries
from ui.session import Console
from ui.views.common import LiveSection, tag, when


@dataclass(frozen=True)
class AppDeploys:
    project: str
    app: str
    preflight: InstanceRead | None = None
    production: Release | None = None  # what production runs
    promoting: InstanceRead | None = None
    history: list[str] = field(default_factory=list)


async def load(console: Console) -> list[AppDeploys]:
    runs = await queries.instances(console.ctx, "preflight", limit=200)
    artifacts = await queries.instances(console.ctx, "artifact", limit=200)
    histories = await production.everywhere(console.ctx)
    keys = sorted({(r.project, str(r.state.get("app", ""))) for r in [*runs, *artifacts]} | set(histories))
    found = []
    for project, app in keys:
        mine = [r for r in runs if (r.project, r.state.get("app")) == (project, app)]
        promoting = [a for a in artifacts if (a.project, a.state.get("app")) == (project, app)
                     and a.phase == "promoting"]  # fmt: skip
        history = histories.get((project, app), production.History())
        now = history.running
        before = sorted((r for r in history.promoted if now is None or r.artifact_id != now.artifact_id),
                        key=lambda r: r.at, reverse=True)  # fmt: skip
        found.append(
            AppDeploys(
                project=project,
                app=app,
                preflight=_newest(mine),
                production=now,
                promoting=_newest(promoting),
                history=[f"{r.artifact_id} (promoted)" for r in before[:3]],
            )
        )
    return found


def _at(row: InstanceRead) -> str:
    return row.updated_at.isoformat()


def _newest(rows: list[InstanceRead]) -> InstanceRead | None:
    return max(rows, key=_at) if rows else None


def draw(console: Console, apps: list[AppDeploys]) -> None:
    if not apps:
        ui.label("Nothing deployed yet: preflight runs and promotions appear here.")
        return
    for entry in apps:
        with tag(ui.card().classes("w-full"), "deploy-row"):
            ui.label(f"{entry.project} / {entry.app}").classes("text-bold")
            pf = entry.preflight
            if pf is None:
                ui.label("preflight: no run yet")
            else:
                s = pf.state
                health = f", {s['health']}" if s.get("health") else ""
                report = f", report {s['report_id']}" if s.get("report_id") else ""
                text = f"preflight: {pf.phase} {s.get('image') or s.get('artifact_id', '')}{health}{report}"
                tag(ui.label(f"{text} ({when(pf.updated_at)})"), f"deploy-{entry.app}-preflight")
                if s.get("reason"):
                    ui.label(str(s["reason"])).classes("text-negative text-caption")
            prod = entry.production
            text = "production: nothing promoted yet"
            if prod is not None:
                how = f"rolled back to by {prod.by}" if prod.by else "promoted"
                text = f"production: {prod.image} ({prod.artifact_id}, {how} {when(prod.at)})"
            tag(ui.label(text), f"deploy-{entry.app}-production")
            if entry.promoting is not None:
                ui.label(f"being promoted: {entry.promoting.id}").classes("text-caption")
            if entry.history:
                ui.label("before: " + ", ".join(entry.history)).classes("text-caption")


def view(console: Console) -> LiveSection[list[AppDeploys]]:
    return LiveSection("deploys", console, load, draw)
