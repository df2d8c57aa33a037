"""The Verification Agent as a subprocess against a tiny HTTP app on loopback, with an OpenAPI contract;
also how every agent's callback behaves (retries, 409, refusals, the token from object storage)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from appliance.agents import bundle
from tests.agents.conftest import ControlPlane, World, run_agent
from tests.support.world import free_port

CONTRACT = """
openapi: 3.0.3
info: {title: shop-api, version: "1"}
paths:
  /items:
    get:
      responses:
        "200":
          description: the items
          content:
            application/json:
              schema:
                type: array
                items: {$ref: "#/components/schemas/Item"}
  /items/{id}:
    get:
      responses:
        "200": {description: one item}
  /stats:
    get:
      responses:
        "2XX":
          description: counts
          content:
            application/json:
              schema:
                type: object
                required: [count]
                properties:
                  count: {type: integer}
                  note: {type: string, nullable: true}
components:
  schemas:
    Item:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
"""
GOOD = {
    "/healthz": (200, {"status": "ok"}),
    "/": (200, {"app": "shop-api"}),
    "/items": (200, [{"id": 1, "name": "mug"}]),
    "/stats": (200, {"count": 1, "note": None}),
}


class App(ThreadingHTTPServer):
    routes: dict[str, tuple[int, Any]]


class Handler(BaseHTTPRequestHandler):
    server: App

    def do_GET(self) -> None:
        status, body = self.server.routes.get(self.path, (404, {"detail": "not found"}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    server = App(("127.0.0.1", 0), Handler)
    server.routes = dict(GOOD)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def verify_env(world: World, app: App, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in world.env().items() if not k.startswith(("KUBE", "TARGET_NS", "TIME_"))}
    del env["INCIDENT_ID"], env["TARGET_NAMESPACE"]
    return {**env, "PREFLIGHT_ID": "pf-7", "TARGET_URL": f"http://127.0.0.1:{app.server_port}", **extra}


def report_of(world: World, report_id: str) -> dict[str, Any]:
    data = world.get_object("pathops-reports", f"reports/{report_id}.json")
    assert data is not None
    report: dict[str, Any] = json.loads(data)
    assert (
        bundle.content_id("rep", bundle.canonical({k: v for k, v in report.items() if k != "report_id"}))
        == report_id
    )
    return report


def test_an_app_that_keeps_its_contract_passes(world: World, app: App, control: ControlPlane) -> None:
    app.routes = dict(GOOD)
    result = run_agent("verify", verify_env(world, app, CONTRACT=CONTRACT))
    assert result.returncode == 0 and result.stderr == ""
    [call] = control.calls
    assert call.path == "/api/verification/callback" and call.authorization == "Bearer cb-token-1"
    body = call.body
    assert (body["app_id"], body["env"], body["verification_id"], body["status"]) == (
        "shop-api",
        "preflight",
        "pf-7",
        "passed",
    )
    report = report_of(world, body["report_id"])
    assert report["schema"] == "pathops.verification/v1" and report["status"] == "passed"
    assert (report["app"], report["env"], report["target"]) == (
        "shop-api",
        "preflight",
        verify_env(world, app)["TARGET_URL"],
    )
    checks = [(c["kind"], c["name"], c["status"]) for c in report["checks"]]
    assert checks == [
        ("health", "GET /healthz", "passed"),
        ("smoke", "GET /", "passed"),
        ("smoke", "GET /items", "passed"),
        ("contract", "GET /items", "passed"),
        ("smoke", "GET /stats", "passed"),
        ("contract", "GET /stats", "passed"),
    ]
    assert report["summary"] == body["summary"] == "passed 6 checks (health, smoke, contract)"


def test_an_app_that_breaks_its_contract_fails_and_the_agent_still_succeeds(
    world: World, app: App, control: ControlPlane
) -> None:
    app.routes = {
        **GOOD,
        "/items": (200, [{"id": "one", "name": "mug"}]),
        "/stats": (503, {"detail": "down"}),
    }
    result = run_agent("verify", verify_env(world, app, CONTRACT=CONTRACT, VERIFICATION_ID="ver-9"))
    assert result.returncode == 0, result.stderr
    [call] = control.calls
    assert (call.body["status"], call.body["verification_id"]) == ("failed", "ver-9")
    report = report_of(world, call.body["report_id"])
    failed = {(c["kind"], c["name"]): c["detail"] for c in report["checks"] if c["status"] == "failed"}
    assert failed == {
        ("contract", "GET /items"): "'one' is not of type 'integer' at 0/id",
        ("smoke", "GET /stats"): "answered 503",
        ("contract", "GET /stats"): "status 503 is not declared",
    }
    assert report["summary"].startswith("failed 3 of 6 checks: contract GET /items: 'one' is not of type")


def test_a_target_that_never_comes_up_fails_its_health_check(
    world: World, control: ControlPlane, app: App
) -> None:
    env = {**verify_env(world, app), "TARGET_URL": f"http://127.0.0.1:{free_port()}", "HEALTH_TIMEOUT": "1"}
    result = run_agent("verify", env)
    assert result.returncode == 0, result.stderr
    report = report_of(world, control.calls[0].body["report_id"])
    assert [(c["kind"], c["status"]) for c in report["checks"]] == [("health", "failed"), ("smoke", "failed")]
    assert report["checks"][0]["detail"].startswith("no 2xx within 1 s: last unreachable (ConnectError)")


def test_5xx_answers_are_retried_with_the_same_body(world: World, app: App, control: ControlPlane) -> None:
    app.routes = dict(GOOD)
    control.script[:] = [503, 502]
    result = run_agent("verify", verify_env(world, app))
    assert result.returncode == 0, result.stderr
    assert len(control.calls) == 3 and control.calls[0].body == control.calls[1].body == control.calls[2].body

    control.reset()
    control.script[:] = [500, 500, 500, 500]
    result = run_agent("verify", verify_env(world, app))
    assert result.returncode == 1 and len(control.calls) == 4
    assert result.stderr == "verify: callback /api/verification/callback answered 500: x (after 4 attempts)\n"


def test_a_refused_callback_fails_in_one_line_without_the_token(
    world: World, app: App, control: ControlPlane
) -> None:
    control.script[:] = [401]
    result = run_agent("verify", verify_env(world, app))
    assert result.returncode == 1 and len(control.calls) == 1
    assert (
        result.stderr == "verify: callback /api/verification/callback answered 401: unknown callback token\n"
    )
    assert "cb-token-1" not in result.stdout + result.stderr


def test_the_token_can_come_from_object_storage_and_a_duplicate_is_done(
    world: World, app: App, control: ControlPlane
) -> None:
    world.put_object("pathops-evidence", "tokens/verify-pf-7", b"cb-stored-token\n")
    env = verify_env(world, app, CALLBACK_TOKEN_KEY="tokens/verify-pf-7")
    del env["CALLBACK_TOKEN"]
    control.script[:] = [409]
    result = run_agent("verify", env)
    assert result.returncode == 0, result.stderr
    [call] = control.calls
    assert call.authorization == "Bearer cb-stored-token"

    result = run_agent("verify", {**env, "CALLBACK_TOKEN_KEY": "tokens/none"})
    assert result.returncode == 1
    assert result.stderr == "verify: no callback token at s3://pathops-evidence/tokens/none\n"
