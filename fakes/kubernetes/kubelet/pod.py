"""One pod on the node: init containers in order, then the containers side by side; the pod's status
(phase, conditions, container statuses) published from theirs; graceful termination on delete."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path
from typing import Any

from fakes.kubernetes.deletion import finish_pod
from fakes.kubernetes.kubelet.container import ContainerRunner, NodeContext
from fakes.kubernetes.meta import now, set_condition
from fakes.kubernetes.resources import PODS
from fakes.kubernetes.store import Obj

POD_IP = "127.0.0.1"


class PodWorker:
    def __init__(self, ctx: NodeContext, pod: Obj) -> None:
        self.ctx, self.pod = ctx, pod
        self.uid: str = pod["metadata"]["uid"]
        self.dir: Path = ctx.workdir / "pods" / self.uid
        self.inits = [
            ContainerRunner(ctx, self, c, init=True) for c in pod["spec"].get("initContainers") or []
        ]
        self.mains = [ContainerRunner(ctx, self, c) for c in pod["spec"]["containers"]]
        self.initialized = not self.inits
        self.init_failed = False
        self.started_at = (pod.get("status") or {}).get("startTime") or now()
        self.task: asyncio.Task[None] | None = None
        self.terminating = False
        self._tasks: set[asyncio.Task[None]] = set()
        for runner in self.inits + self.mains:  # a node restart keeps the counts
            previous = _find(pod, runner.name, runner.init)
            runner.restart_count = int(previous.get("restartCount", 0)) if previous else 0

    def root(self, container: str) -> Path:
        return self.dir / container / "rootfs"

    def start(self) -> None:
        self.publish()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        for runner in self.inits:
            await runner.run()
            if runner.exit_code != 0:
                self.init_failed = True
                self.publish()
                return
        self.initialized = True
        self.publish()
        await asyncio.gather(*(runner.run() for runner in self.mains))

    def update(self, pod: Obj) -> None:
        """A newer version of the pod: a changed image restarts its container."""
        self.pod = pod
        for runner in self.mains:
            spec = next(c for c in pod["spec"]["containers"] if c["name"] == runner.name)
            if spec.get("image") != runner.spec.get("image") and not runner.done:
                runner.spec = spec
                task = asyncio.create_task(runner.restart_for_change(spec))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def terminate(self, *, remove: bool = True, grace: float | None = None) -> None:
        """Stop every container (SIGTERM, then SIGKILL after the grace period); then the pod is gone."""
        if self.terminating:
            return
        self.terminating = True
        await asyncio.gather(*(r.stop(grace) for r in self.inits + self.mains))
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if remove:
            finish_pod(self.ctx.registry, self.pod)
            self.forget()

    def forget(self) -> None:
        self.ctx.logs.drop(self.uid)
        shutil.rmtree(self.dir, ignore_errors=True)

    def phase(self) -> str:
        if self.init_failed:
            return "Failed"
        if not self.initialized:
            return "Pending"
        if all(r.done for r in self.mains):
            return "Succeeded" if all(r.exit_code == 0 for r in self.mains) else "Failed"
        if any(not r.container_id and r.restart_count == 0 for r in self.mains):
            return "Pending"
        return "Running"

    def publish(self) -> None:
        if self.terminating:
            return
        status: dict[str, Any] = dict(self.pod.get("status") or {})
        phase = self.phase()
        ready_all = all(r.ready for r in self.mains) and phase == "Running"
        unready = [r.name for r in self.mains if not r.ready]
        status.update(phase=phase, hostIP=POD_IP, podIP=POD_IP, podIPs=[{"ip": POD_IP}],
                      startTime=self.started_at)  # fmt: skip
        status["conditions"] = [dict(c) for c in status.get("conditions") or []]
        if self.initialized:
            set_condition(status, "Initialized", "True")
        else:
            waiting = [r.name for r in self.inits if not r.done]
            set_condition(status, "Initialized", "False", "ContainersNotInitialized",
                          f"containers with incomplete status: [{' '.join(waiting)}]")  # fmt: skip
        for kind in ("Ready", "ContainersReady"):
            if ready_all:
                set_condition(status, kind, "True")
            elif phase in ("Succeeded", "Failed"):
                set_condition(status, kind, "False", "PodCompleted")
            else:
                set_condition(status, kind, "False", "ContainersNotReady",
                              f"containers with unready status: [{' '.join(unready)}]")  # fmt: skip
        set_condition(status, "PodScheduled", "True")
        order = ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        status["conditions"].sort(key=lambda c: order.index(c["type"]) if c["type"] in order else 99)
        status["containerStatuses"] = [r.status() for r in self.mains]
        if self.inits:
            status["initContainerStatuses"] = [r.status() for r in self.inits]
        written = self.ctx.registry.write_status(PODS, self.pod, status)
        if written is not None:
            self.pod = written


def _find(pod: Obj, name: str, init: bool) -> dict[str, Any] | None:
    key = "initContainerStatuses" if init else "containerStatuses"
    return next((s for s in (pod.get("status") or {}).get(key) or [] if s.get("name") == name), None)
