"""The node: a scheduler that binds every pod to it, the Node object, and one PodWorker per pod."""

from __future__ import annotations

import asyncio
import contextlib
import os

from fakes.kubernetes.deletion import finish_pod
from fakes.kubernetes.kubelet.container import NodeContext
from fakes.kubernetes.kubelet.pod import POD_IP, PodWorker
from fakes.kubernetes.resources import NODES, PODS
from fakes.kubernetes.store import Obj


class Kubelet:
    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.workers: dict[str, PodWorker] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def register_node(self) -> None:
        name = self.ctx.settings.node_name
        registry = self.ctx.registry
        existing = registry.find(NODES, "", name)
        node = existing or registry.create(NODES, "", {
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  "kubernetes.io/arch": "amd64", "node-role.kubernetes.io/control-plane": ""}},
            "spec": {},
        })  # fmt: skip
        capacity = {"cpu": str(os.cpu_count() or 1), "memory": f"{_memory_kib()}Ki", "pods": "110"}
        status = {
            "capacity": capacity,
            "allocatable": capacity,
            "addresses": [{"type": "InternalIP", "address": POD_IP}, {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": node["metadata"]["creationTimestamp"],
                            "lastTransitionTime": node["metadata"]["creationTimestamp"]}],
            "nodeInfo": {"architecture": "amd64", "bootID": "", "containerRuntimeVersion": "containerd://1.7.0-fake",
                         "kernelVersion": os.uname().release, "kubeProxyVersion": "", "kubeletVersion": "v1.27.16",
                         "machineID": "", "operatingSystem": "linux", "osImage": "PathOps fake node",
                         "systemUUID": ""},
        }  # fmt: skip
        registry.write_status(NODES, node, status)

    def sync(self) -> None:
        """Level-triggered: bind new pods, start workers, terminate deleted pods, forget vanished ones."""
        seen: set[str] = set()
        for pod in self.ctx.registry.store.list(PODS.key):
            uid = pod["metadata"]["uid"]
            seen.add(uid)
            if not pod["spec"].get("nodeName"):
                pod = self._bind(pod)
            worker = self.workers.get(uid)
            if worker is None:
                if pod["metadata"].get("deletionTimestamp"):
                    finish_pod(self.ctx.registry, pod)
                    continue
                if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                    continue
                worker = self.workers[uid] = PodWorker(self.ctx, pod)
                worker.start()
                continue
            worker.update(pod)
            if pod["metadata"].get("deletionTimestamp") and not worker.terminating:
                self._spawn(worker.terminate())
        for uid in [u for u in self.workers if u not in seen]:
            worker = self.workers.pop(uid)
            if worker.terminating:
                continue
            self._spawn(self._vanished(worker))

    async def _vanished(self, worker: PodWorker) -> None:
        await worker.terminate(remove=False, grace=0)
        worker.forget()

    def _bind(self, pod: Obj) -> Obj:
        node = self.ctx.settings.node_name
        pod["spec"]["nodeName"] = node
        bound = self.ctx.registry.store.put(PODS.key, pod)
        meta = pod["metadata"]
        self.ctx.recorder.normal(bound, "Scheduled", f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
                                 component="default-scheduler")  # fmt: skip
        return bound

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def shutdown(self) -> None:
        """The node goes down: every container is stopped (SIGTERM, SIGKILL after 2 s); pods stay as they are."""
        workers = list(self.workers.values())
        self.workers.clear()
        await asyncio.gather(*(w.terminate(remove=False, grace=2.0) for w in workers), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _memory_kib() -> int:
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        return int(f.readline().split()[1])
    return 8 * 1024 * 1024
