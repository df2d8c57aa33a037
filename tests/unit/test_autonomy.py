"""Autonomy policy: levels 0-3, low risk only, never for protected paths."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.contracts.entities import AutonomyLevel
from appliance.logic.autonomy import autonomy, may_auto_apply, may_auto_merge, may_auto_promote, may_rollback
from appliance.logic.risk import risk_score

LOW_DIFF = (
    "diff --git a/api/app.py b/api/app.py\n--- a/api/app.py\n+++ b/api/app.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
)
PROTECTED_DIFF = LOW_DIFF.replace("api/app.py", "auth/app.py")


@pytest.mark.parametrize("may", [may_auto_merge, may_auto_promote])
@pytest.mark.parametrize(
    ("level", "risk", "allowed"),
    [
        (0, 5, False),
        (1, 5, False),
        (2, 5, True),
        (3, 29, True),
        (2, 30, False),
        (3, 90, False),
        (2, "low", True),
        (2, "medium", False),
        (2, None, False),
        (2, "unknown", False),
        (AutonomyLevel.AUTO_MERGE_LOW_RISK, 1.5, True),
    ],
)
def test_auto_merge_and_promote_need_level_2_and_low_risk(
    may: Any, level: int, risk: Any, allowed: bool
) -> None:
    verdict = may(level, risk)
    assert verdict.allowed is allowed
    assert verdict.reason


def test_a_risk_score_brings_its_level_and_its_protected_paths() -> None:
    low = risk_score(LOW_DIFF, protected_paths=("auth/",))
    assert may_auto_merge(2, low).allowed
    assert may_auto_merge(2, low).reason == "autonomy level 2 may auto-merge at low risk (score 1)"
    protected = risk_score(PROTECTED_DIFF, protected_paths=("auth/",))
    verdict = may_auto_merge(3, protected)
    assert (verdict.allowed, verdict.reason) == (False, "never auto-merge a change to a protected path")


@pytest.mark.parametrize("may", [may_auto_merge, may_auto_promote])
def test_never_for_protected_paths_at_any_level(may: Any) -> None:
    for level in range(4):
        assert not may(level, 1, touches_protected=True).allowed


def test_reasons_say_why_not() -> None:
    assert may_auto_merge(1, 5).reason == "autonomy level 1 does not auto-merge: it needs level 2"
    assert (
        may_auto_promote(2, 45).reason
        == "auto-promote only low-risk changes; this one has medium risk (score 45)"
    )
    assert may_auto_promote(2, None).reason == "auto-promote only low-risk changes; this one has unknown risk"


@pytest.mark.parametrize(
    ("level", "env", "allowed"),
    [(0, "preflight", False), (1, "preflight", True), (3, "preflight", True), (3, "production", False)],
)
def test_auto_apply_reaches_preflight_only_from_level_1(level: int, env: str, allowed: bool) -> None:
    assert may_auto_apply(level, env=env).allowed is allowed
    assert not may_auto_apply(level, env=env, touches_protected=True).allowed


@pytest.mark.parametrize(
    ("level", "env", "allowed"),
    [(2, "production", False), (3, "production", True), (0, "preflight", False), (1, "preflight", True)],
)
def test_rollback_in_production_needs_level_3(level: int, env: str, allowed: bool) -> None:
    assert may_rollback(level, env=env).allowed is allowed
    assert not may_rollback(3, env=env, touches_protected=True).allowed


@pytest.mark.parametrize("level", [-1, 4, "two", True, 2.0, None])
def test_a_level_that_does_not_exist_is_an_error(level: Any) -> None:
    with pytest.raises(ValueError, match="autonomy level must be 0 to 3"):
        autonomy(level)


def test_a_level_may_come_as_text() -> None:
    assert autonomy("2") is AutonomyLevel.AUTO_MERGE_LOW_RISK
