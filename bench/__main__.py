"""`just bench`: speed of the durable runner, as ratios against a baseline measured in the same run.

Baseline: one plain SQLite write transaction (INSERT + COMMIT, same file settings). Measured: one
event through the engine (log append, decide, state save, outbox/timer rows: one transaction), and a
callback to the next step's CI trigger through the dispatcher. Ratios, not absolute times, are what
to compare between runs and machines. `--json` prints the figures for scripts.
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="just bench", description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="workflows to run (default 300)")
    parser.add_argument("--json", action="store_true")
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
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<28} {value}")


if __name__ == "__main__":
    main()
