"""What a seed run did (`SeedReport`) and how it tells as it goes (`Run`: progress lines, changes)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

log = logging.getLogger("appliance.adapters.embedded")
Progress = Callable[[str], None]


class SeedReport(msgspec.Struct, frozen=True, kw_only=True):
    project: str
    changes: tuple[str, ...]  # one line per change made, in order; empty when everything was there
    ports: dict[str, dict[str, int]]  # app -> environment -> the port its service listens on

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def summary(self) -> str:
        if not self.changes:
            return f"{self.project}: already seeded, nothing changed"
        return f"{self.project}: seeded, {len(self.changes)} change{'s' if len(self.changes) != 1 else ''}"

    def url(self, app: str, env: str) -> str:
        return f"http://127.0.0.1:{self.ports[app][env]}"


class Run:
    """One seed run: `did` records a change, `say` only tells; both reach `progress`, or else the log."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress
        self.changes: list[str] = []

    def say(self, line: str) -> None:
        if self._progress is not None:
            self._progress(line)
        else:
            log.info("%s", line)

    def did(self, line: str) -> None:
        self.changes.append(line)
        self.say(line)

    def outcome(self, change: str, what: str) -> None:
        """Record `what` as `change` ('created', 'updated'); '' means it was there already."""
        if change:
            self.did(f"{change} {what}")

    def report(self, project: str, ports: dict[str, dict[str, int]]) -> SeedReport:
        report = SeedReport(project=project, changes=tuple(self.changes), ports=ports)
        self.say(report.summary())
        return report
