"""The appliance that is already running, as a scenario target: the console's guided playback.

It plays on the demo the console belongs to, so every artifact a step makes shows up in the same
console. It cannot kill or restart the process it runs in: scenarios with a `kill` step are played
with `pathops scenario run`, which starts an appliance of its own.
"""

from __future__ import annotations

from pathlib import Path

from appliance.scenarios.embedded import EmbeddedTarget, TargetError
from appliance.scenarios.model import Scenario


class LiveTarget(EmbeddedTarget):
    name = "live"
    outlives = True

    def __init__(self, url: str, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.url = url.rstrip("/")

    def start(self, crashpoint: str = "") -> None:
        raise TargetError("playback runs on the appliance that serves it and cannot start another")

    def up(self) -> None:
        if not self.healthy():
            raise TargetError(f"the appliance at {self.url} does not answer /api/health")
        if not (self.data_dir / "embedded" / "fakes.json").exists():
            raise TargetError("playback needs the embedded systems of `pathops demo` (no fakes.json)")

    def supervise(self) -> None:
        return None

    def kill(self, *, crashpoint: str = "", restart_after: float = 1.0) -> None:
        raise TargetError("playback cannot kill the appliance it runs in; use `pathops scenario run`")

    def down(self) -> None:
        return None


def playable(scenario: Scenario) -> str | None:
    """Why `scenario` cannot be played live (None when it can)."""
    run = f"run it with `pathops scenario run {scenario.name}`"
    killed = [step.id for step in scenario.steps if step.kind == "kill"]
    if killed:
        return f"step {killed[0]} kills the appliance; {run}"
    if scenario.setup.settings:
        names = ", ".join(sorted(scenario.setup.settings))
        return f"it needs the appliance started with other settings ({names}); {run}"
    return None
