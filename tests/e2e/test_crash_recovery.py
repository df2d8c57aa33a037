"""SIGKILL the appliance at named points of a running autopilot path, restart it, and check that
every incident resumes and completes, no event is lost and no outside effect happens twice.

Each trial is named by its kill point and the hit at which the process kills itself
(`PATHOPS_CRASHPOINT=point:n`, see appliance/services/crashpoints.py). The outside world is a CI
server on the Jenkins remote API that runs the jobs by calling the appliance back (tests/support/world.py).
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from appliance.services.crashpoints import POINTS
from tests.conftest import golden
from tests.support.world import World, free_port

pytestmark = pytest.mark.slow

INCIDENTS = 3
HAPPY_POINTS = [p for p in POINTS if p != "timer-fired"]
TRIALS = [f"{p}:{n}" for p in HAPPY_POINTS for n in (1, 3, 7)] + ["timer-fired:1", "timer-fired:2"]
EXPECTED = ["alert_fired", "evidence_ready", "patch_ready", "mr_opened", "alert_resolved"]


class Appliance:
    def __init__(self, data_dir: Path, port: int, world: World, *, timers: bool) -> None:
        self.data_dir, self.port, self.world, self.timers = data_dir, port, world, timers
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.url = f"http://127.0.0.1:{port}"

    def start(self, crashpoint: str = "") -> None:
        self.starts += 1
        env = os.environ | {
            "PATHOPS_JENKINS_URL": self.world.url,
            "PATHOPS_JENKINS_USER": "ci",
            "PATHOPS_JENKINS_TOKEN": "t",
            "PATHOPS_ALERTMANAGER_SECRET": "am-secret",
            "PATHOPS_CRASHPOINT": crashpoint,
            "PATHOPS_LOG_LEVEL": "WARNING",
            "PATHOPS_EVIDENCE_TIMEOUT_S": "2" if self.timers else "600",
            "PATHOPS_MAX_ATTEMPTS": "5",
        }
        cmd = [
            sys.executable,
            "-m",
            "appliance.entrypoints.cli",
            "serve",
            "--no-stack",  # the outside world is the Jenkins-protocol double above
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

    def token(self) -> str:
        return (self.data_dir / "owner.token").read_text().strip()


def _post_alert(app: Appliance, payload: dict[str, Any], deadline: float) -> None:
    """Like Alertmanager: retry until the appliance takes it (it may be down or dying)."""
    while time.monotonic() < deadline:
        if not app.alive():
            app.start()
        try:
            r = httpx.post(
                app.url + "/webhooks/alertmanager",
                json=payload,
                headers={"Authorization": "Bearer am-secret"},
                timeout=5,
            )
            if r.status_code == 202:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("alert was never accepted")


def _incidents(app: Appliance) -> list[dict[str, Any]]:
    try:
        r = httpx.get(
            app.url + "/api/incidents", headers={"Authorization": f"Bearer {app.token()}"}, timeout=5
        )
    except (httpx.TransportError, FileNotFoundError):
        return []
    return list(r.json()) if r.status_code == 200 else []


def _wait(app: Appliance, phase: str, deadline: float) -> list[dict[str, Any]]:
    while time.monotonic() < deadline:
        if not app.alive():
            app.start()  # the kill happened: restart, as a supervisor would
        incidents = _incidents(app)
        if len(incidents) == INCIDENTS and all(i["phase"] == phase for i in incidents):
            return incidents
        time.sleep(0.1)
    raise AssertionError(
        f"not all incidents reached {phase}: {[(i['id'], i['phase']) for i in _incidents(app)]}"
    )


def _alerts() -> list[dict[str, Any]]:
    base = golden("alertmanager", "webhook_firing.json")
    out = []
    for n in range(INCIDENTS):
        payload = copy.deepcopy(base)
        payload["alerts"][0]["fingerprint"] = f"{n:016x}"
        payload["alerts"][0]["labels"]["service"] = f"svc{n}"
        out.append(payload)
    return out


def _resolved(firing: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(firing)
    payload["status"] = payload["alerts"][0]["status"] = "resolved"
    payload["alerts"][0]["endsAt"] = "2026-11-23T11:00:00Z"
    return payload


@pytest.mark.parametrize("crashpoint", TRIALS)
def test_sigkill_and_restart_resumes_without_loss_or_duplicates(crashpoint: str, tmp_path: Path) -> None:
    timers = crashpoint.startswith("timer-fired")
    world = World(slow_first_evidence=3.0 if timers else 0.0).start()
    app = Appliance(tmp_path, free_port(), world, timers=timers)
    deadline = time.monotonic() + 90
    try:
        app.start(crashpoint)
        alerts = _alerts()
        for payload in alerts:
            _post_alert(app, payload, deadline)
        _wait(app, "proposed", deadline)
        for payload in alerts:
            _post_alert(app, _resolved(payload), deadline)
        incidents = _wait(app, "resolved", deadline)
        restarts = app.starts - 1

        # the kill really happened (the process was started again), except where the point was
        # never reached that often
        assert restarts >= 1, f"{crashpoint} never killed the process"
        # no outside effect twice: one CI build per idempotency key, one MR per change set
        assert all(n == 1 for n in world.builds_per_key().values()), world.builds_per_key()
        assert sorted(world.mrs.values()) == [1] * INCIDENTS
        # no event lost: each incident's log holds the whole path, in order
        token = app.token()
        for incident in incidents:
            events = httpx.get(
                f"{app.url}/api/incidents/{incident['id']}/events",
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            ).json()
            names = [e["name"] for e in events if e["name"] in EXPECTED]
            assert [n for n in EXPECTED if n in names] == EXPECTED, names
            firsts = [names.index(n) for n in EXPECTED]
            assert firsts == sorted(firsts), names
            assert incident["state"]["mr_url"].startswith("http://gitlab.test/")
        if timers:
            retried = [k for k in world.builds_per_key() if k.endswith("schedule-evidence-collector:2")]
            # the evidence timeout fired and the step was retried (a slow first answer may still win
            # the race for an incident whose timer was due while the process was down)
            assert retried, world.builds_per_key()
    finally:
        app.stop()
        world.stop()
        (tmp_path / "world.json").write_text(json.dumps(world.builds_per_key()))
