"""The playback panel (/playback) follows the appliance's player: rows, lifelines, narration, verdict.

A real play needs the whole embedded stack, so here the panel's `launch` starts a fake play (the
runner's observer calls, with the real steps of a catalog scenario) in a worker thread, or the test
calls the player's `started`/`finished` itself. One test plays through the real runner on a target
that does not answer.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from nicegui import core, ui
from nicegui.elements.mixins.disableable_element import DisableableElement
from nicegui.testing.user import User
from nicegui.testing.user_interaction import UserInteraction

from appliance.bootstrap import Appliance
from appliance.contracts.settings import Settings
from appliance.scenarios.model import Scenario
from appliance.scenarios.verdict import CheckVerdict, ScenarioVerdict
from tests.ui.page import shown, until
from tests.ui.test_player import MISSING_ENV, FakePlay, Watch, _verdict, done
from ui import playback
from ui.player import Player, adopt, forget, shared

pytestmark = pytest.mark.xdist_group("ui")
LogIn = Callable[[str], Awaitable[None]]
KILLED = next(s for s in playback.scenarios() if s.name == "appliance-killed")


@pytest.fixture
def player(appliance: Appliance) -> Iterator[Player]:
    """The appliance's player, with no reading time before a step."""
    made, key = Player(dwell_s=0.0), str(appliance.settings.data_dir)
    adopt(key, made)
    yield made
    forget(key)


@pytest.fixture
def plays(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakePlay]]:
    """Make the panel's play button start fake plays (held step by step) instead of the real runner."""
    started: list[FakePlay] = []
    players: list[Player] = []

    def launch(player: Player, scenario: Scenario, settings: Settings) -> None:
        started.append(FakePlay(scenario, hold=True))
        players.append(player)
        threading.Thread(target=player.run, args=(started[-1],), daemon=True).start()

    monkeypatch.setattr(playback, "launch", launch)
    yield started
    for player, play in zip(players, started, strict=True):  # end a play the test left: no stray thread
        player.stop()
        assert play.gate is not None
        play.gate.release(len(play.scenario.steps))


def classes(user: User, marker: str) -> list[str]:
    return list(the(user, marker).classes)


def the(user: User, marker: str) -> ui.element:
    """The one element `marker` names (by marker only: `find("play")` also matches any text "play")."""
    with user:
        (element,) = user.find(marker=marker).elements
        return element


def current_row(user: User, scenario: Scenario) -> list[str]:
    return [s.id for s in scenario.steps if "current" in classes(user, f"step-{s.id}")]


def active_actors(user: User) -> list[str]:
    names = ("developer", "owner", "alertmanager", "pathops", "argocd", "agents", "jenkins", "gitlab")
    return [name for name in names if "active" in classes(user, f"actor-{name}")]


def choose(user: User, label: str) -> None:
    """Open the scenario select and click the option `label`, as a person does."""
    select = user.find(marker="scenario-select").click()
    UserInteraction(user, select.elements, label).click()


def narration(user: User) -> str:
    card = the(user, "narration")
    return " ".join(str(label.text) for label in card.descendants() if isinstance(label, ui.label))


def the_link(user: User, text: str) -> ui.element:
    with user:
        (link,) = user.find(kind=ui.link, content=text).elements
        return link


def enabled(user: User, marker: str) -> bool:
    element = the(user, marker)
    assert isinstance(element, DisableableElement)
    return bool(element.enabled)


async def test_the_highlight_follows_the_player_row_by_row(user: User, log_in: LogIn, player: Player) -> None:
    await log_in("admin")
    await user.open("/playback")
    choose(user, "missing-env")
    await shown(user, MISSING_ENV.title)
    player.begin(MISSING_ENV, by="admin")
    for n, step in enumerate(MISSING_ENV.steps, 1):
        player.started(n, step)
        await until(lambda step=step: current_row(user, MISSING_ENV) == [step.id])  # type: ignore[misc]
        assert active_actors(user) == [step.actor]
        assert step.narration in narration(user)
        player.finished(
            n, step, _verdict(step.id, step.actor, "passed", {f"{step.id} link": f"http://x.test/{n}"})
        )
        await until(lambda step=step: "passed" in classes(user, f"step-{step.id}"))  # type: ignore[misc]
    link = the_link(user, "promoted link")
    assert (link.props["href"], link.props["target"]) == ("http://x.test/9", "_blank")


async def test_pause_holds_the_next_step_until_step_or_play(
    user: User, log_in: LogIn, player: Player, plays: list[FakePlay]
) -> None:
    watch = Watch(player)
    await log_in("admin")
    await user.open("/playback")
    choose(user, "missing-env")
    user.find(marker="play").click()
    watch.until(lambda snap: snap.current == 1 and not snap.waiting)
    (play,) = plays
    user.find(marker="pause").click()
    assert play.gate is not None
    play.gate.release()
    watch.until(lambda snap: snap.current == 2 and snap.waiting)
    await until(lambda: current_row(user, MISSING_ENV) == ["rejected"])
    assert "passed" in classes(user, "step-break")
    assert "paused: press play" in narration(user)
    assert play.ran == ["break"]

    user.find(marker="step").click()  # exactly one step: it runs, and the next one waits
    watch.until(lambda snap: snap.current == 2 and not snap.waiting)
    play.gate.release()
    watch.until(lambda snap: snap.current == 3 and snap.waiting)
    assert play.ran == ["break", "rejected"]
    await until(lambda: current_row(user, MISSING_ENV) == ["proposed"])

    user.find(marker="play").click()
    for _ in MISSING_ENV.steps[2:]:
        play.gate.release()
    watch.until(done)
    await shown(user, "passed in 1 s")
    await user.should_see("verdict")
    assert play.ran == [s.id for s in MISSING_ENV.steps]


async def test_the_speed_select_changes_the_reading_time(
    user: User, log_in: LogIn, appliance: Appliance
) -> None:
    await log_in("admin")
    await user.open("/playback")
    key = str(appliance.settings.data_dir)
    try:
        paced = shared(key)
        assert paced.snapshot().dwell_s == 2.0
        speed = user.find(marker="speed").click()
        UserInteraction(user, speed.elements, "4x").click()
        await until(lambda: paced.snapshot().dwell_s == 0.5)
        speed.click()
        UserInteraction(user, speed.elements, "0.5x").click()
        await until(lambda: paced.snapshot().dwell_s == 4.0)
    finally:
        forget(key)


async def test_the_verdict_names_the_failed_step_and_the_least_privilege_checks(
    user: User, log_in: LogIn, player: Player
) -> None:
    await log_in("admin")
    await user.open("/playback")
    choose(user, "missing-env")
    steps = tuple(
        _verdict(s.id, s.actor, "passed" if n < 2 else "failed" if n == 2 else "skipped")
        for n, s in enumerate(MISSING_ENV.steps)
    )
    checks = (CheckVerdict(name="evidence collector reads only its namespace", status="passed"),
              CheckVerdict(name="fix agent never pushes to main", status="failed", detail="1 push"))  # fmt: skip
    result = ScenarioVerdict(name="missing-env", title=MISSING_ENV.title, status="failed", seconds=42.0,
                             steps=steps, checks=checks)  # fmt: skip
    player.begin(MISSING_ENV, by="admin")
    player.run(lambda observer: result)
    await shown(user, "failed in 42 s")
    await user.should_see("verdict")
    await user.should_see("step proposed failed: proposed failed")
    await user.should_see("fix agent never pushes to main: failed (1 push)")
    await user.should_see("evidence collector reads only its namespace: passed")
    assert "failed" in classes(user, "step-proposed")
    assert "skipped" in classes(user, "step-promoted")


async def test_a_scenario_that_kills_the_appliance_is_listed_but_cannot_be_played(
    user: User, log_in: LogIn, plays: list[FakePlay]
) -> None:
    await log_in("admin")
    await user.open("/playback")
    options = {option["label"]: option["disable"] for option in the(user, "scenario-select").props["options"]}
    label = "appliance-killed (not live: step kill kills the appliance; run it with `pathops scenario run appliance-killed`)"
    assert options[label] is True
    assert options["missing-env"] is False
    choose(user, label)  # the browser greys it out; picked anyway, it still does not play
    await shown(user, "step kill kills the appliance")
    assert not enabled(user, "play")
    assert not enabled(user, "step")
    user.find(marker="play").click()
    assert plays == []


async def test_a_viewer_watches_the_playback_an_owner_started(
    user: User, log_in: LogIn, tokens: dict[str, str], player: Player, plays: list[FakePlay]
) -> None:
    await log_in("admin")
    await user.open("/playback")
    choose(user, "missing-env")
    user.find(marker="play").click()
    Watch(player).until(lambda snap: snap.current == 1)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test") as client:
        await watch_as_viewer(User(client), tokens["viewer"], user, plays)


async def watch_as_viewer(viewer: User, token: str, owner: User, plays: list[FakePlay]) -> None:
    await viewer.open("/login")
    viewer.find("login-name").type("viewer")
    viewer.find("login-token").type(token)
    viewer.find("login-submit").click()
    await shown(viewer, marker="whoami")
    await viewer.open("/playback")
    await viewer.should_see("Only an owner can play a scenario")
    await until(lambda: current_row(viewer, MISSING_ENV) == ["break"])
    assert [enabled(viewer, control) for control in ("play", "pause", "step", "speed")] == [False] * 4
    viewer.find(marker="play").click()
    assert len(plays) == 1

    assert plays[0].gate is not None
    plays[0].gate.release()
    await until(lambda: current_row(viewer, MISSING_ENV) == ["rejected"])  # the second tab follows the first
    assert active_actors(viewer) == ["argocd"]
    await until(lambda: current_row(owner, MISSING_ENV) == ["rejected"])


async def test_step_from_the_start_plays_the_first_step_alone(
    user: User, log_in: LogIn, player: Player, plays: list[FakePlay]
) -> None:
    watch = Watch(player)
    await log_in("admin")
    await user.open("/playback")
    choose(user, "missing-env")
    user.find(marker="step").click()
    (play,) = plays
    watch.until(lambda snap: snap.current == 1 and not snap.waiting)
    assert play.gate is not None
    play.gate.release()
    snap = watch.until(lambda snap: snap.current == 2 and snap.waiting)
    assert (snap.mode, play.ran) == ("paused", ["break"])
    await until(lambda: current_row(user, MISSING_ENV) == ["rejected"])
    assert enabled(user, "play") and enabled(user, "step") and not enabled(user, "pause")


def test_a_play_on_an_appliance_that_does_not_answer_fails_at_its_first_step(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(data_dir=tmp_path, public_url=f"http://127.0.0.1:{port}")
    player = Player(dwell_s=0.0)
    player.begin(MISSING_ENV, by="admin")
    playback.launch(player, MISSING_ENV, settings)
    snap = Watch(player).until(done)
    assert snap.result is not None and snap.result.status == "failed"
    first, *rest = snap.verdicts.values()
    assert first.status == "failed"
    assert f"the appliance at http://127.0.0.1:{port} does not answer /api/health" in first.detail
    assert {v.status for v in rest} == {"skipped"}
