"""A conformance run: the chosen scenarios, each on a target of its own, side by side, and the verdict.

Each scenario gets its own embedded target (its own fakes, seed and appliance, in a directory and on
ports of its own), so scenarios never meet and `parallel` of them run at once. A target file
(`configured.py`) describes systems that run already: its scenarios share them, one at a time.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from appliance.scenarios.configured import ConfigError, ConfigTarget
from appliance.scenarios.embedded import EmbeddedTarget
from appliance.scenarios.load import load_dir
from appliance.scenarios.model import Scenario
from appliance.scenarios.runner import play
from appliance.scenarios.verdict import RunVerdict, ScenarioVerdict, run_status

TARGETS = ("embedded", "FILE")


@contextlib.contextmanager
def _interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM ends the run as Ctrl-C does (only the main thread may set a handler; elsewhere, as is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


class SelectionError(ValueError):
    """`--only` names no scenario or tag of the catalog."""


def catalog_dir() -> Path:
    return Path(str(resources.files("scenarios")))  # the top-level `scenarios/` of the source tree


def catalog(directory: Path | None = None) -> list[Scenario]:
    return load_dir(directory or catalog_dir())


def select(scenarios: Sequence[Scenario], only: Sequence[str]) -> list[Scenario]:
    """The scenarios named in `only`, or having one of its tags; all of them for an empty `only`."""
    if not only:
        return list(scenarios)
    known = {s.name for s in scenarios} | {t for s in scenarios for t in s.tags}
    unknown = [o for o in only if o not in known]
    if unknown:
        raise SelectionError(
            f"no scenario or tag {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}"
        )
    return [s for s in scenarios if s.name in only or set(s.tags) & set(only)]


def run(
    scenarios: Sequence[Scenario],
    *,
    target: str = "embedded",
    parallel: int = 1,
    work_dir: Path | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> RunVerdict:
    shared: ConfigTarget | None = None
    if target == "stack":
        raise SelectionError("target 'stack' is not available yet (stack/ brings up no containers); "
                             "use embedded, or a target file of running systems")  # fmt: skip
    if target != "embedded":
        try:
            shared = ConfigTarget(Path(target))
        except ConfigError as exc:
            raise SelectionError(str(exc)) from None
        parallel = 1  # the scenarios share its systems
    started_at, began = datetime.now(UTC), time.monotonic()
    base = work_dir or Path(tempfile.mkdtemp(prefix="pathops-conformance-"))
    targets: list[EmbeddedTarget] = []

    def one(scenario: Scenario) -> ScenarioVerdict:
        progress(f"[{scenario.name}] starting its target")
        env = {f"PATHOPS_{name.upper()}": str(value) for name, value in scenario.setup.settings.items()}
        own = shared or EmbeddedTarget(base / scenario.name, env=env)
        targets.append(own)
        verdict = play(scenario, own, progress)
        progress(f"[{scenario.name}] {verdict.status} in {verdict.seconds:.0f} s")
        return verdict

    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    try:
        with _interrupted_by_sigterm():
            verdicts = tuple(pool.map(one, scenarios))
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: no target outlives the run
        pool.shutdown(wait=False, cancel_futures=True)
        for started in targets:
            started.down()
        raise
    pool.shutdown()
    return RunVerdict(target=shared.path.name if shared else target, started_at=started_at, seconds=round(time.monotonic() - began, 2),
                      status=run_status(verdicts), scenarios=verdicts)  # fmt: skip
