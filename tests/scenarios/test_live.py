"""The live target of the console's playback: which scenarios it can play, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.scenarios.conformance import catalog
from appliance.scenarios.embedded import TargetError
from appliance.scenarios.live import LiveTarget, playable


def test_scenarios_that_kill_or_need_other_settings_are_not_played_live() -> None:
    reasons = {s.name: playable(s) for s in catalog()}
    assert reasons["duplicate-alerts"] is None and reasons["missing-env"] is None
    assert "kills the appliance" in str(reasons["appliance-killed"])
    assert "pathops scenario run appliance-killed" in str(reasons["appliance-killed"])
    assert "other settings (evidence_timeout_s" in str(reasons["lost-evidence-callback"])


def test_the_live_target_neither_starts_nor_kills_and_says_when_nothing_answers(tmp_path: Path) -> None:
    target = LiveTarget("http://127.0.0.1:9/", tmp_path)
    assert target.url == "http://127.0.0.1:9"
    with pytest.raises(TargetError, match="cannot kill the appliance it runs in"):
        target.kill()
    with pytest.raises(TargetError, match="does not answer /api/health"):
        target.up()
    target.down()  # nothing to stop: the appliance serves the console
