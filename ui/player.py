"""One appliance's guided playback: the scenario being played, its pace and what each step gave.

A `Player` is the runner's Observer. The play runs in a worker thread; `started` blocks there while
the playback is paused, or for the dwell (the time people get to read a step's narration, divided by
the speed), and `finished` records each step's verdict. Buttons call `play`, `pause`, `step` and
`set_speed` from the UI's thread. Every change bumps `version` and calls the `listeners` (from
whichever thread made it, outside the lock); the panel turns that into a NiceGUI event.

There is one player per appliance (`shared`), so a second browser tab watches the playback the first
one started instead of starting another. No NiceGUI here: the tests drive it directly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from appliance.scenarios.model import Scenario, Step
from appliance.scenarios.runner import Observer
from appliance.scenarios.verdict import ScenarioVerdict, StepVerdict

log = logging.getLogger(__name__)

Mode = Literal["idle", "playing", "paused", "done"]
SPEEDS = (0.5, 1.0, 2.0, 4.0)
DWELL_S = 2.0  # reading time before each step at 1x


class Busy(Exception):
    """A playback is already running on this appliance: watch it, or wait for its verdict."""


class Stopped(Exception):
    """The playback was stopped (the console is shutting down); raised out of `started`."""


@dataclass(frozen=True)
class Snapshot:
    """What the panel draws: a consistent copy of the player's state."""

    version: int
    mode: Mode
    scenario: Scenario | None
    by: str  # who started it
    speed: float
    dwell_s: float  # the wait before each step at this speed
    current: int | None  # the 1-based step being played, or waited for
    waiting: bool  # the play waits (dwell or pause) before step `current`
    verdicts: Mapping[str, StepVerdict] = field(default_factory=dict)
    result: ScenarioVerdict | None = None
    error: str = ""

    @property
    def active(self) -> bool:
        return self.mode in ("playing", "paused")


class Player:
    def __init__(self, *, dwell_s: float = DWELL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.listeners: list[Callable[[], None]] = []
        self._dwell_s, self._clock = dwell_s, clock
        self._cond = threading.Condition()
        self._version = 0
        self._mode: Mode = "idle"
        self._scenario: Scenario | None = None
        self._by = ""
        self._speed = 1.0
        self._current: int | None = None
        self._waiting = self._running = self._stopping = False
        self._grant = 0  # steps `step` let through while paused
        self._verdicts: dict[str, StepVerdict] = {}
        self._result: ScenarioVerdict | None = None
        self._error = ""

    def snapshot(self) -> Snapshot:
        with self._cond:
            return Snapshot(version=self._version, mode=self._mode, scenario=self._scenario, by=self._by,
                            speed=self._speed, dwell_s=self._dwell_s / self._speed, current=self._current,
                            waiting=self._waiting, verdicts=MappingProxyType(dict(self._verdicts)),
                            result=self._result, error=self._error)  # fmt: skip

    # -- a play's life

    def begin(self, scenario: Scenario, *, by: str, paused: bool = False) -> None:
        """Take the player for `scenario` (Busy if another play is on); `paused` waits for play/step."""
        with self._cond:
            if self._mode in ("playing", "paused"):
                raise Busy(f"{self._by} is playing {self._scenario.name if self._scenario else '?'}")
            self._mode, self._scenario, self._by = ("paused" if paused else "playing"), scenario, by
            self._current, self._verdicts, self._result, self._error = None, {}, None, ""
            self._waiting = self._running = self._stopping = False
            self._grant = 0
            self._bump()
        self._notify()

    def run(self, play: Callable[[Observer], ScenarioVerdict]) -> None:
        """Carry out the play begun (in the worker thread): `play(self)` returns the verdict."""
        result, error = None, ""
        try:
            result = play(self)
        except Stopped:
            error = "the playback was stopped"
        except Exception as exc:  # the worker's edge: whatever broke, the panel must say so and free up
            log.exception("scenario playback failed")
            error = f"the playback broke off: {exc}"
        with self._cond:
            self._mode, self._result, self._error = "done", result, error
            for verdict in result.steps if result else ():  # a target that never came up: no observer calls
                self._verdicts.setdefault(verdict.id, verdict)
            self._current, self._waiting, self._running = None, False, False
            self._bump()
        self._notify()

    def stop(self) -> None:
        """Make a waiting (or the next) `started` raise Stopped, so the worker ends."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    # -- the buttons

    def play(self) -> None:
        self._set(mode="playing")

    def pause(self) -> None:
        self._set(mode="paused")

    def step(self) -> None:
        """Play exactly one step, then pause (while a step runs: pause after it)."""
        with self._cond:
            if self._mode not in ("playing", "paused"):
                return
            self._mode, self._grant = "paused", (0 if self._running else 1)
            self._bump()
        self._notify()

    def set_speed(self, speed: float) -> None:
        if speed not in SPEEDS:
            raise ValueError(f"speed {speed} is not one of {', '.join(f'{s:g}x' for s in SPEEDS)}")
        with self._cond:
            if speed == self._speed:
                return
            self._speed = speed
            self._bump()
        self._notify()

    # -- the runner's Observer

    def started(self, n: int, step: Step) -> None:
        with self._cond:
            self._current, self._waiting = n, True
            self._bump()
        self._notify()
        with self._cond:
            began = self._clock()
            while True:
                if self._stopping:
                    raise Stopped
                if self._mode == "paused":
                    if self._grant:
                        self._grant -= 1
                        break
                    self._cond.wait()
                    continue
                left = began + self._dwell_s / self._speed - self._clock()
                if left <= 0:
                    break
                self._sleep(left)
            self._waiting, self._running = False, True
            self._bump()
        self._notify()

    def finished(self, n: int, step: Step, verdict: StepVerdict) -> None:
        with self._cond:
            self._verdicts[step.id] = verdict
            self._running = False
            self._bump()
        self._notify()

    # -- inside

    def _sleep(self, seconds: float) -> None:
        """Wait up to `seconds` for a button (called with the lock held; tests replace it)."""
        self._cond.wait(seconds)

    def _set(self, *, mode: Mode) -> None:
        with self._cond:
            if self._mode not in ("playing", "paused"):
                return
            self._mode = mode
            self._grant = 0
            self._bump()
        self._notify()

    def _bump(self) -> None:
        self._version += 1
        self._cond.notify_all()

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener()


_players: dict[str, Player] = {}
_registry = threading.Lock()


def shared(key: str) -> Player:
    """The one player of the appliance `key` names (its data directory)."""
    with _registry:
        return _players.setdefault(key, Player())


def adopt(key: str, player: Player) -> None:
    """Make `player` the appliance's (tests: one with no reading time)."""
    with _registry:
        _players[key] = player


def forget(key: str) -> None:
    """Drop the appliance's player (tests; a new one starts idle), stopping a play it has on."""
    with _registry:
        player = _players.pop(key, None)
    if player is not None:
        player.stop()
