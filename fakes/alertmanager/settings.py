"""One Alertmanager setup (a root route, one webhook receiver) from options, and as alertmanager.yml.

The same YAML configures the real Alertmanager (real.py) and is what the fake reports as its
configuration in `/api/v2/status` (with the credentials shown as `<secret>`, as Alertmanager does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from fakes.alertmanager.dispatch import Receiver, Route


@dataclass(frozen=True)
class Setup:
    route: Route
    receiver: Receiver
    resolve_timeout: float = 300.0
    external_url: str = ""


def from_options(options: dict[str, str], *, public_url: str = "") -> Setup:
    """Options: receiver_url, secret, receiver, group_by (comma list), group_wait, group_interval,
    repeat_interval, resolve_timeout (seconds), send_resolved, max_alerts, external_url."""
    group_by = tuple(g.strip() for g in options.get("group_by", "alertname").split(",") if g.strip())
    route = Route(
        receiver=options.get("receiver", "webhook"),
        group_by=group_by,
        group_wait=float(options.get("group_wait", "0.5")),
        group_interval=float(options.get("group_interval", "1")),
        repeat_interval=float(options.get("repeat_interval", "3600")),
    )
    receiver = Receiver(
        url=options.get("receiver_url", ""),
        secret=options.get("secret", ""),
        send_resolved=options.get("send_resolved", "true").lower() != "false",
        max_alerts=int(options.get("max_alerts", "0")),
    )
    return Setup(route, receiver, float(options.get("resolve_timeout", "300")),
                 options.get("external_url", public_url))  # fmt: skip


def go_duration(seconds: float) -> str:
    """prometheus/common model.Duration.String()."""
    ms = round(seconds * 1000)
    if ms <= 0:
        return "0s"
    out = ""
    for unit, mult, exact in (("y", 31_536_000_000, True), ("w", 604_800_000, True), ("d", 86_400_000, False),
                              ("h", 3_600_000, False), ("m", 60_000, False), ("s", 1000, False), ("ms", 1, False)):  # fmt: skip
        if exact and ms % mult:
            continue
        if ms // mult:
            out += f"{ms // mult}{unit}"
            ms %= mult
    return out


def to_yaml(setup: Setup, *, mask: bool = False) -> str:
    route, receiver = setup.route, setup.receiver
    hook: dict[str, Any] = {"url": receiver.url, "send_resolved": receiver.send_resolved,
                            "max_alerts": receiver.max_alerts}  # fmt: skip
    if receiver.secret:
        credentials = "<secret>" if mask else receiver.secret
        hook["http_config"] = {"authorization": {"type": "Bearer", "credentials": credentials}}
    config = {
        "global": {"resolve_timeout": go_duration(setup.resolve_timeout)},
        "route": {
            "receiver": route.receiver,
            "group_by": list(route.group_by),
            "group_wait": go_duration(route.group_wait),
            "group_interval": go_duration(route.group_interval),
            "repeat_interval": go_duration(route.repeat_interval),
        },
        "receivers": [{"name": route.receiver, **({"webhook_configs": [hook]} if receiver.url else {})}],
    }
    return yaml.safe_dump(config, sort_keys=False)
