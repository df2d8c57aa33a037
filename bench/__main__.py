"""`just bench`: speed of the durable runner, as ratios against a baseline measured in the same run.

Baseline: one plain SQLite write transaction (INSERT + COMMIT, same file settings). Measured: one
event through the engine (log append, decide, state save, outbox/timer rows: one transaction), and a
callback to the next step's CI trigger through the dispatcher. Ratios, not absolute times, are what
to compare between runs and machines. `--json` prints the figures for scripts.

It also runs the whole scenario catalog (`--no-catalog` skips it) with `--parallel 2` (each scenario on its own embedded
target) and records its wall time against the serial time of the same scenarios in the same run (the
sum of their own times): the ratio says what running them side by side on this machine buys. The
figures go to `.bench/catalog.json` as well.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from appliance.bootstrap import build
from appliance.contracts.settings import Settings
from appliance.contracts.workflow import Envelope, Event
from appliance.services import access
from tests.support.doubles import RecordingCi


def baseline(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (body) VALUES (?)", (b"x" * 200 + str(i).encode(),))
        conn.execute("COMMIT")
    conn.close()
    return (time.perf_counter() - start) / n


async def engine(path: Path, n: int) -> tuple[float, float]:
    settings = Settings(
        data_dir=path, alertmanager_secret="a", gitlab_secret="g", argocd_secret="r", callback_key="k"
    )
    app = await build(settings, ci=RecordingCi())
    await access.ensure_owner(app.ctx, name="admin")
    clock = app.ctx.clock
    per_event, step = [], []
    for i in range(n):
        fire = Event(name="alert_fired", data={"fingerprint": f"fp{i}", "labels": {"service": f"s{i}"}})
        start = time.perf_counter()
        await app.ctx.engine.submit(
            Envelope(
                id=f"a{i}", instance=f"inc-{i}", kind="incident", at=clock.now(), actor="bench", event=fire
            )
        )
        per_event.append(time.perf_counter() - start)
        await app.dispatcher.tick()
        ready = Event(name="evidence_ready", data={"snapshot_id": f"snap{i}"})
        start = time.perf_counter()
        await app.ctx.engine.submit(
            Envelope(
                id=f"e{i}", instance=f"inc-{i}", kind="incident", at=clock.now(), actor="bench", event=ready
            )
        )
        await app.dispatcher.tick()  # the next step's CI trigger, with its callback token
        step.append(time.perf_counter() - start)
    await app.store.close()
    return statistics.median(per_event), statistics.median(step)


def catalog(parallel: int) -> dict[str, object]:
    from appliance.scenarios import conformance

    scenarios = conformance.catalog()
    verdict = conformance.run(scenarios, parallel=parallel, progress=lambda line: print(line, flush=True))
    serial = sum(s.seconds for s in verdict.scenarios)
    figures: dict[str, object] = {
        "catalog_scenarios": len(scenarios),
        "catalog_passed": sum(s.status == "passed" for s in verdict.scenarios),
        "catalog_parallel": parallel,
        "catalog_wall_s": round(verdict.seconds, 1),
        "catalog_serial_s": round(serial, 1),
        "catalog_wall_vs_serial": round(verdict.seconds / serial, 2) if serial else None,
    }
    out = Path(".bench")
    out.mkdir(exist_ok=True)
    (out / "catalog.json").write_text(
        json.dumps(figures | {"at": verdict.started_at.isoformat()}, indent=2) + "\n"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="just bench", description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="workflows to run (default 300)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-catalog", dest="catalog", action="store_false",
                        help="skip timing the scenario catalog (it takes minutes)")  # fmt: skip
    parser.add_argument(
        "--parallel", type=int, default=2, help="scenarios at once with --catalog (default 2)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline(Path(tmp) / "baseline.sqlite3", args.n * 2)
        event, step = asyncio.run(engine(Path(tmp) / "engine", args.n))
    result = {
        "baseline_tx_ms": round(base * 1000, 3),
        "engine_event_ms": round(event * 1000, 3),
        "callback_to_next_step_ms": round(step * 1000, 3),
        "event_vs_baseline": round(event / base, 2),
        "step_vs_baseline": round(step / base, 2),
    }
    if args.catalog:
        result |= catalog(args.parallel)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<28} {value}")


if __name__ == "__main__":
    main()
