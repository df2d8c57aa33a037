"""Alertmanager's dispatcher for one route and one webhook receiver: group, wait, notify, repeat.

As in Alertmanager 0.25 (dispatch/dispatch.go, notify/notify.go, notify/webhook/webhook.go):
an alert joins the aggregation group of its `group_by` labels; a new group first flushes after
`group_wait` (at once if the alert started longer ago than that), then every `group_interval`.
A flush notifies when the dedup stage says so: new firing alerts, resolved ones (`send_resolved`),
or `repeat_interval` since the last notification. Alerts whose `endsAt` has passed go out as
resolved and then leave the group; an empty group ends. A failed webhook is not logged as
notified, so the next flush sends again (Alertmanager retries with backoff within the flush).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cmp_to_key
from typing import Any

from fakes.alertmanager.model import ZERO, Alert, add, go_time
from fakes.common.webhooks import WebhookSender

log = logging.getLogger(__name__)
USER_AGENT = "Alertmanager/0.25.0"


@dataclass(frozen=True)
class Route:
    receiver: str = "webhook"
    group_by: tuple[str, ...] = ("alertname",)  # ("...",): every label
    group_wait: float = 0.5
    group_interval: float = 1.0
    repeat_interval: float = 3600.0


@dataclass(frozen=True)
class Receiver:
    url: str = ""
    secret: str = ""  # http_config.authorization.credentials (type Bearer)
    send_resolved: bool = True
    max_alerts: int = 0


@dataclass(frozen=True)
class Notified:
    """The notification log's entry for a group: what the receiver was last told, and when."""

    firing: frozenset[str]
    resolved: frozenset[str]
    at: datetime


def group_labels(labels: dict[str, str], group_by: tuple[str, ...]) -> dict[str, str]:
    return dict(labels) if "..." in group_by else {k: v for k, v in labels.items() if k in group_by}


def label_string(labels: dict[str, str]) -> str:
    """model.LabelSet.String(): `{a="x", b="y"}`, names sorted, values quoted."""
    return "{" + ", ".join(f"{k}={json.dumps(labels[k], ensure_ascii=False)}" for k in sorted(labels)) + "}"


def needs_update(
    entry: Notified | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    *,
    send_resolved: bool,
    repeat: float,
    now: datetime,
) -> bool:
    """notify.DedupStage.needsUpdate."""
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        return bool(entry.firing)
    if send_resolved and not resolved <= entry.resolved:
        return True
    return add(entry.at, repeat) < now


def _cmp(a: Alert, b: Alert) -> int:
    """types.AlertSlice.Less: by `job`, then `instance`, then label set order."""
    for key in ("job", "instance"):
        x, y = a.labels.get(key), b.labels.get(key)
        if x is None and y is None:
            continue
        if x is None:
            return 1
        if y is None:
            return -1
        if x != y:
            return -1 if x < y else 1
    return -1 if _before(a.labels, b.labels) else 1 if _before(b.labels, a.labels) else 0


def _before(ls: dict[str, str], other: dict[str, str]) -> bool:
    """model.LabelSet.Before."""
    if len(ls) != len(other):
        return len(ls) < len(other)
    for name in sorted(set(ls) | set(other)):
        if name not in ls:
            return True
        if name not in other:
            return False
        if ls[name] != other[name]:
            return ls[name] < other[name]
    return False


def common(sets: list[dict[str, str]]) -> dict[str, str]:
    if not sets:
        return {}
    first, rest = sets[0], sets[1:]
    return {k: v for k, v in sorted(first.items()) if all(s.get(k) == v for s in rest)}


def payload(
    *,
    receiver: str,
    labels: dict[str, str],
    key: str,
    alerts: list[Alert],
    external_url: str,
    max_alerts: int,
) -> dict[str, Any]:
    """The webhook body, version 4, key for key as Alertmanager 0.25 sends it."""
    kept = alerts[:max_alerts] if max_alerts > 0 else alerts
    firing = any(a.ends_at == ZERO for a in kept)
    return {
        "receiver": receiver,
        "status": "firing" if firing else "resolved",
        "alerts": [
            {
                "status": "firing" if a.ends_at == ZERO else "resolved",
                "labels": dict(sorted(a.labels.items())),
                "annotations": dict(sorted(a.annotations.items())),
                "startsAt": go_time(a.starts_at),
                "endsAt": go_time(a.ends_at),
                "generatorURL": a.generator_url,
                "fingerprint": a.fingerprint,
            }
            for a in kept
        ],
        "groupLabels": dict(sorted(labels.items())),
        "commonLabels": common([a.labels for a in kept]),
        "commonAnnotations": common([a.annotations for a in kept]),
        "externalURL": external_url,
        "version": "4",
        "groupKey": key,
        "truncatedAlerts": len(alerts) - len(kept),
    }


@dataclass
class Group:
    labels: dict[str, str]
    key: str
    alerts: dict[str, Alert] = field(default_factory=dict)
    notified: Notified | None = None
    flushed: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        route: Route,
        receiver: Receiver,
        sender: WebhookSender,
        *,
        external_url: Callable[[], str],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.route, self.receiver, self.sender = route, receiver, sender
        self.external_url, self.clock = external_url, clock
        self.alerts: dict[str, Alert] = {}  # the alert store (provider/mem)
        self.groups: dict[str, Group] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def put(self, alerts: list[Alert]) -> None:
        now = self.clock()
        for alert in alerts:
            fp = alert.fingerprint
            old = self.alerts.get(fp)
            if old is not None and (
                old.starts_at < alert.ends_at < old.ends_at or old.starts_at < alert.starts_at < old.ends_at
            ):
                alert = old.merge(alert)
            self.alerts[fp] = alert
            self._insert(alert, now)

    def _insert(self, alert: Alert, now: datetime) -> None:
        labels = group_labels(alert.labels, self.route.group_by)
        key = "{}:" + label_string(labels)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(labels, key)
            task = asyncio.ensure_future(self._run(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        group.alerts[alert.fingerprint] = alert
        if not group.flushed and add(alert.starts_at, self.route.group_wait) < now:
            group.wake.set()

    async def _run(self, group: Group) -> None:
        delay = self.route.group_wait
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(group.wake.wait(), timeout=delay)
            group.wake.clear()
            group.flushed, delay = True, self.route.group_interval
            await self._flush(group)
            if not group.alerts:
                if self.groups.get(group.key) is group:
                    del self.groups[group.key]
                return

    async def _flush(self, group: Group) -> None:
        now = self.clock()
        alerts = [a if a.resolved_at(now) else replace(a, ends_at=ZERO) for a in group.alerts.values()]
        if not alerts:
            return
        alerts.sort(key=cmp_to_key(_cmp))
        if not await self._notify(group, alerts, now):
            return
        for a in alerts:
            current = group.alerts.get(a.fingerprint)
            if a.ends_at != ZERO and current is not None and current.updated_at == a.updated_at:
                del group.alerts[a.fingerprint]

    async def _notify(self, group: Group, alerts: list[Alert], now: datetime) -> bool:
        firing = frozenset(a.fingerprint for a in alerts if a.ends_at == ZERO)
        resolved = frozenset(a.fingerprint for a in alerts if a.ends_at != ZERO)
        if not needs_update(group.notified, firing, resolved, send_resolved=self.receiver.send_resolved,
                            repeat=self.route.repeat_interval, now=now):  # fmt: skip
            return True
        sent = alerts if self.receiver.send_resolved else [a for a in alerts if a.ends_at == ZERO]
        if sent and not await self._send(group, sent):
            return False
        group.notified = Notified(firing, resolved, now)
        return True

    async def _send(self, group: Group, alerts: list[Alert]) -> bool:
        if not self.receiver.url:
            log.info("no receiver url: notification for %s not sent", group.key)
            return True
        body = payload(receiver=self.route.receiver, labels=group.labels, key=group.key, alerts=alerts,
                       external_url=self.external_url(), max_alerts=self.receiver.max_alerts)  # fmt: skip
        headers = {"User-Agent": USER_AGENT}
        if self.receiver.secret:
            headers["Authorization"] = f"Bearer {self.receiver.secret}"
        before = len(self.sender.sent)
        await self.sender.send(self.receiver.url, body=body, headers=headers)
        outcomes = [status for _, status in self.sender.sent[before:]]
        return all(200 <= s < 300 for s in outcomes)

    def groups_with(self, keep: Callable[[Alert], bool]) -> list[tuple[Group, list[Alert]]]:
        out = []
        for group in self.groups.values():
            alerts = sorted((a for a in group.alerts.values() if keep(a)), key=cmp_to_key(_cmp))
            if alerts:
                out.append((group, alerts))
        return sorted(out, key=lambda ga: label_string(ga[0].labels))

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
