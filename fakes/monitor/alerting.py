"""Prometheus' alert lifecycle for rule results: pending -> firing -> resolved, and what to send when.

As rules/alerting.go: a new result is `pending` from `activeAt`, `firing` once it held `for_s`
(at once when 0); a result that disappears drops a pending alert and resolves a firing one. Firing
alerts are sent every `resend_s` with `endsAt` = now + `valid_for_s`, so Alertmanager resolves them
by itself if the sender stops; a resolved alert is sent once more with `endsAt` = its resolution
time (again each `resend_s` until a send succeeds, for at most 15 minutes), then forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from fakes.monitor.rules import Result
from fakes.monitor.settings import Settings

PENDING, FIRING, INACTIVE = "pending", "firing", "inactive"
RESOLVED_RETENTION_S = 15 * 60.0


def go_time(t: float) -> str:
    """time.Time's JSON in UTC: RFC 3339 with the fraction's trailing zeros trimmed."""
    when = datetime.fromtimestamp(t, UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def go_exp(value: float) -> str:
    """strconv.FormatFloat(v, 'e', -1, 64): the shortest exponent form, e.g. 1 -> "1e+00"."""
    for digits in range(17):
        text = f"{value:.{digits}e}"
        if float(text) == value:
            return text
    return f"{value:.16e}"


def generator_url(base: str, expr: str) -> str:
    return f"{base.rstrip('/')}/graph?g0.expr={quote(expr, safe='')}&g0.tab=1"


@dataclass
class Alert:
    rule: str
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float
    active_at: float
    generator: str
    state: str = PENDING
    fired_at: float = 0.0
    resolved_at: float = 0.0
    last_sent_at: float = 0.0
    valid_until: float = 0.0

    def postable(self) -> dict[str, object]:
        """The form Alertmanager's `POST /api/v2/alerts` takes."""
        ends = self.resolved_at if self.state == INACTIVE else self.valid_until
        return {
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": go_time(self.fired_at),
            "endsAt": go_time(ends),
            "generatorURL": self.generator,
        }

    def api(self) -> dict[str, object]:
        """The form of `GET /api/v1/alerts` and of a rule's alerts in `GET /api/v1/rules`."""
        return {
            "labels": self.labels,
            "annotations": self.annotations,
            "state": self.state,
            "activeAt": go_time(self.active_at),
            "value": go_exp(self.value),
        }


@dataclass
class Alerts:
    settings: Settings
    active: dict[tuple[tuple[str, str], ...], Alert] = field(default_factory=dict)

    def update(self, rule: str, results: list[Result], now: float, generator: str) -> None:
        """Fold one evaluation of `rule` into its alerts."""
        seen = set()
        for result in results:
            key = tuple(sorted(result.labels.items()))
            seen.add(key)
            alert = self.active.get(key)
            if alert is None or alert.state == INACTIVE:
                alert = Alert(rule, result.labels, result.annotations, result.value, now, generator)
                self.active[key] = alert
            alert.value, alert.annotations = result.value, result.annotations
            if alert.state == PENDING and now - alert.active_at >= self.settings.for_s:
                alert.state, alert.fired_at = FIRING, now
        for key, alert in list(self.active.items()):
            if alert.rule != rule or key in seen:
                continue
            if alert.state == PENDING:
                del self.active[key]
            elif alert.state == FIRING:
                alert.state, alert.resolved_at = INACTIVE, now
            elif now - alert.resolved_at > RESOLVED_RETENTION_S:
                del self.active[key]

    def due(self, now: float) -> list[Alert]:
        """The alerts to send now, stamped as sent (Prometheus' needsSending)."""
        out = []
        for alert in self.active.values():
            if alert.state == PENDING:
                continue
            if alert.resolved_at > alert.last_sent_at or alert.last_sent_at + self.settings.resend_s <= now:
                alert.last_sent_at = now
                alert.valid_until = now + self.settings.valid_for_s
                out.append(alert)
        return out

    def delivered(self, alerts: list[Alert], ok: bool) -> None:
        """After a send: a resolved alert that got through is forgotten; one that did not goes again."""
        for alert in alerts:
            if alert.state != INACTIVE:
                continue
            key = tuple(sorted(alert.labels.items()))
            if ok and self.active.get(key) is alert:
                del self.active[key]
            elif not ok:
                alert.last_sent_at = 0.0

    def listed(self, rule: str | None = None) -> list[Alert]:
        """The pending and firing alerts (of one rule), as Prometheus lists them."""
        return [a for a in self.active.values() if a.state != INACTIVE and rule in (None, a.rule)]
