"""Alerts in, grouped webhooks out: the fake and Debian's real Alertmanager 0.25, side by side.

The real one is not optional here: CI installs it (`apt-get install prometheus-alertmanager`,
.ci/run), and without it the `real` cases fail and say so.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from fakes.alertmanager.dispatch import payload
from fakes.alertmanager.model import Alert, fingerprint, parse_time
from fakes.alertmanager.real import AlertmanagerMissing, Running, start_alertmanager
from fakes.common.asgi import read_body, send_json
from fakes.common.server import ThreadedServer
from tests.conftest import golden

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "alertmanager" / "webhook_payload.schema.json").read_text()
)
FIRING = golden("alertmanager", "webhook_firing.json")
SECRET = "am-secret"


@dataclass
class Receiver:
    """A webhook endpoint that records what arrives; it can answer 500 a few times first."""

    url: str = ""
    got: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    fail_first: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_body(receive))
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                await send_json(send, 500, {"error": "not now"})
                return
            self.got.append(({k.decode().lower(): v.decode() for k, v in scope["headers"]}, body))
        await send_json(send, 200, {})

    def wait(self, count: int, timeout: float = 8.0) -> list[tuple[dict[str, str], dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= count:
                    return list(self.got)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.got)} webhook(s) within {timeout}s, wanted {count}: {self.got}")


@pytest.fixture(scope="module")
def hook_server() -> Iterator[tuple[str, Receiver]]:
    receiver = Receiver()
    with ThreadedServer(receiver) as url:
        yield url, receiver


@pytest.fixture(params=["fake", "real"])
def am(
    request: pytest.FixtureRequest, hook_server: tuple[str, Receiver]
) -> Iterator[tuple[Running, Receiver]]:
    url, receiver = hook_server
    receiver.got.clear()
    receiver.fail_first = 0
    running = start_alertmanager(
        receiver_url=f"{url}/hook",
        secret=SECRET,
        group_by=("alertname", "service"),
        group_wait=0.2,
        group_interval=0.5,
        kind=request.param,
    )
    assert running.kind == request.param
    yield running, receiver
    running.stop()


def _alert(user: str, *, service: str = "checkout", ends: datetime | None = None) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {"alertname": "HighErrorRate", "service": service, "severity": "page", "user": user},
        "annotations": {"summary": "5xx rate above 5%", "runbook_url": "https://example.invalid/runbook"},
        "startsAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat().replace("+00:00", "Z")
    return alert


def _post(am: Running, alerts: list[dict[str, Any]]) -> None:
    response = httpx.post(f"{am.url}/api/v2/alerts", json=alerts)
    assert response.status_code == 200, response.text


def test_two_alerts_of_one_group_arrive_in_one_webhook_shaped_like_the_capture(
    am: tuple[Running, Receiver],
) -> None:
    running, receiver = am
    _post(running, [_alert("alice"), _alert("bob")])
    [(headers, body)] = receiver.wait(1)
    assert headers["authorization"] == f"Bearer {SECRET}"
    assert headers["user-agent"] == "Alertmanager/0.25.0" and headers["content-type"] == "application/json"
    jsonschema.validate(body, SCHEMA)
    assert list(body) == list(FIRING)
    assert [list(a) for a in body["alerts"]] == [list(FIRING["alerts"][0])] * 2
    assert body["groupKey"] == '{}:{alertname="HighErrorRate", service="checkout"}'
    assert body["groupLabels"] == {"alertname": "HighErrorRate", "service": "checkout"}
    assert body["commonLabels"] == {"alertname": "HighErrorRate", "service": "checkout", "severity": "page"}
    assert body["status"] == "firing" and body["truncatedAlerts"] == 0 and body["version"] == "4"
    assert [a["labels"]["user"] for a in body["alerts"]] == ["alice", "bob"]
    assert all(a["endsAt"] == "0001-01-01T00:00:00Z" for a in body["alerts"])
    assert [a["fingerprint"] for a in body["alerts"]] == [fingerprint(a["labels"]) for a in body["alerts"]]
    listed = httpx.get(f"{running.url}/api/v2/alerts", params={"filter": 'user="bob"'}).json()
    assert [a["fingerprint"] for a in listed] == [body["alerts"][1]["fingerprint"]]
    assert listed[0]["status"]["state"] == "active"

    _post(running, [_alert("carol", service="payments")])  # another group: its own webhook
    second = receiver.wait(2)[1][1]
    assert second["groupKey"] == '{}:{alertname="HighErrorRate", service="payments"}'
    groups = httpx.get(f"{running.url}/api/v2/alerts/groups").json()
    assert sorted(g["labels"]["service"] for g in groups) == ["checkout", "payments"]
    assert len(receiver.got) == 2


def test_a_resolved_alert_arrives_as_resolved(am: tuple[Running, Receiver]) -> None:
    running, receiver = am
    alert = _alert("alice")
    _post(running, [alert])
    [(_, firing)] = receiver.wait(1)
    _post(running, [alert | {"endsAt": datetime.now(UTC).isoformat().replace("+00:00", "Z")}])
    resolved = receiver.wait(2)[1][1]
    jsonschema.validate(resolved, SCHEMA)
    assert resolved["status"] == "resolved" and resolved["alerts"][0]["status"] == "resolved"
    assert resolved["alerts"][0]["startsAt"] == firing["alerts"][0]["startsAt"]
    assert parse_time(resolved["alerts"][0]["endsAt"], "endsAt") > parse_time(
        firing["alerts"][0]["startsAt"], ""
    )
    assert resolved["groupKey"] == firing["groupKey"]
    assert httpx.get(f"{running.url}/api/v2/alerts").json() == []


def test_a_failed_delivery_is_sent_again(am: tuple[Running, Receiver]) -> None:
    running, receiver = am
    receiver.fail_first = 1
    _post(running, [_alert("alice")])
    [(_, body)] = receiver.wait(1)
    assert body["alerts"][0]["labels"]["user"] == "alice"


def test_invalid_alerts_are_refused(am: tuple[Running, Receiver]) -> None:
    running, _ = am
    empty = httpx.post(f"{running.url}/api/v2/alerts", json=[{"labels": {"alertname": ""}}])
    assert empty.status_code == 400 and "at least one label pair required" in empty.json()
    backwards = _alert("alice", ends=datetime.now(UTC) - timedelta(hours=1))
    refused = httpx.post(f"{running.url}/api/v2/alerts", json=[backwards])
    assert refused.status_code == 400 and "start time must be before end time" in refused.json()
    assert httpx.post(f"{running.url}/api/v2/alerts", json={"labels": {}}).status_code == 400
    assert httpx.get(f"{running.url}/-/healthy").status_code == 200
    assert httpx.get(f"{running.url}/api/v2/status").json()["cluster"]["status"] == "disabled"


def test_the_fake_builds_the_captured_payload_from_the_captured_alert() -> None:
    """Golden: the fake's payload for the captured alert is the captured webhook, byte for byte."""
    src = FIRING["alerts"][0]
    alert = Alert(src["labels"], src["annotations"], parse_time(src["startsAt"], "startsAt"),
                  parse_time(src["endsAt"], "endsAt"), src["generatorURL"], parse_time(src["startsAt"], ""))  # fmt: skip
    body = payload(receiver="hook", labels={"alertname": "HighErrorRate", "service": "checkout"},
                   key=FIRING["groupKey"], alerts=[alert], external_url="http://vm:19093", max_alerts=0)  # fmt: skip
    assert json.dumps(body) == json.dumps(FIRING)
    assert fingerprint(src["labels"]) == "af825e38bfb1fdb4"


def test_a_missing_real_alertmanager_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(AlertmanagerMissing, match="apt-get install prometheus-alertmanager"):
        start_alertmanager(receiver_url="http://127.0.0.1:9/hook", kind="real", binary=tmp_path / "absent")
    fallback = start_alertmanager(receiver_url="http://127.0.0.1:9/hook", binary=tmp_path / "absent")
    assert fallback.kind == "fake"
    fallback.stop()
