"""What every view shares: a live section that reloads on `live.changed`, actions with their
refusals shown, and small helpers to mark elements for the tests (`.mark` and `data-testid`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from nicegui import ui

from appliance.contracts.entities import ID_PREFIXES
from appliance.services import actions
from appliance.services.errors import ServiceError
from ui import live
from ui.session import Console

T = TypeVar("T")
E = TypeVar("E", bound=ui.element)


def tag(element: E, name: str) -> E:
    """Mark `element` for the User fixture tests and the browser tests alike."""
    element.mark(name)
    element.props(f"data-testid={name}")
    return element


def when(at: datetime | str) -> str:
    text = at.isoformat() if isinstance(at, datetime) else str(at)
    return text[:19].replace("T", " ")


KINDS = ID_PREFIXES
_API_OBJECT = re.compile(r"/api/(?:incidents|changesets|artifacts|preflights)/([^/?#]+)$")


def console_url(url: str) -> str:
    """The console's page of an object the API names (`.../api/incidents/<id>` -> `/objects/<id>`):
    the API wants a token, the console has the login; other URLs are kept."""
    found = _API_OBJECT.search(url)
    return f"/objects/{found[1]}" if found else url


def link(text: str, url: str) -> None:
    """A link into another system (GitLab, Argo CD...), opened beside the console."""
    if url.startswith(("http://", "https://")):
        ui.link(text, url, new_tab=True).classes("text-primary underline")
    else:
        ui.label(text)


def facts(state: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """`label` filled with the value of each key of `state` that is set, in the order of `labels`."""
    return [label.format(state[key]) for key, label in labels.items() if state.get(key)]


def facts_line(facts: list[str], row: Any) -> None:
    """A row's facts, when it changed last, and in red the reason it stopped or failed."""
    ui.label("; ".join([*facts, f"updated {when(row.updated_at)}"])).classes("text-caption")
    if row.state.get("reason"):
        ui.label(str(row.state["reason"])).classes("text-negative text-caption")


class LiveSection(Generic[T]):
    """A section that loads its data through services and draws it; reloaded after every commit
    (`live.changed`) and, with `every`, on a timer for what changes outside the engine. Redraws
    only when the data differ; a load that fails shows the refusal instead."""

    def __init__(
        self,
        name: str,
        console: Console,
        load: Callable[[Console], Awaitable[T]],
        draw: Callable[[Console, T], None],
        *,
        every: float | None = None,
    ) -> None:
        self.name, self.console, self.load, self.draw = name, console, load, draw
        self.message = tag(ui.label("").classes("text-negative"), f"{name}-message")
        self.message.set_visibility(False)
        self.container = tag(ui.column().classes("w-full gap-1"), f"{name}-view")
        self._last: Any = object()
        self._busy = False
        self._again = False
        live.changed.subscribe(self.refresh)
        if every:
            ui.timer(every, self.refresh)

    def say(self, text: str) -> None:
        """Show (or, with "", hide) a message above the section: a refusal, an action's outcome."""
        self.message.set_text(text)
        self.message.set_visibility(bool(text))

    async def refresh(self, *, force: bool = False) -> None:
        if self._busy:
            self._again = True
            return
        self._busy = True
        try:
            self._again = True
            while self._again and not self.container.is_deleted:
                self._again = False
                try:
                    data: Any = await self.load(self.console)
                except ServiceError as exc:
                    data = exc
                if not force and _same(data, self._last):
                    continue
                force = False
                self._last = data
                self.container.clear()
                with self.container:
                    if isinstance(data, ServiceError):
                        ui.label(str(data)).classes("text-negative")
                    else:
                        self.draw(self.console, data)
        finally:
            self._busy = False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return a is b
    return bool(a == b)


async def attempt(
    console: Console, *, kind: str, id: str, action: str, section: LiveSection[Any] | None = None
) -> bool:
    """Take `action` on `kind` `id` as the logged-in user; a refusal is shown, never raised."""
    try:
        applied = await actions.act(console.ctx, console.who, kind=kind, id=id, action=action)
    except ServiceError as exc:
        text = f"{action} {id} refused: {exc}"
        ui.notify(text, type="negative")
        if section is not None:
            section.say(text)
        live.notify()  # the refusal is in the audit trail now
        return False
    text = f"{action} {id}: now {applied.phase}"
    ui.notify(text, type="positive")
    if section is not None:
        section.say("")
    return True


def action_button(
    console: Console, section: LiveSection[Any], *, kind: str, id: str, action: str, label: str
) -> None:
    """The button for `action`, shown only if the user's role may take it."""
    if not console.can(kind, action):
        return

    async def click() -> None:
        await attempt(console, kind=kind, id=id, action=action, section=section)

    tag(ui.button(label, on_click=click).props("dense flat no-caps"), f"{action}-{id}")
