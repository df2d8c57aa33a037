"""The monitor fake: the embedded target's stand-in for Prometheus with kube-state-metrics and the
kubernetes-mixin alert rules (KubePodCrashLooping, KubePodOOMKilled, KubeContainerWaiting).

    build(FakeConfig(peers={"kubernetes": KUBE_URL, "alertmanager": AM_URL},
                     options={"kube_token": "...", "period_s": "2"})) -> MonitorFake
    python -m fakes.monitor --port 9090 --kubernetes URL --alertmanager URL --option kube_token=T

Every `period_s` it lists pods and ReplicaSets across namespaces with `kube_token` (an identity
with cluster-wide list), keeps the containers of the namespaces matching `namespaces`, evaluates
the rules (rules.py) and posts firing and resolved alerts to `{peers["alertmanager"]}/api/v2/alerts`
as Prometheus does (alerting.py); without an Alertmanager peer it only evaluates. Options: see
settings.py. API: `GET /api/v1/alerts`, `GET /api/v1/rules` (api.py), plus the admin API of every
fake (`/_fake/health`, `/_fake/faults`, `/_fake/access-log`); the drop / duplicate / reorder faults
apply to the posts to Alertmanager (match `*/api/v2/alerts`).
"""

from __future__ import annotations

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import FakeApp
from fakes.common.config import FakeConfig
from fakes.common.faults import Faults
from fakes.common.webhooks import WebhookSender
from fakes.monitor.api import MonitorApi
from fakes.monitor.monitor import Monitor
from fakes.monitor.settings import Settings


class MonitorFake(FakeApp):
    """The FakeApp, with its monitor at hand (tests look at its evaluations and alerts)."""

    def __init__(self, api: MonitorApi, faults: Faults, log: AccessLog) -> None:
        super().__init__("monitor", api, faults=faults, log=log)
        self.monitor = api.monitor


def build(config: FakeConfig) -> MonitorFake:
    settings = Settings.from_options(config.options)
    faults = Faults()
    log = AccessLog(config.data_dir / "access-log.jsonl" if config.data_dir else None)
    monitor = Monitor(
        settings,
        kube_url=config.peers.get("kubernetes", ""),
        alertmanager_url=config.peers.get("alertmanager", ""),
        sender=WebhookSender(faults, timeout=settings.timeout_s),
        public_url=config.public_url,
    )
    return MonitorFake(MonitorApi(monitor, log=log), faults, log)
