"""The evaluation loop: scrape the cluster, evaluate the rules, notify Alertmanager; every `period_s`.

The cluster is read with the monitor's own bearer token (`GET /api/v1/pods` and
`GET /apis/apps/v1/replicasets`, across namespaces: the identity needs cluster-wide list on both).
A failed scrape marks every rule unhealthy with its error and leaves the alerts as they were (they
are still re-sent), so a cluster hiccup does not resolve and re-open incidents. Alerts go to
`{alertmanager}/api/v2/alerts` in one batch per evaluation, through fakes.common.webhooks, so the
drop / duplicate / reorder faults apply to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from fakes.common.webhooks import WebhookSender
from fakes.monitor.alerting import Alerts, generator_url, go_time
from fakes.monitor.observe import deployments_by_replicaset, scrape
from fakes.monitor.rules import RULES, History, evaluate
from fakes.monitor.settings import Settings

log = logging.getLogger(__name__)
USER_AGENT = "Prometheus/2.45.3"
SENT_KEPT = 100  # the sender's record of deliveries, trimmed to the latest


class ScrapeError(RuntimeError):
    pass


@dataclass
class Health:
    health: str = "unknown"  # "ok", "err" or "unknown" (not evaluated yet)
    last_error: str = ""
    last_evaluation: float = 0.0
    evaluation_time: float = 0.0


class Monitor:
    def __init__(
        self,
        settings: Settings,
        *,
        kube_url: str,
        alertmanager_url: str,
        sender: WebhookSender,
        public_url: str,
    ) -> None:
        self.settings, self.sender = settings, sender
        self.kube_url, self.alertmanager_url = kube_url.rstrip("/"), alertmanager_url.rstrip("/")
        self.public_url = public_url or "http://localhost:9090"
        self.history = History()
        self.alerts = Alerts(settings)
        self.health = Health()
        self.evaluations = 0
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self.kube_url,
            headers={"Authorization": f"Bearer {self.settings.kube_token}"},
            timeout=self.settings.timeout_s,
        )
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    async def _loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.evaluate()
            except Exception:  # a bug in one evaluation must not stop the monitor
                log.exception("monitor evaluation failed")
            await asyncio.sleep(max(0.0, self.settings.period_s - (time.monotonic() - started)))

    async def evaluate(self) -> None:
        """One round: scrape, evaluate every rule, send what is due."""
        now, started = time.time(), time.monotonic()
        try:
            pods, replicasets = await self._scrape()
        except ScrapeError as exc:
            if self.health.last_error != str(exc):  # once per distinct error, not every period
                log.warning("monitor scrape failed: %s", exc)
            self.health = Health("err", str(exc), now, time.monotonic() - started)
        else:
            watched = [p for p in pods if self.settings.watches(p.get("metadata", {}).get("namespace", ""))]
            series = scrape(watched, deployments_by_replicaset(replicasets), now)
            self.history.record(series, now, self.settings.window_s)
            for rule in RULES:
                generator = generator_url(self.public_url, rule.query(self.settings))
                self.alerts.update(
                    rule.name, evaluate(rule, self.history, now, self.settings), now, generator
                )
            self.health = Health("ok", "", now, time.monotonic() - started)
        self.evaluations += 1
        await self._notify(now)

    async def _scrape(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return await self._list("/api/v1/pods"), await self._list("/apis/apps/v1/replicasets")

    async def _list(self, path: str) -> list[dict[str, Any]]:
        if not self.kube_url:
            raise ScrapeError("no cluster to scrape: the kubernetes peer is not configured")
        if self._client is None:
            raise ScrapeError("the monitor is not started")
        try:
            response = await self._client.get(path)
        except httpx.TransportError as exc:
            raise ScrapeError(f"cluster unreachable at {self.kube_url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ScrapeError(f"GET {path}: {response.status_code} {_message(response)}")
        try:
            body = response.json()
        except ValueError:
            raise ScrapeError(f"GET {path}: the answer is not JSON") from None
        items = body.get("items") if isinstance(body, dict) else None
        return [i for i in items or [] if isinstance(i, dict)]

    async def _notify(self, now: float) -> None:
        due = self.alerts.due(now)
        if due and not self.alertmanager_url:  # nobody to tell: resolved alerts are done with
            self.alerts.delivered(due, True)
        if not due or not self.alertmanager_url:
            return
        before = len(self.sender.sent)
        await self.sender.send(
            f"{self.alertmanager_url}/api/v2/alerts",
            body=[a.postable() for a in due],
            headers={"User-Agent": USER_AGENT},
        )
        outcomes = [status for _, status in self.sender.sent[before:]]
        ok = not outcomes or any(200 <= s < 300 for s in outcomes)  # a dropped message is lost unnoticed
        if not ok:
            log.warning("sending %d alert(s) to Alertmanager failed: %s", len(due), outcomes)
        self.alerts.delivered(due, ok)
        del self.sender.sent[:-SENT_KEPT]

    def rule_groups(self) -> list[dict[str, Any]]:
        """`GET /api/v1/rules`' groups: one, `kubernetes-apps`."""
        rules = []
        for rule in RULES:
            alerts = self.alerts.listed(rule.name)
            states = {a.state for a in alerts}
            rules.append(
                {
                    "state": "firing" if "firing" in states else "pending" if states else "inactive",
                    "name": rule.name,
                    "query": rule.query(self.settings),
                    "duration": self.settings.for_s,
                    "keepFiringFor": 0,
                    "labels": {"severity": rule.severity},
                    "annotations": rule.annotations(),
                    "alerts": [a.api() for a in alerts],
                    "health": self.health.health,
                    "lastError": self.health.last_error,
                    "evaluationTime": self.health.evaluation_time,
                    "lastEvaluation": _when(self.health.last_evaluation),
                    "type": "alerting",
                }
            )
        return [
            {
                "name": "kubernetes-apps",
                "file": "/etc/prometheus/rules/kubernetes-apps.yaml",
                "rules": rules,
                "interval": self.settings.period_s,
                "limit": 0,
                "evaluationTime": self.health.evaluation_time,
                "lastEvaluation": _when(self.health.last_evaluation),
            }
        ]


def _when(t: float) -> str:
    return go_time(t) if t else "0001-01-01T00:00:00Z"


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    return (
        str(body.get("message", response.reason_phrase)) if isinstance(body, dict) else response.reason_phrase
    )
