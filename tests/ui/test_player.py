"""The playback's player: it paces a play in a worker thread (pause, step, speed) and keeps its verdicts.

A fake play stands in for `runner.play`: it calls the observer as the runner does, with the real steps
of a catalog scenario, and can hold each step until the test lets it go.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

import pytest

from appliance.scenarios.conformance import catalog
from appliance.scenarios.model import Scenario
from appliance.scenarios.runner import Observer
from appliance.scenarios.verdict import ScenarioVerdict, StepVerdict, scenario_status
from ui.player import Busy, Player, Snapshot, Stopped, forget, shared

MISSING_ENV = next(s for s in catalog() if s.name == "missing-env")
WAIT_S = 10.0  # how long a test waits for the worker to get somewhere before it fails


class FakePlay:
    """Plays a scenario the way the runner does: started, carry out, finished; skips after a failure."""

    def __init__(self, scenario: Scenario, *, fail: str = "", hold: bool = False) -> None:
        self.scenario, self.fail = scenario, fail
        self.ran: list[str] = []
        self.gate = threading.Semaphore(0) if hold else None

    def __call__(self, observer: Observer) -> ScenarioVerdict:
        verdicts: list[StepVerdict] = []
        for n, step in enumerate(self.scenario.steps, 1):
            if any(v.status == "failed" for v in verdicts):
                verdicts.append(_verdict(step.id, step.actor, "skipped"))
                observer.finished(n, step, verdicts[-1])
                continue
            observer.started(n, step)
            self.ran.append(step.id)
            if self.gate is not None:
                assert self.gate.acquire(timeout=WAIT_S)
            status = "failed" if step.id == self.fail else "passed"
            verdicts.append(
                _verdict(step.id, step.actor, status, links={step.id: f"http://x.test/{step.id}"})
            )
            observer.finished(n, step, verdicts[-1])
        return ScenarioVerdict(name=self.scenario.name, title=self.scenario.title, status=scenario_status(verdicts),
                               seconds=1.0, steps=tuple(verdicts))  # fmt: skip


def _verdict(id: str, actor: str, status: str, links: dict[str, str] | None = None) -> StepVerdict:
    return StepVerdict(id=id, actor=actor, kind="expect", narration="", status=status,  # type: ignore[arg-type]
                       detail=f"{id} {status}", links=links or {})  # fmt: skip


class Watch:
    """Waits (without sleeping) until the player's state satisfies a predicate."""

    def __init__(self, player: Player) -> None:
        self.player, self.cond = player, threading.Condition()
        player.listeners.append(self.poke)

    def poke(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def until(self, holds: Callable[[Snapshot], bool]) -> Snapshot:
        with self.cond:
            assert self.cond.wait_for(lambda: holds(self.player.snapshot()), WAIT_S), self.player.snapshot()
        return self.player.snapshot()


def waiting_at(n: int) -> Callable[[Snapshot], bool]:
    return lambda snap: snap.current == n and snap.waiting


def done(snap: Snapshot) -> bool:
    return snap.mode == "done"


@pytest.fixture
def player() -> Iterator[Player]:
    made = Player(dwell_s=0.0)
    yield made
    made.stop()


def worker(player: Player, play: FakePlay) -> threading.Thread:
    thread = threading.Thread(target=player.run, args=(play,), daemon=True)
    thread.start()
    return thread


def test_a_play_at_full_speed_records_every_verdict_and_the_result(player: Player) -> None:
    play = FakePlay(MISSING_ENV)
    player.begin(MISSING_ENV, by="olivia")
    player.run(play)
    snap = player.snapshot()
    assert snap.mode == "done"
    assert play.ran == [s.id for s in MISSING_ENV.steps]
    assert [v.status for v in snap.verdicts.values()] == ["passed"] * len(MISSING_ENV.steps)
    assert snap.result is not None and snap.result.status == "passed"
    assert (snap.current, snap.by, snap.error) == (None, "olivia", "")


def test_paused_it_waits_before_the_first_step_and_step_plays_exactly_one(player: Player) -> None:
    play, watch = FakePlay(MISSING_ENV), Watch(player)
    player.begin(MISSING_ENV, by="olivia", paused=True)
    thread = worker(player, play)
    assert watch.until(waiting_at(1)).mode == "paused"
    assert play.ran == []
    player.step()
    watch.until(waiting_at(2))
    assert play.ran == ["break"]
    assert list(player.snapshot().verdicts) == ["break"]
    player.step()
    watch.until(waiting_at(3))
    assert play.ran == ["break", "rejected"]
    player.play()
    watch.until(done)
    thread.join(WAIT_S)
    assert play.ran == [s.id for s in MISSING_ENV.steps]


def test_pause_while_a_step_runs_holds_the_next_one_until_play(player: Player) -> None:
    play, watch = FakePlay(MISSING_ENV, hold=True), Watch(player)
    player.begin(MISSING_ENV, by="olivia")
    worker(player, play)
    watch.until(lambda snap: snap.current == 1 and not snap.waiting)  # step 1 is being carried out
    player.pause()
    assert play.gate is not None
    play.gate.release()
    assert watch.until(waiting_at(2)).mode == "paused"
    assert play.ran == ["break"]
    player.play()
    watch.until(lambda snap: snap.current == 2 and not snap.waiting)
    assert play.ran == ["break", "rejected"]
    for _ in MISSING_ENV.steps[1:]:
        play.gate.release()
    watch.until(done)


def test_step_while_a_step_runs_pauses_after_it(player: Player) -> None:
    play, watch = FakePlay(MISSING_ENV, hold=True), Watch(player)
    player.begin(MISSING_ENV, by="olivia")
    worker(player, play)
    watch.until(lambda snap: snap.current == 1 and not snap.waiting)
    player.step()
    assert play.gate is not None
    play.gate.release()
    watch.until(waiting_at(2))
    assert play.ran == ["break"]


class PacedPlayer(Player):
    """A player on a fake clock: each wait it makes is recorded and passes at once.

    `interrupt` may act during a wait (press a button) and say how much of it went by (None: all).
    """

    def __init__(self, *, interrupt: Callable[[PacedPlayer], float | None] = lambda p: None) -> None:
        self.now, self.interrupt = 100.0, interrupt
        self.waits: list[float] = []
        super().__init__(dwell_s=2.0, clock=lambda: self.now)

    def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        went_by = self.interrupt(self)
        self.now += seconds if went_by is None else went_by


@pytest.mark.parametrize(("speed", "dwell"), [(0.5, 4.0), (1.0, 2.0), (2.0, 1.0), (4.0, 0.5)])
def test_the_speed_divides_the_reading_time_before_each_step(speed: float, dwell: float) -> None:
    paced = PacedPlayer()
    paced.set_speed(speed)
    paced.begin(MISSING_ENV, by="olivia")
    assert paced.snapshot().dwell_s == dwell
    paced.run(FakePlay(MISSING_ENV))
    assert paced.waits == [dwell] * len(MISSING_ENV.steps)


def test_a_faster_speed_shortens_the_wait_already_begun() -> None:
    def speed_up(paced: PacedPlayer) -> float | None:
        if len(paced.waits) > 1:
            return None
        paced.set_speed(4.0)  # a quarter of a second into the first 2 s wait, someone picks 4x
        return 0.25

    paced = PacedPlayer(interrupt=speed_up)
    paced.begin(MISSING_ENV, by="olivia")
    paced.run(FakePlay(MISSING_ENV))
    assert paced.waits[:2] == [2.0, 0.25]  # 0.5 s at 4x, of which 0.25 s had gone by
    assert paced.waits[2:] == [0.5] * (len(MISSING_ENV.steps) - 1)


def test_pausing_in_the_wait_holds_the_step_until_play() -> None:
    def pause_then_play(paced: PacedPlayer) -> float | None:
        if len(paced.waits) == 1:
            paced.pause()
            threading.Timer(0, paced.play).start()  # another thread presses play while it is held
        return 0.5

    paced = PacedPlayer(interrupt=pause_then_play)
    paced.begin(MISSING_ENV, by="olivia")
    paced.run(FakePlay(MISSING_ENV))
    assert paced.waits[:2] == [2.0, 1.5]  # after the pause it waits out the rest of the dwell


def test_an_unknown_speed_is_refused(player: Player) -> None:
    with pytest.raises(ValueError, match=re.escape("speed 3 is not one of 0.5x, 1x, 2x, 4x")):
        player.set_speed(3)


def test_a_failed_step_skips_the_rest_and_fails_the_play(player: Player) -> None:
    player.begin(MISSING_ENV, by="olivia")
    player.run(FakePlay(MISSING_ENV, fail="proposed"))
    snap = player.snapshot()
    statuses = [v.status for v in snap.verdicts.values()]
    assert statuses == ["passed", "passed", "failed"] + ["skipped"] * (len(MISSING_ENV.steps) - 3)
    assert snap.result is not None and snap.result.status == "failed"


def test_one_play_at_a_time_then_a_new_one_starts_afresh(player: Player) -> None:
    watch = Watch(player)
    player.begin(MISSING_ENV, by="olivia", paused=True)
    worker(player, FakePlay(MISSING_ENV))
    with pytest.raises(Busy, match="olivia is playing missing-env"):
        player.begin(MISSING_ENV, by="oscar")
    player.play()
    watch.until(done)
    player.begin(MISSING_ENV, by="oscar")
    snap = player.snapshot()
    assert (snap.mode, snap.by, dict(snap.verdicts), snap.result) == ("playing", "oscar", {}, None)


def test_stop_ends_a_paused_play(player: Player) -> None:
    watch = Watch(player)
    player.begin(MISSING_ENV, by="olivia", paused=True)
    thread = worker(player, FakePlay(MISSING_ENV))
    watch.until(waiting_at(1))
    player.stop()
    snap = watch.until(done)
    thread.join(WAIT_S)
    assert (snap.error, snap.result) == ("the playback was stopped", None)


def test_a_play_that_breaks_off_says_why_and_frees_the_player(player: Player) -> None:
    def broken(observer: Observer) -> ScenarioVerdict:
        raise RuntimeError("the owner token is gone")

    player.begin(MISSING_ENV, by="olivia")
    player.run(broken)
    snap = player.snapshot()
    assert (snap.mode, snap.error) == ("done", "the playback broke off: the owner token is gone")


def test_the_stopped_error_reaches_the_runner_from_started(player: Player) -> None:
    player.begin(MISSING_ENV, by="olivia", paused=True)
    player.stop()
    with pytest.raises(Stopped):
        player.started(1, MISSING_ENV.steps[0])


def test_each_appliance_has_one_shared_player() -> None:
    try:
        assert shared("/data/a") is shared("/data/a")
        assert shared("/data/a") is not shared("/data/b")
        first = shared("/data/a")
        forget("/data/a")
        assert shared("/data/a") is not first
    finally:
        forget("/data/a")
        forget("/data/b")
