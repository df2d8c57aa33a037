"""The control plane's controllers, and the loop that runs them with the kubelet.

Level-triggered: any change in the store (and a periodic resync, for time-based rules such as back-off,
progress deadlines and TTLs) wakes the loop, which reconciles every controller once per pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback

from fakes.kubernetes.controllers import deployment, job, namespace, replicaset
from fakes.kubernetes.events import Recorder
from fakes.kubernetes.kubelet.node import Kubelet
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.settings import NodeSettings
from fakes.kubernetes.store import Change

log = logging.getLogger(__name__)


class ControlLoop:
    def __init__(
        self, registry: Registry, recorder: Recorder, kubelet: Kubelet, settings: NodeSettings
    ) -> None:
        self.registry, self.recorder, self.kubelet, self.settings = registry, recorder, kubelet, settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = registry.store.subscribe(self._changed)
        self.errors: list[str] = []

    def _changed(self, change: Change) -> None:
        if change.resource != "events":
            self._wake.set()

    def start(self) -> None:
        self.kubelet.register_node()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.resync_s)
            self._wake.clear()
            try:
                self.reconcile()
            except Exception:  # the loop must outlive one bad pass; the error is kept for tests to see
                log.exception("reconcile failed")
                self.errors.append(traceback.format_exc())
            await asyncio.sleep(0)

    def reconcile(self) -> None:
        namespace.reconcile(self.registry)
        deployment.reconcile(self.registry, self.recorder)
        replicaset.reconcile(self.registry, self.recorder)
        job.reconcile(self.registry, self.recorder, self.settings)
        self.kubelet.sync()
        self.registry.store.flush()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._unsubscribe()
        await self.kubelet.shutdown()
        self.registry.store.flush()
