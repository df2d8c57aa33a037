"""What a conformance run found: one verdict per step, check, scenario and run.

The runner builds these as it plays the scenarios; `report` turns them into JSON, JUnit and HTML.
They are plain data so the same verdict can be written, read back and shown anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

import msgspec

Status = Literal["passed", "failed", "skipped"]


class StepVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a scenario; a step after a failed one is `skipped`."""

    id: str
    actor: str
    kind: str
    narration: str
    status: Status
    seconds: float = 0.0
    detail: str = ""
    links: dict[str, str] = {}


class CheckVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """A least-privilege check run after the scenario from the fakes' access logs."""

    name: str
    status: Status
    detail: str = ""


class ScenarioVerdict(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    title: str
    status: Status
    seconds: float
    steps: tuple[StepVerdict, ...]
    checks: tuple[CheckVerdict, ...] = ()


class RunVerdict(msgspec.Struct, frozen=True, kw_only=True):
    target: str
    started_at: datetime
    seconds: float
    status: Status
    scenarios: tuple[ScenarioVerdict, ...]


def scenario_status(steps: Iterable[StepVerdict], checks: Iterable[CheckVerdict] = ()) -> Status:
    """A scenario fails when any step or check failed; skipped steps only follow a failed one."""
    return _worst([step.status for step in steps] + [check.status for check in checks])


def run_status(scenarios: Iterable[ScenarioVerdict]) -> Status:
    """A run fails when any scenario failed, which is what the exit code reports."""
    return _worst([scenario.status for scenario in scenarios])


def _worst(statuses: list[Status]) -> Status:
    return "failed" if "failed" in statuses else "passed"
