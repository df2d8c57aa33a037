"""The outside world of a golden-path test: a CI server on the Jenkins remote API that runs the
autopilot's jobs by calling the appliance back, as the real jobs and agents would.

It speaks the subset of ../shared/specs/jenkins/remote-access-api.md that the Jenkins adapter uses
(crumb issuer, buildWithParameters -> 201 + Location, queue and build listings with parameters),
runs in a thread on a loopback port, and records every build, so a test can check that no job ran
twice for one idempotency key and that each incident got exactly one merge request.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath

KEY = "PATHOPS_IDEMPOTENCY_KEY"


@dataclass
class Build:
    job: str
    number: int
    params: dict[str, str]


@dataclass
class World:
    """`slow_first_evidence`: hold back the first attempt's evidence callback this many seconds."""

    slow_first_evidence: float = 0.0
    run_jobs: bool = True  # False: only record builds (adapter tests)
    answer_with: int = 0  # answer every request with this status (0: behave)
    builds: list[Build] = field(default_factory=list)
    mrs: Counter[str] = field(default_factory=Counter)
    callbacks: Counter[str] = field(default_factory=Counter)
    port: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def builds_per_key(self) -> Counter[str]:
        return Counter(b.params[KEY] for b in self.builds)

    # --- the Jenkins side -------------------------------------------------------------------
    def app(self) -> Litestar:
        world = self

        @get("/crumbIssuer/api/json")
        async def crumb() -> dict[str, str]:
            return {
                "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                "crumb": "c0ffee",
                "crumbRequestField": "Jenkins-Crumb",
            }

        @get("/queue/api/json")
        async def queue() -> dict[str, Any]:
            return {"_class": "hudson.model.Queue", "items": []}

        @get("/job/{job:str}/api/json")
        async def job(job: FromPath[str]) -> dict[str, Any]:
            builds = [b for b in world.builds if b.job == job][::-1]
            return {
                "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                "name": job,
                "builds": [
                    {
                        "number": b.number,
                        "url": f"{world.url}/job/{job}/{b.number}/",
                        "actions": [
                            {
                                "_class": "hudson.model.ParametersAction",
                                "parameters": [{"name": k, "value": v} for k, v in b.params.items()],
                            }
                        ],
                    }
                    for b in builds
                ],
            }

        @post("/job/{job:str}/buildWithParameters", status_code=201)
        async def build(job: FromPath[str], request: Request[Any, Any, Any]) -> Response[None]:
            if request.headers.get("Jenkins-Crumb") != "c0ffee":
                return Response(None, status_code=403)
            params = {k: str(v) for k, v in (await request.form()).items()}
            b = Build(job=job, number=len(world.builds) + 1, params=params)
            world.builds.append(b)
            if world.run_jobs:
                task = asyncio.create_task(world._run(b))
                world._tasks.add(task)
                task.add_done_callback(world._tasks.discard)
            return Response(
                None, status_code=201, headers={"Location": f"{world.url}/queue/item/{b.number}/"}
            )

        async def fail_on_demand(request: Request[Any, Any, Any]) -> None:
            if world.answer_with:
                raise HTTPException(status_code=world.answer_with, detail="on demand")

        return Litestar([crumb, queue, job, build], before_request=fail_on_demand)

    # --- what the jobs and agents do ------------------------------------------------------
    async def _run(self, b: Build) -> None:
        p = b.params
        incident = p.get("incident_id", "")
        if b.job == "schedule-evidence-collector":
            if p[KEY].endswith(":1") and self.slow_first_evidence:
                await asyncio.sleep(self.slow_first_evidence)
            path, body = (
                "/api/evidence/callback",
                {
                    "incident_id": incident,
                    "snapshot_id": f"snap-{b.number}",
                    "summary": "CrashLoopBackOff: KeyError DATABASE_URL",
                    "commit_sha": "a" * 40,
                },
            )
        elif b.job == "build-fix-agent":
            path, body = (
                "/api/fix/callback",
                {
                    "incident_id": incident,
                    "patch_id": f"patch-{b.number}",
                    "summary": "add missing env DATABASE_URL",
                    "risk": 10,
                },
            )
        elif b.job == "create-mr-from-patch":
            cs = p["changeset_id"]
            self.mrs[cs] += 1
            path, body = (
                "/webhooks/jenkins",
                {
                    "changeset_id": cs,
                    "status": "success",
                    "mr_url": f"http://gitlab.test/shop/api/-/merge_requests/{b.number}",
                },
            )
        else:
            return
        await self._callback(p["CALLBACK_URL"] + path, p["CALLBACK_TOKEN"], body)

    async def _callback(self, url: str, token: str, body: dict[str, Any]) -> None:
        """Deliver like a real job: retry while the appliance is down; 2xx or 409 (duplicate) ends it."""
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient(timeout=5) as client:
            while time.monotonic() < deadline:
                try:
                    r = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
                except (httpx.TransportError, AttributeError):  # AttributeError: httpcore, when the
                    await asyncio.sleep(0.2)  # appliance is killed mid-request (its socket is gone)
                    continue
                self.callbacks[f"{r.status_code}"] += 1
                if r.status_code < 500:
                    return
                await asyncio.sleep(0.2)

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> World:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
