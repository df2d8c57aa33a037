"""The Fix Agent's diagnosis rules (appliance/logic/diagnose.py) and their textual YAML edits
(appliance/logic/yamltext.py): each rule on the evidence that triggers it, and what it leaves alone."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.logic import yamltext
from appliance.logic.diagnose import Evidence, diagnose

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-api
spec:
  template:
    spec:
      containers:
        - name: api
          image: ${IMAGE}
          env:
            - name: LOG_LEVEL
              value: info
          resources:
            limits:
              memory: 64Mi
          readinessProbe:
            httpGet:
              path: /health
              port: 8080
        - name: sidecar
          image: local/proxy:1
"""
APP = """\
import os

DB_URL = os.environ["SHOP_DB_URL"]
PRICES = {"mug": 4}


def ratio(total, count):
    return total / count


def price(name):
    return PRICES[name] + PRICES["mug"]


@app.get("/healthz")
def healthz():
    return {"ok": True}
"""
SOURCE = {
    "deploy/deployment.yaml": DEPLOYMENT,
    "app/main.py": APP,
    ".env.example": "# config\nSHOP_DB_URL='postgres://shop@db/shop'  \nLOG_LEVEL=info\n",
    "requirements.txt": "flask==2.0.1  # web\nRequests[socks]==2.25.0\nurllib3>=2\n",
}
CRASH = {"pods": {"shop-api-1": {"container": "api", "waiting_reason": "CrashLoopBackOff", "ready": False}}}


def traceback(kind: str, message: str, line: int, file: str = "/src/app/main.py") -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "{file}", line {line}, in handler\n'
        "    code\n"
        '  File "/usr/lib/python3.11/site-packages/flask/app.py", line 10, in x\n'
        f"{kind}: {message}\n"
    )


def changed(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]


def container(text: str, name: str = "api") -> dict[str, Any]:
    doc = yaml.safe_load(text)
    found: dict[str, Any] = next(
        c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == name
    )
    return found


def test_a_missing_env_var_is_added_with_the_documented_value() -> None:
    log = traceback("KeyError", "'SHOP_DB_URL'", 3)
    found = diagnose(Evidence(signals=CRASH, logs={"logs/shop-api-1/api.previous.log": log}), SOURCE)
    assert found is not None and found.rule == "missing-env" and found.slug == "add-env-shop-db-url"
    assert found.evidence == ("logs/shop-api-1/api.previous.log", "manifest.json") and found.risk == 20
    after = found.edits["deploy/deployment.yaml"]
    assert changed(DEPLOYMENT, after) == [
        "+            - name: SHOP_DB_URL",
        '+              value: "postgres://shop@db/shop"',
    ]
    assert {"name": "SHOP_DB_URL", "value": "postgres://shop@db/shop"} in container(after)["env"]


@pytest.mark.parametrize(
    "log",
    [
        "ERROR missing required environment variable API_SECRET_TOKEN\n",
        "fatal: environment variable 'API_SECRET_TOKEN' is not set\n",
    ],
)
def test_a_missing_credential_is_flagged_and_its_value_can_come_from_the_code(log: str) -> None:
    source = {**SOURCE, "app/auth_client.py": 'import os\nT = os.getenv("API_SECRET_TOKEN", "dev-token")\n'}
    found = diagnose(Evidence(logs={"logs/p/api.log": log}), source)
    assert found is not None and found.rule == "missing-env" and found.risk == 50
    assert "value from app/auth_client.py" in found.summary and "Secret" in found.recommended_checks[1]
    assert {"name": "API_SECRET_TOKEN", "value": "dev-token"} in container(
        found.edits["deploy/deployment.yaml"]
    )["env"]


def test_a_missing_env_var_without_a_known_value_or_already_set_is_no_match() -> None:
    assert diagnose(Evidence(logs={"l": "missing required environment variable NOPE\n"}), SOURCE) is None
    env_set = DEPLOYMENT.replace("LOG_LEVEL", "SHOP_DB_URL")
    log = {"l": "KeyError: 'SHOP_DB_URL'\n"}
    assert diagnose(Evidence(logs=log), {**SOURCE, "deploy/deployment.yaml": env_set}) is None


def test_an_oom_kill_doubles_the_memory_limit_and_wins_over_other_signals() -> None:
    signals = {
        "pods": {"p": {"container": "api", "last_reason": "OOMKilled", "waiting_reason": "CrashLoopBackOff"}}
    }
    found = diagnose(Evidence(signals=signals, logs={"l": "KeyError: 'SHOP_DB_URL'"}), SOURCE)
    assert found is not None and found.rule == "oom" and found.slug == "raise-memory-limit-128mi"
    after = found.edits["deploy/deployment.yaml"]
    assert changed(DEPLOYMENT, after) == ["-              memory: 64Mi", "+              memory: 128Mi"]
    assert "64Mi -> 128Mi" in found.summary


@pytest.mark.parametrize(
    ("limit", "doubled"), [("64Mi", "128Mi"), ('"1.5Gi"', '"3Gi"'), ("134217728", "268435456")]
)
def test_memory_quantities_double_in_their_own_unit(limit: str, doubled: str) -> None:
    text = DEPLOYMENT.replace("memory: 64Mi", f"memory: {limit}  # tuned")
    result = yamltext.double_memory_limit(text, "api")
    assert result is not None
    assert changed(text, result[0]) == [
        f"-              memory: {limit}  # tuned",
        f"+              memory: {doubled}  # tuned",
    ]


def test_a_bad_image_written_into_the_source_goes_back_to_the_placeholder() -> None:
    signals = {
        "pods": {
            "p": {"container": "api", "waiting_reason": "ImagePullBackOff", "image": "reg/shop/api:typo"}
        }
    }
    pinned = DEPLOYMENT.replace("image: ${IMAGE}", "image: reg/shop/api:typo")
    found = diagnose(Evidence(signals=signals), {**SOURCE, "deploy/deployment.yaml": pinned})
    assert found is not None and found.rule == "bad-image"
    assert changed(pinned, found.edits["deploy/deployment.yaml"]) == [
        "-          image: reg/shop/api:typo",
        "+          image: ${IMAGE}",
    ]
    assert diagnose(Evidence(signals=signals), SOURCE) is None  # the source already has the placeholder


def test_a_probe_404_points_the_probe_at_the_health_route_the_code_serves() -> None:
    events = (
        {"reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed with statuscode: 404"},
    )
    found = diagnose(Evidence(signals=CRASH, events=events), SOURCE)
    assert found is not None and found.rule == "probe-path"
    assert changed(DEPLOYMENT, found.edits["deploy/deployment.yaml"]) == [
        "-              path: /health",
        "+              path: /healthz",
    ]
    served = DEPLOYMENT.replace("path: /health", "path: /healthz")
    assert diagnose(Evidence(events=events), {**SOURCE, "deploy/deployment.yaml": served}) is None
    liveness = (
        {"reason": "Unhealthy", "message": "Liveness probe failed: HTTP probe failed with statuscode: 404"},
    )
    assert diagnose(Evidence(events=liveness), SOURCE) is None  # the deployment has no liveness probe


def test_a_zero_division_in_the_apps_own_file_is_guarded() -> None:
    found = diagnose(Evidence(logs={"l": traceback("ZeroDivisionError", "division by zero", 8)}), SOURCE)
    assert found is not None and found.rule == "exception" and found.risk == 60
    assert changed(APP, found.edits["app/main.py"]) == [
        "-    return total / count",
        "+    return (total / count if count else 0)",
    ]


def test_a_key_error_on_a_dict_becomes_a_get() -> None:
    found = diagnose(Evidence(logs={"l": traceback("KeyError", "'teapot'", 12)}), SOURCE)
    assert found is None  # the key 'teapot' is not on that line
    found = diagnose(Evidence(logs={"l": traceback("KeyError", "'mug'", 12)}), SOURCE)
    assert found is not None and found.slug == "guard-keyerror-main-12"
    assert changed(APP, found.edits["app/main.py"]) == [
        '-    return PRICES[name] + PRICES["mug"]',
        '+    return PRICES[name] + PRICES.get("mug")',
    ]


def test_exceptions_outside_the_apps_files_or_of_other_kinds_are_left_alone() -> None:
    outside = traceback(
        "ZeroDivisionError", "division by zero", 8, file="/usr/lib/python3.11/site-packages/x.py"
    )
    assert diagnose(Evidence(logs={"l": outside}), SOURCE) is None
    assert diagnose(Evidence(logs={"l": traceback("ValueError", "bad", 8)}), SOURCE) is None


def test_a_pin_named_by_an_advisory_is_bumped_to_the_fixed_version() -> None:
    advisories = '{"advisories": [{"id": "CVE-2023-30861", "package": "Flask", "fixed": "2.2.5"},' \
                 ' {"id": "GHSA-x", "package": "requests", "fixed": "2.31.0", "affected": ["2.25.0"]},' \
                 ' {"package": "urllib3", "fixed": "2.0.7"}]}'  # fmt: skip
    found = diagnose(Evidence(), {**SOURCE, ".pathops/advisories.json": advisories})
    assert found is not None and found.rule == "vulnerable-dependency" and found.slug == "bump-flask"
    assert changed(SOURCE["requirements.txt"], found.edits["requirements.txt"]) == [
        "-flask==2.0.1  # web",
        "-Requests[socks]==2.25.0",
        "+flask==2.2.5  # web",
        "+Requests[socks]==2.31.0",
    ]
    assert "flask 2.0.1 -> 2.2.5 (CVE-2023-30861)" in found.summary
    from_evidence = Evidence(signals={"advisories": [{"name": "flask", "fixed": "2.0.1"}]})
    assert diagnose(from_evidence, SOURCE) is None  # already at the fixed version


def test_advisories_in_the_evidence_come_before_what_the_namespace_shows() -> None:
    """A scan's incident: the namespace runs another release (here one that crash-loops), the advisories
    are why the incident opened."""
    crash = {"logs/shop-api-1/api.previous.log": traceback("KeyError", "'SHOP_DB_URL'", 3)}
    scan = {
        "id": "CVE-2023-30861",
        "package": "flask",
        "version": "2.0.1",
        "fixed": "2.2.5",
        "severity": "High",
    }
    found = diagnose(Evidence(signals={**CRASH, "advisories": [scan]}, logs=crash), SOURCE)
    assert found is not None and found.rule == "vulnerable-dependency" and found.slug == "bump-flask"
    advised_in_source = {**SOURCE, ".pathops/advisories.json": f"[{json.dumps(scan)}]"}
    assert diagnose(Evidence(signals=CRASH, logs=crash), advised_in_source).rule == "missing-env"  # type: ignore[union-attr]


def test_nothing_recognisable_is_no_diagnosis() -> None:
    assert diagnose(Evidence(signals=CRASH, logs={"l": "Segmentation fault\n"}), SOURCE) is None
    assert diagnose(Evidence(logs={"l": "KeyError: 'SHOP_DB_URL'"}), {"app/main.py": APP}) is None


# --- the textual edits on other layouts ----------------------------------------------------------

COMPACT = """\
spec:
  template:
    spec:
      containers:
      - name: api
        image: "reg/api:1"   # pinned
        env: []
      - name: worker
        image: reg/worker:1
        env:
        - name: A
          value: "1"
"""


def test_env_is_added_to_compact_lists_empty_lists_and_containers_without_env() -> None:
    worker = yamltext.add_env(COMPACT, "worker", "ON", "x: y")
    assert worker is not None
    assert changed(COMPACT, worker) == ['+        - name: "ON"', '+          value: "x: y"']
    api = yamltext.add_env(COMPACT, "api", "B", "2")
    assert api is not None and container(api)["env"] == [{"name": "B", "value": "2"}]
    bare = DEPLOYMENT.replace(
        "          env:\n            - name: LOG_LEVEL\n              value: info\n", ""
    )
    added = yamltext.add_env(bare, "sidecar", "C", "3")
    assert added is not None and changed(bare, added) == [
        "+          env:",
        "+            - name: C",
        '+              value: "3"',
    ]
    flow = COMPACT.replace("env: []", 'env: [{name: X, value: "1"}]')
    assert yamltext.add_env(flow, "api", "B", "2") is None
    assert yamltext.add_env("kind: Service\n", "api", "B", "2") is None


def test_the_image_keeps_its_quotes_and_comment() -> None:
    edited = yamltext.set_image(COMPACT, "api", "${IMAGE}")
    assert edited is not None
    assert changed(COMPACT, edited) == [
        '-        image: "reg/api:1"   # pinned',
        '+        image: "${IMAGE}"   # pinned',
    ]
    assert yamltext.set_image(edited, "api", "${IMAGE}") is None


def test_the_seeded_shop_api_gets_its_database_url_back() -> None:
    """The seed's own shop-api (appliance/seed/shop/shop-api) with SHOP_DB_URL taken out of its Deployment."""
    root = Path(__file__).resolve().parents[2] / "appliance" / "seed" / "shop" / "shop-api"
    source = {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}
    entry = "            - name: SHOP_DB_URL\n              value: postgresql://postgres:5432/shop\n"
    assert entry in source["deploy/deployment.yaml"]
    broken = source["deploy/deployment.yaml"].replace(entry, "")
    log = "Traceback (most recent call last):\n  File \"/app/app.py\", line 1, in main\nKeyError: 'SHOP_DB_URL'\n"
    evidence = Evidence(
        signals={"pods": {"p": {"container": "shop-api"}}}, logs={"logs/p/shop-api.previous.log": log}
    )
    found = diagnose(evidence, {**source, "deploy/deployment.yaml": broken})
    assert found is not None and found.rule == "missing-env"
    assert changed(broken, found.edits["deploy/deployment.yaml"]) == [
        "+            - name: SHOP_DB_URL",
        '+              value: "postgresql://postgres:5432/shop"',
    ]
