"""The console's pages: /login, / (the chat beside the live views) and /playback.

`register()` defines them; it is called at startup (ui.asgi.build, the UI tests), never at import.
Pages without a login redirect to /login. The chat (`ui.chat.panel`) and the playback panel
(`ui.playback.panel`) are composed here inside the shared chrome (`frame`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from appliance.services import queries
from appliance.services.errors import ServiceError
from ui import chat, playback, session
from ui.session import Console
from ui.views import artifacts, audit, changesets, deploys, evidence, incidents, project_map
from ui.views.common import KINDS, link, tag, when

TABS = (
    ("map", "map"),
    ("changesets", "changes"),
    ("deploys", "deploys"),
    ("incidents", "incidents"),
    ("evidence", "evidence"),
    ("artifacts", "artifacts"),
    ("audit", "audit"),
)


@contextlib.contextmanager
def frame(console: Console, title: str) -> Iterator[None]:
    """The chrome of every page: a header with the product, the user and logout."""
    ui.page_title(f"PathOps: {title}")
    with ui.header().classes("items-center gap-4 bg-slate-800"):
        ui.link("PathOps", "/").classes("text-white text-h6 no-underline")
        ui.link("console", "/").classes("text-white")
        ui.link("playback", "/playback").classes("text-white")
        ui.space()
        tag(ui.label(f"{console.who.name} ({console.who.role})"), "whoami")

        def leave() -> None:
            session.logout()
            ui.navigate.to("/login")

        tag(ui.button("logout", on_click=leave).props("flat color=white no-caps"), "logout")
    yield


def register() -> None:
    @ui.page("/login")
    async def login_page() -> Any:
        if await session.verified_console() is not None:
            return RedirectResponse("/")
        ui.page_title("PathOps: log in")
        with ui.card().classes("absolute-center w-96"):
            ui.label("PathOps").classes("text-h5")
            ui.label("Log in with your user name and an API token.").classes("text-caption")
            name = tag(ui.input("user name").classes("w-full"), "login-name")
            token = tag(ui.input("API token", password=True).classes("w-full"), "login-token")
            error = tag(ui.label("").classes("text-negative"), "login-error")
            error.set_visibility(False)

            async def submit() -> None:
                try:
                    await session.login(str(name.value or ""), str(token.value or ""))
                except ServiceError as exc:
                    token.set_value("")
                    error.set_text(f"Login failed: {exc}")
                    error.set_visibility(True)
                    return
                ui.navigate.to("/")

            token.on("keydown.enter", submit)
            tag(ui.button("log in", on_click=submit).classes("w-full"), "login-submit")
        return None

    @ui.page("/")
    async def console_page() -> Any:
        console = await session.verified_console()
        if console is None:
            return RedirectResponse("/login")
        with frame(console, "console"), ui.row().classes("w-full no-wrap gap-4 items-start"):
            with ui.column().classes("w-1/2 min-w-0"):
                chat.panel(console)
            with ui.column().classes("w-1/2 min-w-0"):
                await _views(console)
        return None

    @ui.page("/playback")
    async def playback_page() -> Any:
        console = await session.verified_console()
        if console is None:
            return RedirectResponse("/login")
        with frame(console, "scenario playback"), ui.column().classes("w-full"):
            playback.panel(console)
        return None

    @ui.page("/objects/{id}")
    async def object_page(id: str) -> Any:
        """One incident, change set, artifact or preflight run: its phase, state and events (the
        links of the playback's steps lead here)."""
        console = await session.verified_console()
        if console is None:
            return RedirectResponse("/login")
        with frame(console, id), ui.column().classes("w-full"):
            await _object(console, id)
        return None


async def _views(console: Console) -> None:
    with ui.tabs().props("dense no-caps").classes("w-full") as tabs:
        tab = {key: tag(ui.tab(key, label), f"tab-{key}") for key, label in TABS}
    with ui.tab_panels(tabs, value=tab["map"]).classes("w-full") as panels:
        with ui.tab_panel(tab["map"]):
            sections: list[Any] = [project_map.view(console)]
        with ui.tab_panel(tab["changesets"]):
            sections.append(changesets.view(console))
        with ui.tab_panel(tab["deploys"]):
            sections.append(deploys.view(console))
        with ui.tab_panel(tab["evidence"]):
            viewer = evidence.view(console)
            sections.append(viewer.section)

        async def show_evidence(incident: str) -> None:
            tabs.set_value("evidence")
            await viewer.show_incident(incident)

        with ui.tab_panel(tab["incidents"]):
            sections.append(incidents.view(console, show_evidence))
        with ui.tab_panel(tab["artifacts"]):
            sections.append(artifacts.view(console))
        with ui.tab_panel(tab["audit"]):
            sections.append(audit.view(console))
    for section in sections:
        await section.refresh()
    tag(panels, "views-ready")  # every view has drawn once (tests wait for it)


async def _object(console: Console, id: str) -> None:
    kind = next((k for prefix, k in KINDS.items() if id.startswith(prefix)), None)
    try:
        if kind is None:
            raise ServiceError(f"{id!r} names no incident, change set, artifact or preflight run")
        row = await queries.instance(console.ctx, kind, id)
        events = await queries.events(console.ctx, kind, id)
    except ServiceError as exc:
        tag(ui.label(str(exc)).classes("text-negative"), "object-message")
        return
    tag(ui.label(f"{kind} {row.id}: {row.phase}").classes("text-h6"), "object-title")
    for key in ("mr_url", "web_url"):
        if row.state.get(key):
            link(key.replace("_", " "), str(row.state[key]))
    tag(
        ui.code(json.dumps(row.state, indent=2, default=str), language="json").classes("w-full"),
        "object-state",
    )
    with tag(ui.timeline(side="right").classes("w-full"), "object-events"):
        for event in events:
            ui.timeline_entry(json.dumps(event.data, default=str)[:500], title=event.name,
                              subtitle=f"{when(event.at)} by {event.actor}")  # fmt: skip
