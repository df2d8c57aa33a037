"""SIGKILL `pathops demo` in the middle of the golden paths on the embedded target, restart it as a
supervisor would, and check that the path completes with no MR, commit or CI build made twice.

Each trial runs the real command (`pathops demo`: the stack, the seed, the appliance) with
PATHOPS_CRASHPOINT=point:n, so the process kills itself at the n-th hit of that point. The stack
outlives it and the restarted demo adopts it; webhooks sent while the appliance was down are lost,
as with the real senders, and the reconciler finds what they would have said.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import gitlab
import httpx
import pytest

from tests.support.world import free_port

pytestmark = pytest.mark.slow
TRIALS = ["job-triggered:4", "callback-accepted:3", "state-committed:12"]
API = "shop/shop-api"


class Demo:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, crashpoint: str = "") -> None:
        self.starts += 1
        env = os.environ | {"PATHOPS_CRASHPOINT": crashpoint, "PATHOPS_RECONCILE_S": "2",
                            "PATHOPS_LOG_LEVEL": "WARNING"}  # fmt: skip
        cmd = [sys.executable, "-m", "appliance.entrypoints.cli", "demo", "--port", str(self.port),
               "--data-dir", str(self.data_dir)]  # fmt: skip
        with open(self.data_dir / "demo.log", "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def supervise(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            self.start()  # it died (the crash point): restart, as a supervisor would

    def seeded(self) -> bool:
        return bool(re.search(r"^  shop: (seeded|already seeded)", self.log(), re.MULTILINE))

    def log(self) -> str:
        return (self.data_dir / "demo.log").read_text(errors="replace")

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        token = (self.data_dir / "owner.token").read_text().strip()
        try:
            r = httpx.request(method, self.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10,
                              **kwargs)  # fmt: skip
        except httpx.TransportError:
            return None
        return r.json() if r.status_code < 300 else None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        state = self.data_dir / "embedded" / "stack.json"  # a stack left by a demo that died for good
        pid = json.loads(state.read_text()).get("pid") if state.exists() else None
        if isinstance(pid, int):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def endpoints(self) -> dict[str, Any]:
        return dict(json.loads((self.data_dir / "embedded" / "fakes.json").read_text()))


def _until(demo: Demo, what: str, check: Any, timeout: float = 600) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        demo.supervise()
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; log tail: {demo.log()[-3000:]}")


def _state(demo: Demo, kind: str, id: str) -> dict[str, Any] | None:
    found = demo.api("GET", f"/api/{kind}/{id}")
    return dict(found["state"]) if found else None


def _jenkins_builds_per_key(endpoints: dict[str, Any]) -> Counter[str]:
    jenkins = endpoints["jenkins"]
    auth = ("admin", jenkins["tokens"]["admin"])
    tree = "jobs[name,builds[number,actions[parameters[name,value]]]]"
    jobs = httpx.get(f"{jenkins['url']}/api/json", params={"tree": tree}, auth=auth, timeout=10).json()[
        "jobs"
    ]
    keys: Counter[str] = Counter()
    for job in jobs:
        for build in job.get("builds") or []:
            for action in build.get("actions") or []:
                for p in action.get("parameters") or []:
                    if p["name"] == "PATHOPS_IDEMPOTENCY_KEY":
                        keys[p["value"]] += 1
    return keys


@pytest.mark.parametrize("crashpoint", TRIALS)
def test_sigkill_during_the_golden_paths_and_restart(crashpoint: str, tmp_path: Path) -> None:
    demo = Demo(tmp_path, free_port())
    try:
        demo.start(crashpoint)
        _until(demo, "the seed", demo.seeded, timeout=180)
        endpoints = demo.endpoints()
        gl = gitlab.Gitlab(endpoints["gitlab"]["url"], private_token=endpoints["gitlab"]["tokens"]["admin"])
        project = gl.projects.get(API)
        text = project.files.get("deploy/deployment.yaml", ref="main").decode().decode()
        broken = re.sub(r"^ *- name: SHOP_DB_URL\n *value: .*\n", "", text, flags=re.MULTILINE)
        bad = project.commits.create({"branch": "main", "commit_message": "Tidy the environment",
                                      "actions": [{"action": "update", "file_path": "deploy/deployment.yaml",
                                                   "content": broken}]}).id  # fmt: skip
        incident_id = f"inc-pf-art-shop-api-{bad[:12]}"
        incident = _until(demo, "the fix MR",
                          lambda: (s := _state(demo, "incidents", incident_id)) and s["phase"] == "proposed" and s)  # fmt: skip
        changeset_id = incident["changeset_id"]
        _until(demo, "the MR head's preflight",
               lambda: (s := _state(demo, "changesets", changeset_id)) and s["head_report"])  # fmt: skip
        _until(demo, "the approval",
               lambda: (r := demo.api("POST", f"/api/changesets/{changeset_id}/approve", json={}))
               and r["phase"] == "approved")  # fmt: skip
        [mr] = project.mergerequests.list(source_branch=incident["branch"], get_all=True)
        project.mergerequests.get(mr.iid).merge()

        def verified() -> dict[str, Any] | None:
            for item in demo.api("GET", "/api/artifacts", params={"limit": 500}) or []:
                state = item["state"]
                if (
                    state.get("changeset_id") == changeset_id
                    and not state.get("stage")
                    and item["phase"] == "verified"
                ):
                    return dict(item["state"])
            return None

        artifact = _until(demo, "the verified fix", verified)
        _until(
            demo,
            "the promotion order",
            lambda: demo.api("POST", f"/api/artifacts/{artifact['id']}/promote", json={}),
        )
        _until(
            demo,
            "the promotion",
            lambda: (s := _state(demo, "artifacts", artifact["id"])) and s["phase"] == "promoted",
        )
        _until(demo, "the incident resolved",
               lambda: (s := _state(demo, "incidents", incident_id)) and s["phase"] == "resolved")  # fmt: skip

        assert demo.starts >= 2, f"{crashpoint} never killed the demo"
        # no CI build twice: one build per idempotency key
        builds = _jenkins_builds_per_key(endpoints)
        assert builds and max(builds.values()) == 1, builds
        # one MR for the fix, and no commit made twice under one key in any repository
        assert len(project.mergerequests.list(source_branch=incident["branch"], get_all=True)) == 1
        for repo in (API, "shop/shop-api-gitops", "shop/shop-meta"):
            messages = [c.message for c in gl.projects.get(repo).commits.list(all=True)]
            keys = Counter(m for msg in messages for m in re.findall(r"PathOps-Key: (\S+)", msg))
            assert not keys or max(keys.values()) == 1, (repo, keys)
    finally:
        demo.stop()
