"""The Alertmanager fake: API v2 (../shared/specs/alertmanager/openapi.yaml) and the webhook receiver
pipeline of Alertmanager 0.25 (grouping, group_wait/group_interval/repeat_interval, resolve).

    build(FakeConfig(options={"receiver_url": "http://127.0.0.1:8765/webhooks/alertmanager",
                              "secret": "s3cret", "group_by": "alertname,service"})) -> FakeApp
    python -m fakes.alertmanager --port 9093 --receiver-url URL --secret S [--group-by a,b]

Options (see settings.from_options): receiver_url, secret (sent as `Authorization: Bearer`),
receiver (name, default "webhook"), group_by (default "alertname"; "..." groups by every label),
group_wait / group_interval / repeat_interval / resolve_timeout in seconds (defaults 0.5 / 1 /
3600 / 300: small, for tests), send_resolved (default true), max_alerts, external_url.
Webhooks go out through fakes.common.webhooks, so the drop / duplicate / reorder faults apply.
`fakes.alertmanager.real.start_alertmanager` runs Debian's real Alertmanager when it is installed.
"""

from __future__ import annotations

from fakes.alertmanager.app import AlertmanagerApp
from fakes.alertmanager.dispatch import Dispatcher, utcnow
from fakes.alertmanager.settings import from_options, to_yaml
from fakes.common.accesslog import AccessLog
from fakes.common.asgi import FakeApp
from fakes.common.config import FakeConfig
from fakes.common.faults import Faults
from fakes.common.webhooks import WebhookSender


def build(config: FakeConfig) -> FakeApp:
    setup = from_options(config.options, public_url=config.public_url)
    faults = Faults()
    log = AccessLog(config.data_dir / "access-log.jsonl" if config.data_dir else None)
    external = {"url": setup.external_url}

    def learn_url(url: str) -> None:  # without a configured URL, the first Host header tells it
        external["url"] = external["url"] or url

    dispatcher = Dispatcher(
        setup.route, setup.receiver, WebhookSender(faults), external_url=lambda: external["url"]
    )
    app = AlertmanagerApp(dispatcher, log=log, config_yaml=to_yaml(setup, mask=True),
                          resolve_timeout=setup.resolve_timeout, started=utcnow(), on_first_host=learn_url)  # fmt: skip
    return FakeApp("alertmanager", app, faults=faults, log=log)
