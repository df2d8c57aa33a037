"""The project map: per project its apps, components, environments (with autonomy levels) and the
dependency graph, drawn as a Mermaid diagram; the deploy order follows the dependencies."""

from __future__ import annotations

from nicegui import ui

from appliance.contracts.entities import ProjectMeta
from appliance.services import features, projects
from ui.session import Console
from ui.views.common import LiveSection, tag

AUTONOMY = {0: "suggest only", 1: "auto-apply in preflight", 2: "auto-merge low risk", 3: "auto-remediate"}


async def load(console: Console) -> list[ProjectMeta]:
    return await projects.all_(console.ctx)


def mermaid(meta: ProjectMeta) -> str:
    """`graph LR` of the project: an arrow from each app to what it depends on."""
    lines = ["graph LR"]
    for app in meta.apps:
        lines.append(f'  {_node(app.name)}["{app.name} ({app.kind})"]')
    for component in meta.components:
        lines.append(f'  {_node(component.name)}[("{component.name} ({component.kind})")]')
    for app in meta.apps:
        lines += [f"  {_node(app.name)} --> {_node(dep)}" for dep in app.depends_on]
    return "\n".join(lines)


def _node(name: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in name)


def deploy_order(meta: ProjectMeta) -> list[str]:
    apps = [a.name for a in meta.apps]
    return features.plan(apps, {a.name: list(a.depends_on) for a in meta.apps})


def draw(console: Console, metas: list[ProjectMeta]) -> None:
    if not metas:
        ui.label("No projects yet: load a project's meta description (pathops demo seeds `shop`).")
        return
    for meta in metas:
        with tag(ui.card().classes("w-full"), f"project-{meta.name}"):
            ui.label(f"{meta.name}").classes("text-h6")
            ui.label(f"autonomy {int(meta.autonomy)}: {AUTONOMY.get(int(meta.autonomy), '')}")
            with ui.row().classes("w-full gap-8"):
                with ui.column():
                    ui.label("apps").classes("text-bold")
                    for app in meta.apps:
                        deps = ", ".join(app.depends_on) or "nothing"
                        tag(ui.label(f"{app.name} ({app.kind}) depends on {deps}"), "app-row")
                    ui.label("components").classes("text-bold")
                    for component in meta.components:
                        tag(ui.label(f"{component.name} ({component.kind})"), "component-row")
                with ui.column():
                    ui.label("environments").classes("text-bold")
                    for env in meta.environments:
                        text = f"{env.name}: autonomy {int(env.autonomy)} ({AUTONOMY.get(int(env.autonomy))})"
                        tag(ui.label(text), "environment-row")
                    ui.label("deploy order").classes("text-bold")
                    ui.label(" → ".join(deploy_order(meta)))
            tag(ui.mermaid(mermaid(meta)), f"graph-{meta.name}")


def view(console: Console) -> LiveSection[list[ProjectMeta]]:
    return LiveSection("map", console, load, draw)
