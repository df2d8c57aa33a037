"""The kubernetes fake (see fakes/__init__.py): the apiserver subset the official `kubernetes` client
uses, and a simulated node that runs pods' containers as local processes.

    build(config) -> FakeApp          python -m fakes.kubernetes --port N [--data-dir D] [--token T=identity]

Served: namespaces, nodes (read), pods (+log, +status), events, configmaps, secrets, serviceaccounts,
services; apps/v1 deployments (+scale) and replicasets; batch/v1 jobs. Verbs create, get, list, watch,
update, patch (strategic merge, merge, JSON patch, apply), delete (propagation), deletecollection.
Discovery (/api, /apis, ...) and /version. Errors are `Status` objects (see errors.py).

The node (controllers/, kubelet/) starts with the app's lifespan (or on first request): Deployment,
ReplicaSet, Job and namespace controllers, and a kubelet that pulls images from OCI registries, runs
containers as processes (env, probes, memory limits, restarts, logs) and records events.

Options (`FakeConfig.options`): see settings.py and auth.py.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import FakeApp
from fakes.common.config import FakeConfig
from fakes.common.faults import Faults
from fakes.kubernetes.api import KubeApi
from fakes.kubernetes.auth import Authorizer
from fakes.kubernetes.controllers import ControlLoop, namespace
from fakes.kubernetes.events import Recorder
from fakes.kubernetes.kubelet.container import NodeContext
from fakes.kubernetes.kubelet.images import ImageStore
from fakes.kubernetes.kubelet.node import Kubelet
from fakes.kubernetes.logs import LogStore
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.settings import NodeSettings
from fakes.kubernetes.store import Store


class Cluster:
    """The control plane and the node around one store; `start()` / `stop()` from the app's lifespan."""

    def __init__(self, config: FakeConfig) -> None:
        self.settings = NodeSettings.from_options(config.options, config.public_url)
        self._own_workdir = config.data_dir is None
        self.workdir = config.data_dir or Path(tempfile.mkdtemp(prefix="fake-kubernetes-"))
        if self._own_workdir:  # also when the app is built but never served
            atexit.register(shutil.rmtree, self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.workdir / "state.json" if config.data_dir else None)
        self.registry = Registry(self.store)
        self.recorder = Recorder(self.registry, self.settings.node_name)
        self.logs = LogStore()
        images = ImageStore(self.workdir / "images", preloaded=self.settings.preloaded_images)
        ctx = NodeContext(self.registry, self.recorder, self.logs, images, self.settings, self.workdir)
        self.kubelet = Kubelet(ctx)
        self.loop = ControlLoop(self.registry, self.recorder, self.kubelet, self.settings)
        wanted = [n.strip() for n in config.options.get("namespaces", "").split(",") if n.strip()]
        namespace.ensure(self.registry, wanted)

    async def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class KubernetesFake(FakeApp):
    """The FakeApp, with its cluster at hand (tests look at the control loop's errors)."""

    def __init__(self, api: KubeApi, cluster: Cluster, log: AccessLog) -> None:
        super().__init__("kubernetes", api, faults=Faults(), log=log)
        self.cluster = cluster


def build(config: FakeConfig) -> KubernetesFake:
    log = AccessLog(config.data_dir / "access-log.jsonl" if config.data_dir else None)
    cluster = Cluster(config)
    authorizer = Authorizer.from_options(config.tokens, config.options)
    api = KubeApi(
        registry=cluster.registry, authorizer=authorizer, access=log, logs=cluster.logs, runtime=cluster
    )
    return KubernetesFake(api, cluster, log)
