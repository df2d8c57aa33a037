"""The guided scenario playback panel (/playback): choose, play, pause, step, speed, and watch.

The play runs on the demo itself (`LiveTarget`) in a worker thread; the appliance's one `Player`
(ui.player) paces it and keeps what it did. Every tab showing this panel draws from that player and
re-renders when it changes, so a second tab watches the playback the first one started. Only an owner
may start or steer a playback (it acts as the owner on the demo); others watch.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import weakref
from typing import TypeVar

from nicegui import Event, core, ui
from nicegui.events import ValueChangeEventArguments

from appliance.contracts.entities import Role
from appliance.contracts.settings import Settings
from appliance.scenarios import runner
from appliance.scenarios.conformance import catalog
from appliance.scenarios.live import LiveTarget, playable
from appliance.scenarios.model import Scenario
from ui import player as players
from ui.player import SPEEDS, Busy, Player, Snapshot
from ui.sequence import Diagram, Row, diagram
from ui.session import Console
from ui.views.common import console_url

CSS = """
.pb-lanes{display:grid;grid-template-columns:repeat(12,minmax(4.5rem,1fr));}
.pb-head{grid-row:1;text-align:center;font-size:.8rem;padding:.25rem;margin:0 .125rem;
  border:1px solid #cbd5e1;border-radius:.375rem;background:#f8fafc}
.pb-head.person{border-radius:999px}
.pb-head.active{background:#fde68a;border-color:#d97706;font-weight:700}
.pb-line{grid-row:1;justify-self:center;width:1px;background:#cbd5e1;min-height:2.5rem}
.pb-arrow{grid-row:1;align-self:end;position:relative;margin-bottom:.6rem;border-bottom:2px solid #475569}
.pb-arrow.right::after,.pb-arrow.left::before{content:'';position:absolute;bottom:-5px;
  border-top:4px solid transparent;border-bottom:4px solid transparent}
.pb-arrow.right::after{right:-1px;border-left:8px solid #475569}
.pb-arrow.left::before{left:-1px;border-right:8px solid #475569}
.pb-arrow.self{border:2px solid #475569;height:1.6rem;margin-bottom:.3rem}
.pb-arrow.self.out-right{border-left:none;border-radius:0 .5rem .5rem 0}
.pb-arrow.self.out-left{border-right:none;border-radius:.5rem 0 0 .5rem}
.pb-label{display:block;width:max-content;margin:0 auto;padding:0 .4rem;font-size:.72rem;
  white-space:nowrap;position:relative;z-index:1;background:rgba(255,255,255,.75);border-radius:.25rem}
.pb-row{border-left:4px solid transparent;padding:0 .25rem}
.pb-row.current{background:#fef3c7;border-left-color:#d97706}
.pb-row.passed{border-left-color:#16a34a}
.pb-row.failed{border-left-color:#dc2626;background:#fef2f2}
.pb-row.skipped{opacity:.55}
"""
LANES = 12
E = TypeVar("E", bound=ui.element)
_pushes: weakref.WeakKeyDictionary[Player, Event[[]]] = weakref.WeakKeyDictionary()


@functools.cache
def scenarios() -> tuple[Scenario, ...]:
    """The catalog (shipped with the package, so read once)."""
    return tuple(catalog())


def player_for(console: Console) -> Player:
    """The appliance's one player, wired to push its changes to every tab showing the panel."""
    player = players.shared(str(console.appliance.settings.data_dir))
    if player not in _pushes:
        push: Event[[]] = Event()
        _pushes[player] = push
        player.listeners.append(functools.partial(_emit, push))
    return player


def launch(player: Player, scenario: Scenario, settings: Settings) -> None:
    """Play `scenario` on this appliance in a worker thread (begun on `player` already)."""
    target = LiveTarget(url=settings.base_url, data_dir=settings.data_dir)
    work = functools.partial(player.run, lambda observer: runner.play(scenario, target, observer=observer))
    threading.Thread(target=work, name=f"playback-{scenario.name}", daemon=True).start()


def panel(console: Console) -> None:
    _Panel(console)


def _emit(push: Event[[]]) -> None:
    """Fire `push` on NiceGUI's loop, from whichever thread the player changed in."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if core.loop is not None and not core.loop.is_closed():
            core.loop.call_soon_threadsafe(push.emit)
        return
    push.emit()


def _mark(element: E, name: str) -> E:
    return element.mark(name).props(f"data-testid={name}")


class _ScenarioSelect(ui.select):
    """A select that lists every scenario but greys out (Quasar `disable`) those in `disabled`."""

    def __init__(self, options: dict[str, str], *, disabled: frozenset[str], **kwargs: object) -> None:
        self._disabled = disabled
        super().__init__(options, **kwargs)  # type: ignore[arg-type]

    def _update_options(self) -> None:
        super()._update_options()
        self._props["options"] = [{**option, "disable": self._values[option["value"]] in self._disabled}
                                  for option in self._props["options"]]  # fmt: skip


class _Panel:
    """One tab's view of the player: the controls, the narration, the diagram and the verdict."""

    def __init__(self, console: Console) -> None:
        self.console, self.player = console, player_for(console)
        self.owner = console.who.role == Role.OWNER
        self.catalog = {s.name: s for s in scenarios()}
        self.why_not = {s.name: why for s in self.catalog.values() if (why := playable(s))}
        snap = self.player.snapshot()
        first = next((name for name in self.catalog if name not in self.why_not), next(iter(self.catalog)))
        self.chosen = snap.scenario.name if snap.scenario else first
        self.shown = ""  # the scenario the diagram is built for
        self.heads: dict[str, ui.element] = {}
        self.rows: dict[str, tuple[ui.element, Row | None]] = {}
        ui.add_css(CSS)
        with ui.column().classes("w-full gap-2"):
            self.controls()
            self.note = _mark(ui.label(), "playback-note").classes("text-sm text-gray-600")
            self.narration = _mark(ui.card(), "narration").classes("w-full bg-slate-50")
            self.diagram = ui.column().classes("w-full gap-0")
            self.verdict = ui.column().classes("w-full")
        _pushes[self.player].subscribe(self.update)
        self.update()

    def controls(self) -> None:
        options = {n: f"{n} (not live: {self.why_not[n]})" if n in self.why_not else n for n in self.catalog}
        with ui.row().classes("items-center gap-2"):
            self.select = _ScenarioSelect(options, disabled=frozenset(self.why_not), value=self.chosen,
                                          label="scenario", on_change=self.choose).classes("min-w-72")  # fmt: skip
            _mark(self.select, "scenario-select")
            self.play = _mark(ui.button("play", icon="play_arrow", on_click=self.on_play), "play")
            self.pause = _mark(ui.button("pause", icon="pause", on_click=self.on_pause), "pause")
            self.step = _mark(ui.button("step", icon="skip_next", on_click=self.on_step), "step")
            speeds = {s: f"{s:g}x" for s in SPEEDS}
            self.speed = ui.select(speeds, value=self.player.snapshot().speed, label="speed",
                                   on_change=self.on_speed).classes("w-24")  # fmt: skip
            _mark(self.speed, "speed")

    # -- handlers

    def choose(self, event: object) -> None:
        self.chosen = str(self.select.value)
        self.update()

    def on_play(self) -> None:  # the buttons are disabled for others; a crafted click does nothing either
        if not self.owner:
            return
        if self.player.snapshot().active:
            self.player.play()
        else:
            self.start(paused=False)

    def on_pause(self) -> None:
        if self.owner:
            self.player.pause()

    def on_speed(self, event: ValueChangeEventArguments[float]) -> None:
        if self.owner:
            self.player.set_speed(float(event.value))

    def on_step(self) -> None:
        if not self.owner:
            return
        if not self.player.snapshot().active:
            self.start(paused=True)
        self.player.step()

    def start(self, *, paused: bool) -> None:
        scenario = self.catalog[self.chosen]
        if not self.owner or scenario.name in self.why_not:
            return
        try:
            self.player.begin(scenario, by=self.console.who.name, paused=paused)
        except Busy as busy:
            ui.notify(str(busy), type="warning")
            return
        launch(self.player, scenario, self.console.appliance.settings)

    # -- drawing

    def update(self) -> None:
        """Bring the panel up to the player's state, redrawing only the rows that changed."""
        snap = self.player.snapshot()
        if snap.active and snap.scenario is not None:
            self.chosen = snap.scenario.name
        self.sync(snap)
        scenario = self.catalog[self.chosen]
        own = snap.scenario is not None and snap.scenario.name == scenario.name
        drawn = diagram(scenario.steps, snap.verdicts if own else {}, snap.current if own else None)
        if self.shown != scenario.name:
            self.build(drawn)
            self.shown = scenario.name
        self.narration.clear()
        with self.narration:
            _narration(scenario, drawn, snap if own else None)
        for lane in drawn.lifelines:
            names = ["pb-head"] + ["person"] * lane.person + ["active"] * (lane.name == drawn.active)
            self.heads[lane.name].classes(replace=" ".join(names))
        for row in drawn.rows:
            box, before = self.rows[row.step_id]
            if row != before:
                box.clear()
                with box.classes(replace=f"pb-row {row.status} w-full"):
                    _row(row)
                self.rows[row.step_id] = (box, row)
        self.verdict.clear()
        if own and snap.mode == "done":
            with self.verdict:
                _verdict(snap)

    def build(self, drawn: Diagram) -> None:
        """The lifelines' heads and an (empty) box per step of the scenario now shown."""
        self.diagram.clear()
        with self.diagram:
            with ui.element("div").classes("pb-row w-full"), ui.element("div").classes("pb-lanes w-full"):
                for column, lane in enumerate(drawn.lifelines, 1):
                    head = _mark(ui.label(lane.title), f"actor-{lane.name}").style(f"grid-column:{column}")
                    self.heads[lane.name] = head
            self.rows = {
                row.step_id: (_mark(ui.element("div"), f"step-{row.step_id}"), None) for row in drawn.rows
            }

    def sync(self, snap: Snapshot) -> None:
        startable = self.owner and not snap.active and self.chosen not in self.why_not
        self.select.value = self.chosen
        self.select.set_enabled(not snap.active)
        self.play.set_enabled(startable or (self.owner and snap.mode == "paused"))
        self.pause.set_enabled(self.owner and snap.mode == "playing")
        self.step.set_enabled(startable or (self.owner and snap.active))
        self.speed.value = snap.speed
        self.speed.set_enabled(self.owner)
        if not self.owner:
            note = "Only an owner can play a scenario; you can watch one an owner plays."
        elif snap.active and snap.scenario is not None:
            note = f"{snap.by} is playing {snap.scenario.name} on this appliance."
        else:
            note = self.why_not.get(self.chosen, "")
        self.note.set_text(note)


def _narration(scenario: Scenario, drawn: Diagram, snap: Snapshot | None) -> None:
    row = drawn.current
    if row is None:
        ui.label(scenario.title).classes("font-semibold")
        ui.label(f"{len(drawn.rows)} steps").classes("text-sm text-gray-600")
        return
    title = next(lane.title for lane in drawn.lifelines if lane.name == row.arrow.source)
    ui.label(f"Step {row.n} of {len(drawn.rows)} · {title}").classes("text-sm text-gray-600")
    ui.label(row.narration).classes("font-semibold")
    if row.why:
        ui.label(row.why).classes("italic text-gray-700")
    if snap is not None:
        ui.label(_pace(snap)).classes("text-xs text-gray-500")


def _pace(snap: Snapshot) -> str:
    if snap.mode == "paused" and snap.waiting:
        return "paused: press play to go on, or step to play this step alone"
    if snap.waiting:
        return f"playing at {snap.speed:g}x: this step starts after {snap.dwell_s:g} s to read"
    return "this step is being played"


def _row(row: Row) -> None:
    """A step's arrow across the lifelines, and under it its number, status, detail and links."""
    with ui.element("div").classes("pb-lanes w-full"):
        for column in range(1, LANES + 1):
            ui.element("div").classes("pb-line").style(f"grid-column:{column}")
        first, last = row.arrow.columns
        shape: str = row.arrow.direction
        if shape == "self":  # a loop out of the lifeline into the next column (or the one before)
            first, last = (first, first + 1) if first + 1 < LANES else (first - 1, first)
            shape = "self out-right" if first == row.arrow.columns[0] else "self out-left"
        inset = 50 / (last - first + 1)
        place = f"grid-column:{first + 1}/{last + 2};margin-left:{inset}%;margin-right:{inset}%"
        with ui.element("div").classes(f"pb-arrow {shape}").style(place):
            ui.label(row.arrow.label).classes("pb-label").tooltip(row.narration)
    with ui.row().classes("items-baseline gap-3 text-xs pl-2 pb-1"):
        ui.label(f"{row.n}. {row.step_id}").classes("font-mono")
        ui.label(row.status if row.status != "passed" else f"passed in {row.seconds:g} s")
        if row.detail:
            ui.label(row.detail).classes("text-gray-700")
        for text, url in row.links:
            ui.link(text, console_url(url), new_tab=True).classes("text-blue-700")


def _verdict(snap: Snapshot) -> None:
    result = snap.result
    with _mark(ui.card(), "verdict").classes("w-full"):
        if result is None:
            ui.label("failed").classes("text-lg font-bold text-red-700")
            ui.label(snap.error)
            return
        color = "text-green-700" if result.status == "passed" else "text-red-700"
        ui.label(f"{result.status} in {result.seconds:.0f} s").classes(f"text-lg font-bold {color}")
        failed = next((step for step in result.steps if step.status == "failed"), None)
        if failed is not None:
            ui.label(f"step {failed.id} failed: {failed.detail}")
        if result.checks:
            ui.label("least-privilege checks").classes("font-semibold")
        for check in result.checks:
            ui.label(f"{check.name}: {check.status}{f' ({check.detail})' if check.detail else ''}")
