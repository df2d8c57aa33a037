"""The jobs that schedule agents: Job manifests committed to `<app>-gitops/agents/`, secrets by reference,
the callback token in object storage and never in git, one commit per idempotency key."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import yaml

from fakes.kubernetes.kubelet.images import ImageStore
from fakes.kubernetes.kubelet.rootfs import unpack
from tests.pipelines.support import (
    ADMIN,
    APP,
    CALLBACK_TOKEN,
    CONTRACT,
    PREFLIGHT_PORT,
    PROJECT,
    Stack,
)

GITOPS = f"{PROJECT}/{APP}-gitops"


def _env(job: dict[str, Any]) -> dict[str, Any]:
    [container] = job["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _no_token_in_git(stack: Stack, token: str) -> None:
    project = stack.gl.projects.get(GITOPS)
    for commit in stack.commits(GITOPS):
        for change in project.commits.get(commit.id).diff(get_all=True):
            assert token not in change["diff"]


def _stored_token(stack: Stack, key: str) -> tuple[str, str]:
    object_key = "callback-tokens/" + hashlib.sha256(key.encode()).hexdigest()
    body = stack.s3().get_object(Bucket="pathops-evidence", Key=object_key)["Body"].read().decode()
    return object_key, body


def test_evidence_collector_job_is_committed_once_without_its_token(stack: Stack) -> None:
    params = {"app": APP, "env": "production", "incident_id": "inc-7", "project": PROJECT,
              "target_namespace": f"{APP}-production", "agents_namespace": f"{APP}-agents", "time_window": "600",
              "commit_sha": stack.source_sha}  # fmt: skip
    done = stack.run("schedule-evidence-collector", "inc-7:schedule-evidence-collector:1", **params)
    assert done.returncode == 0, done.stderr
    job = yaml.safe_load(stack.file(GITOPS, "agents/evidence-inc-7.yaml"))
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert job["metadata"]["namespace"] == f"{APP}-agents" and job["metadata"]["name"] == "evidence-inc-7"
    assert job["spec"]["backoffLimit"] == 3 and "ttlSecondsAfterFinished" not in job["spec"]
    assert job["metadata"]["labels"]["pathops.dev/incident"] == "inc-7"
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "local/pathops-agents:dev"
    assert container["command"] == ["python", "-m", "appliance.agents", "evidence"]
    env = _env(job)
    object_key, stored = _stored_token(stack, "inc-7:schedule-evidence-collector:1")
    assert (
        stored == CALLBACK_TOKEN and env["CALLBACK_TOKEN_KEY"] == object_key and "CALLBACK_TOKEN" not in env
    )
    assert env["INCIDENT_ID"] == "inc-7" and env["TARGET_NAMESPACE"] == f"{APP}-production"
    assert env["TIME_WINDOW"] == "600" and env["MINIO_BUCKET"] == "pathops-evidence"
    assert env["CONTROL_PLANE_CALLBACK_URL"] == stack.receiver.url and env["COMMIT_SHA"] == stack.source_sha
    for var, key in (
        ("MINIO_ACCESS_KEY", "access_key"),
        ("MINIO_SECRET_KEY", "secret_key"),
        ("KUBE_TOKEN", "kube_token"),
    ):
        assert env[var] == {"secretKeyRef": {"name": "pathops-agent", "key": key}}
    _no_token_in_git(stack, CALLBACK_TOKEN)
    commits = len(stack.commits(GITOPS))

    again = stack.run("schedule-evidence-collector", "inc-7:schedule-evidence-collector:1", **params)
    assert again.returncode == 0, again.stderr
    assert len(stack.commits(GITOPS)) == commits
    latest = stack.gl.projects.get(GITOPS).commits.get(stack.commits(GITOPS)[0].id)
    assert latest.author_email == "ci@pathops.local" and latest.author_name == "PathOps CI"
    assert "PathOps-Key: inc-7:schedule-evidence-collector:1" in latest.message


def test_a_security_incident_passes_its_advisories_to_the_evidence_collector(stack: Stack) -> None:
    advisory = {"id": "CVE-2018-1000656", "package": "flask", "version": "0.12", "fixed": "0.12.3",
                "severity": "High"}  # fmt: skip
    params = {"app": APP, "env": "preflight", "incident_id": "inc-31", "project": PROJECT,
              "commit_sha": stack.source_sha, "advisories": json.dumps([advisory], indent=1)}  # fmt: skip
    done = stack.run("schedule-evidence-collector", "inc-31:schedule-evidence-collector:1", **params)
    assert done.returncode == 0, done.stderr
    env = _env(yaml.safe_load(stack.file(GITOPS, "agents/evidence-inc-31.yaml")))
    assert json.loads(env["ADVISORIES"]) == [advisory] and "\n" not in env["ADVISORIES"]
    assert env["COMMIT_SHA"] == stack.source_sha

    bad = stack.run("schedule-evidence-collector", "inc-32:schedule-evidence-collector:1",
                    **{**params, "incident_id": "inc-32", "advisories": '[{"id": "x"}]'})  # fmt: skip
    assert bad.returncode == 1 and "parameter advisories: not a list of advisories" in bad.stderr


async def test_fix_agent_image_has_the_source_and_its_job_runs_it(stack: Stack, tmp_path: Path) -> None:
    params = {"app": APP, "env": "production", "incident_id": "inc-8", "project": PROJECT,
              "snapshot_id": "snap-" + "2" * 24, "commit_sha": stack.source_sha[:10],
              "target_namespace": f"{APP}-production"}  # fmt: skip
    done = stack.run("build-fix-agent", "inc-8:build-fix-agent:1", token="fix-token-8", **params)
    assert done.returncode == 0, done.stderr
    job = yaml.safe_load(stack.file(GITOPS, "agents/fix-inc-8.yaml"))
    [container] = job["spec"]["template"]["spec"]["containers"]
    host = stack.harbor_url.removeprefix("http://")
    assert container["image"] == f"{host}/{PROJECT}/fix-agent:inc-8-{stack.source_sha[:12]}"
    assert "command" not in container  # the image's own Cmd
    assert job["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "pathops-registry"}]
    env = _env(job)
    assert env["SNAPSHOT_ID"] == "snap-" + "2" * 24 and env["COMMIT_SHA"] == stack.source_sha
    assert env["REPO"] == f"{PROJECT}/{APP}" and env["MINIO_BUCKET"] == "pathops-evidence"
    assert _stored_token(stack, "inc-8:build-fix-agent:1")[1] == "fix-token-8"
    _no_token_in_git(stack, "fix-token-8")

    store = ImageStore(tmp_path / "node")
    image = await store.pull(container["image"], {host: ADMIN})
    assert (
        image.config["Cmd"] == ["python", "-m", "appliance.agents", "fix"]
        and image.config["WorkingDir"] == "/src"
    )
    root = tmp_path / "root"
    unpack(image, {d: store.blob_path(d) for d, _ in image.layers}, root)
    assert (root / "src" / "app.py").is_file() and (root / "src" / "ci" / "test_app.py").is_file()
    assert not (root / "src" / ".git").exists()


def test_verification_job_targets_preflight_with_the_contract(stack: Stack) -> None:
    params = {"preflight_id": "pf-art-3", "app": APP, "project": PROJECT, "namespace": f"{APP}-preflight",
              "agents_namespace": f"{APP}-agents"}  # fmt: skip
    done = stack.run(
        "schedule-verification", "pf-art-3:schedule-verification:1", token="verify-token", **params
    )
    assert done.returncode == 0, done.stderr
    job = yaml.safe_load(io.StringIO(stack.file(GITOPS, "agents/verify-pf-art-3.yaml")))
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "appliance.agents", "verify"]
    env = _env(job)
    assert env["TARGET_URL"] == f"http://127.0.0.1:{PREFLIGHT_PORT}" and env["CONTRACT"] == CONTRACT
    assert (
        env["PREFLIGHT_ID"] == "pf-art-3"
        and env["VERIFICATION_ID"]
        and env["MINIO_BUCKET"] == "pathops-evidence"
    )
    assert env["TARGET_NAMESPACE"] == f"{APP}-preflight" and env["TARGET_ENV"] == "preflight"
    _no_token_in_git(stack, "verify-token")
