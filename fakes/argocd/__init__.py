"""The Argo CD fake: its REST API plus an application controller that syncs git into the cluster.

`build(config)`: `config.peers["kubernetes"]` is the cluster's API URL; options:
`kube_token` (Argo CD's own identity in the cluster), `git_token` (to clone from the GitLab fake),
`notify_url` / `notify_token` (the notifications webhook), `webhook_secret` (GitLab push webhook),
`admin_password` (POST /api/v1/session), `readers` (comma-separated read-only identities),
`period_s` (reconcile period, default 3). `config.tokens` maps API tokens to identities.
"""

from __future__ import annotations

from fakes.argocd.api import State, create_api
from fakes.argocd.kube import Kube
from fakes.argocd.reconcile import Controller
from fakes.common.asgi import FakeApp
from fakes.common.config import FakeConfig
from fakes.common.faults import Faults
from fakes.common.webhooks import WebhookSender


def build(config: FakeConfig) -> FakeApp:
    opts = config.options
    state = State(
        tokens=config.tokens,
        password=opts.get("admin_password", "admin"),
        webhook_secret=opts.get("webhook_secret", ""),
        readers={r for r in opts.get("readers", "").split(",") if r},
        path=config.data_dir / "applications.json" if config.data_dir else None,
    )
    faults = Faults()
    api = create_api(state)

    async def start() -> None:
        cluster = config.peers.get("kubernetes")
        if cluster:
            state.controller = Controller(
                apps=state.apps,
                kube=Kube(cluster, opts.get("kube_token", "")),
                sender=WebhookSender(faults),
                notify_url=opts.get("notify_url", ""),
                notify_token=opts.get("notify_token", ""),
                git_token=opts.get("git_token", ""),
                period_s=float(opts.get("period_s", "3")),
            )
            await state.controller.start()

    async def stop() -> None:
        if state.controller is not None:
            await state.controller.stop()

    api.on_startup.append(start)
    api.on_shutdown.append(stop)
    return FakeApp("argocd", api, faults=faults, log=state.log)
