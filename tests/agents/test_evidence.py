"""The Evidence Collector as a subprocess against the Kubernetes fake's crash loop, the S3 fake and a
recording control plane: the bundle it uploads, what it redacts, what it reads, and its callback."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import time

import httpx
import yaml

from appliance.agents import bundle
from tests.agents.conftest import COMMIT, NS, SECRET_VALUES, Collected, ControlPlane, World, run_agent


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def test_the_collector_uploads_a_redacted_bundle_and_calls_back(world: World, collected: Collected) -> None:
    assert collected.result.stderr == ""
    [call] = collected.calls
    assert call.path == "/api/evidence/callback" and call.authorization == "Bearer cb-token-1"
    body = call.body
    assert body["incident_id"] == "inc-1" and body["commit_sha"] == COMMIT
    assert re.fullmatch(r"snap-[0-9a-f]{24}", body["snapshot_id"])
    key = f"snapshots/{body['snapshot_id']}.tar.gz"
    assert body["pointers"] == {"bundle": f"s3://pathops-evidence/{key}"}
    pod = collected.pod["metadata"]["name"]
    assert re.fullmatch(
        rf"{pod} CrashLoopBackOff, \d+ restarts, last exit 1: KeyError: 'SHOP_DB_URL'", body["summary"]
    ), body["summary"]

    data = world.get_object("pathops-evidence", key)
    assert data is not None and bundle.content_id("snap", data) == body["snapshot_id"]
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
    files = _members(data)
    manifest = json.loads(files["manifest.json"])
    assert names[0] == "manifest.json" and names[1:] == sorted(names[1:])
    assert [f["path"] for f in manifest["files"]] == names[1:]
    for entry in manifest["files"]:
        content = files[entry["path"]]
        assert (entry["sha256"], entry["size"]) == (hashlib.sha256(content).hexdigest(), len(content))
    assert manifest["schema"] == "pathops.evidence/v1" and manifest["namespace"] == NS
    assert (manifest["incident_id"], manifest["app"], manifest["window_s"]) == ("inc-1", "shop-api", 900)
    assert manifest["image"] == "local/shop-api:0123456789ab" and manifest["summary"] == body["summary"]
    signal = manifest["signals"]["pods"][pod]
    assert signal["waiting_reason"] == "CrashLoopBackOff" and signal["restarts"] >= 2
    assert (signal["last_exit_code"], signal["last_reason"], signal["memory_limit"]) == (1, "Error", "256Mi")
    assert signal["container"] == "api" and not signal["ready"] and not signal["oom_killed"]
    assert manifest["signals"]["warnings"]["BackOff"] >= 1 and manifest["signals"]["skipped"] == []

    expected = {
        f"pods/{pod}.yaml",
        f"logs/{pod}/api.log",
        f"logs/{pod}/api.previous.log",
        "events.yaml",
        "objects/deployment/shop-api.yaml",
        "objects/service/shop-api.yaml",
        "objects/configmap/shop-config.yaml",
    }
    assert expected <= set(files) and any(n.startswith("objects/replicaset/shop-api-") for n in files)
    assert not any("secret" in n for n in files)
    previous = files[f"logs/{pod}/api.previous.log"].decode()
    assert "KeyError: 'SHOP_DB_URL'" in previous and "postgres://***@db:5432/shop" in previous
    assert "Authorization: Bearer ***" in previous

    env = yaml.safe_load(files[f"pods/{pod}.yaml"])["spec"]["containers"][0]["env"]
    assert {"name": "DATABASE_PASSWORD", "value": "***"} in env and {
        "name": "LOG_LEVEL",
        "value": "info",
    } in env
    assert {
        "name": "API_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "shop-secrets", "key": "token"}},
    } in env
    config = yaml.safe_load(files["objects/configmap/shop-config.yaml"])["data"]
    assert config == {"LOG_LEVEL": "info", "DB_PASSWORD": "***", "DSN": "postgres://***@db/x"}
    everything = b"".join(files.values()) + json.dumps(collected.calls[0].body).encode()
    assert [s for s in SECRET_VALUES if s.encode() in everything] == []
    events = yaml.safe_load(files["events.yaml"])
    assert {"BackOff", "Started"} <= {e["reason"] for e in events} and all(e["object"] for e in events)


def test_the_collector_reads_only_its_target_namespace_and_never_secrets(
    world: World, collected: Collected
) -> None:
    log = httpx.get(f"{world.kube_url}/_fake/access-log").json()
    mine = [e for e in log if e["identity"] == "agent:shop" and e["at"] >= collected.access_from]
    assert len(mine) >= 8
    assert all(e["method"] == "GET" and f"/namespaces/{NS}/" in e["path"] for e in mine), mine
    assert not [e for e in mine if "secrets" in e["path"]]
    read = {e["path"].rsplit("/", 1)[-1] for e in mine}
    assert {"pods", "events", "deployments", "replicasets", "jobs", "services", "configmaps", "log"} <= read


def test_kinds_the_agent_may_not_read_are_skipped_and_named(world: World, control: ControlPlane) -> None:
    result = run_agent("evidence", world.env(KUBE_TOKEN="k-narrow", INCIDENT_ID="inc-narrow"))
    assert result.returncode == 0, result.stderr
    [call] = control.calls
    data = world.get_object("pathops-evidence", f"snapshots/{call.body['snapshot_id']}.tar.gz")
    assert data is not None
    files = _members(data)
    skipped = json.loads(files["manifest.json"])["signals"]["skipped"]
    assert len(skipped) == 2 and all("403" in s for s in skipped)
    assert "services" in skipped[0] and "configmaps" in skipped[1]
    assert not any(n.startswith(("objects/service/", "objects/configmap/")) for n in files)
    assert "objects/deployment/shop-api.yaml" in files


def test_the_collector_runs_as_a_job_in_the_cluster(world: World, control: ControlPlane) -> None:
    """As Argo CD would run it: a Job in shop-agents, the API address from the kubelet's environment."""
    env = {k: v for k, v in world.env(INCIDENT_ID="inc-job").items() if not k.startswith("KUBERNETES_")}
    container = {
        "name": "evidence",
        "image": "local/pathops-agents:dev",
        "command": ["python", "-m", "appliance.agents", "evidence"],
        "env": [{"name": k, "value": v} for k, v in env.items()],
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "evidence-inc-job"},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }
    admin = {"Authorization": "Bearer k-admin"}
    url = f"{world.kube_url}/apis/batch/v1/namespaces/shop-agents/jobs"
    assert httpx.post(url, json=job, headers=admin).status_code == 201
    deadline = time.monotonic() + 60
    while not (status := httpx.get(f"{url}/evidence-inc-job", headers=admin).json().get("status", {})).get(
        "succeeded"
    ):
        assert not status.get("failed") and time.monotonic() < deadline, status
        time.sleep(0.2)
    [call] = control.calls
    assert call.body["incident_id"] == "inc-job" and call.body["commit_sha"] == COMMIT
    assert "CrashLoopBackOff" in call.body["summary"]


SCANNED = "fedcba9876543210fedcba9876543210fedcba98"
ADVISORY = {
    "id": "CVE-2018-1000656",
    "package": "flask",
    "version": "0.12",
    "fixed": "0.12.3",
    "severity": "High",
}


def test_a_security_incidents_advisories_reach_the_signals_and_the_summary(
    world: World, control: ControlPlane
) -> None:
    env = world.env(INCIDENT_ID="inc-scan", COMMIT_SHA=SCANNED, ADVISORIES=json.dumps([ADVISORY]))
    result = run_agent("evidence", env)
    assert result.returncode == 0, result.stderr
    [call] = control.calls
    # the scanned commit, not the one the namespace's pods run (COMMIT)
    assert call.body["commit_sha"] == SCANNED != COMMIT
    assert call.body["summary"].startswith(
        f"vulnerable dependency: flask 0.12 (CVE-2018-1000656, High, fixed in 0.12.3); in {NS}: "
    )
    data = world.get_object("pathops-evidence", f"snapshots/{call.body['snapshot_id']}.tar.gz")
    assert data is not None
    manifest = json.loads(_members(data)["manifest.json"])
    assert manifest["signals"]["advisories"] == [ADVISORY] and manifest["commit_sha"] == SCANNED
    assert manifest["signals"]["pods"]  # what the namespace runs is still in the bundle

    control.reset()
    bad = run_agent("evidence", world.env(INCIDENT_ID="inc-scan-2", ADVISORIES='{"flask": "0.12"}'))
    assert bad.returncode == 1 and "ADVISORIES is not a JSON list of advisories" in bad.stderr
    assert control.calls == []


def test_the_bundle_bytes_depend_on_the_content_only() -> None:
    manifest = {"schema": bundle.SCHEMA, "summary": "x"}
    files = {"logs/p/c.log": b"line\n", "events.yaml": b"[]\n"}
    first = bundle.pack(manifest, files)
    assert bundle.pack(manifest, dict(reversed(files.items()))) == first
    assert bundle.pack(manifest, {**files, "events.yaml": b"[1]\n"}) != first
    snapshot = bundle.unpack(first)
    assert snapshot.files == files and snapshot.manifest["summary"] == "x"
    assert [f["path"] for f in snapshot.manifest["files"]] == ["events.yaml", "logs/p/c.log"]


def test_a_missing_variable_or_an_unreachable_cluster_fails_with_one_line(
    world: World, control: ControlPlane
) -> None:
    env = world.env()
    del env["TARGET_NAMESPACE"]
    result = run_agent("evidence", env)
    assert result.returncode == 1
    assert result.stderr == "evidence: missing environment variable TARGET_NAMESPACE\n"

    result = run_agent("evidence", world.env(KUBE_TOKEN="k-unknown"))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "401" in result.stderr and "k-unknown" not in result.stderr + result.stdout
    assert control.calls == []
