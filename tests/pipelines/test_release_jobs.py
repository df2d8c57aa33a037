"""build, deploy-preflight, promote and rollback against GitLab and Harbor, with their callbacks."""

from __future__ import annotations

import httpx
import yaml

from tests.fakes.harbor import oci
from tests.pipelines.support import (
    ADMIN,
    APP,
    PREFLIGHT_PORT,
    PRODUCTION_PORT,
    PROJECT,
    TEST_PY,
    Stack,
)

REPO, GITOPS = f"{PROJECT}/{APP}", f"{PROJECT}/{APP}-gitops"


def test_build_twice_pushes_one_image_with_one_digest(stack: Stack) -> None:
    params = {"app": APP, "project": PROJECT, "commit_sha": stack.source_sha, "artifact_id": "art-31"}
    first = stack.run("build", "art-31:build:1", token="build-token-31", **params)
    assert first.returncode == 0, first.stderr
    assert "Ran 1 test" in first.stderr  # the app's ci/ tests ran
    second = stack.run("build", "art-31:build:1", token="build-token-31", **params)
    assert second.returncode == 0, second.stderr

    image = f"{stack.harbor_url.removeprefix('http://')}/{PROJECT}/{APP}:{stack.source_sha[:12]}"
    one, two = stack.receiver.bodies("build", artifact_id="art-31")
    assert one == two and one["status"] == "success" and one["image"] == image and one["changeset_id"] == ""
    manifest = oci.Registry(stack.harbor_url, *ADMIN).pull_manifest(REPO, stack.source_sha[:12])
    assert manifest.status_code == 200 and oci.digest_of(manifest.content) == one["digest"]
    artifacts = httpx.get(
        f"{stack.harbor_url}/api/v2.0/projects/{PROJECT}/repositories/{APP}/artifacts", auth=ADMIN
    )
    [artifact] = [a for a in artifacts.json() if a["digest"] == one["digest"]]
    assert artifact["extra_attrs"]["config"]["Cmd"] == ["python", "/app/app.py"]
    assert (
        artifact["extra_attrs"]["config"]["Labels"]["org.opencontainers.image.revision"] == stack.source_sha
    )


def test_failing_tests_fail_the_build(stack: Stack) -> None:
    project = stack.gl.projects.get(REPO)
    broken = TEST_PY.replace("'hello')", "'goodbye')")
    commit = project.commits.create({"branch": "broken", "start_branch": "main", "commit_message": "break the test",
                                     "actions": [{"action": "update", "file_path": "ci/test_app.py", "content": broken}]})  # fmt: skip
    done = stack.run("build", "art-32:build:1", token="build-token-32", app=APP, project=PROJECT,
                     commit_sha=commit.id, artifact_id="art-32")  # fmt: skip
    assert done.returncode == 1
    [report] = stack.receiver.bodies("build", artifact_id="art-32")
    assert report["status"] == "failure" and report["detail"].startswith("tests failed: FAILED (failures=1)")
    assert "retryable" not in report  # a rerun fails the same way
    tags = oci.Registry(stack.harbor_url, *ADMIN).pull_manifest(REPO, commit.id[:12])
    assert tags.status_code == 404


def test_a_build_that_cannot_reach_the_registry_reports_a_retryable_failure(stack: Stack) -> None:
    fault = {"kind": "error", "path": "/v2/*", "status": 503}
    httpx.post(f"{stack.harbor_url}/_fake/faults", json=fault, timeout=10).raise_for_status()
    try:
        done = stack.run("build", "art-34:build:1", token="build-token-34", app=APP, project=PROJECT,
                         commit_sha=stack.source_sha, artifact_id="art-34")  # fmt: skip
    finally:
        httpx.delete(f"{stack.harbor_url}/_fake/faults", timeout=10).raise_for_status()
    assert done.returncode == 1
    [report] = stack.receiver.bodies("build", artifact_id="art-34")
    assert report["status"] == "failure" and report["retryable"] is True
    assert "503" in report["detail"], report["detail"]


def test_deploy_preflight_renders_the_app_manifests(stack: Stack) -> None:
    image = f"registry.test/{PROJECT}/{APP}:{stack.source_sha[:12]}"
    params = {"preflight_id": "pf-art-33", "app": APP, "project": PROJECT, "image": image,
              "commit_sha": stack.source_sha, "artifact_id": "art-33"}  # fmt: skip
    done = stack.run("deploy-preflight", "pf-art-33:deploy-preflight:1", token="deploy-token-33", **params)
    assert done.returncode == 0, done.stderr
    deployment = yaml.safe_load(stack.file(GITOPS, "preflight/deployment.yaml"))
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {
        "pathops.dev/commit-sha": stack.source_sha
    }
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == image and container["env"] == [
        {"name": "PORT", "value": str(PREFLIGHT_PORT)}
    ]
    assert yaml.safe_load(stack.file(GITOPS, "preflight/service.yaml"))["spec"]["ports"] == [
        {"port": PREFLIGHT_PORT}
    ]
    assert stack.file(GITOPS, "preflight/params.yaml") == f"port: {PREFLIGHT_PORT}\n"
    [report] = stack.receiver.bodies("deploy-preflight", preflight_id="pf-art-33")
    head = stack.commits(GITOPS)[0]
    assert report == {
        "job": "deploy-preflight",
        "preflight_id": "pf-art-33",
        "status": "success",
        "revision": head.id,
    }
    assert "PathOps-Key: pf-art-33:deploy-preflight:1" in head.message


def test_promote_opens_and_merges_the_production_mr(stack: Stack) -> None:
    image = f"registry.test/{PROJECT}/{APP}:{stack.source_sha[:12]}"
    params = {"artifact_id": "art-34", "app": APP, "project": PROJECT, "image": image, "commit_sha": stack.source_sha,
              "report_id": "rep-" + "3" * 24, "approved_by": "alice"}  # fmt: skip
    done = stack.run("promote", "art-34:promote:1", token="promote-token-34", **params)
    assert done.returncode == 0, done.stderr
    [mr] = stack.gl.projects.get(GITOPS).mergerequests.list(source_branch="promote-art-34", get_all=True)
    assert mr.state == "merged" and "alice" in mr.description
    deployment = yaml.safe_load(stack.file(GITOPS, "production/deployment.yaml"))
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == image and container["env"] == [
        {"name": "PORT", "value": str(PRODUCTION_PORT)}
    ]
    assert stack.file(GITOPS, "production/params.yaml") == f"port: {PRODUCTION_PORT}\n"
    [report] = stack.receiver.bodies("promote", artifact_id="art-34")
    assert report["status"] == "success" and report["mr_url"] == mr.web_url
    assert report["revision"] == stack.commits(GITOPS)[0].id

    again = stack.run("promote", "art-34:promote:1", token="promote-token-34", **params)
    assert again.returncode == 0, again.stderr
    assert (
        len(stack.gl.projects.get(GITOPS).mergerequests.list(source_branch="promote-art-34", get_all=True))
        == 1
    )
    assert stack.receiver.bodies("promote", artifact_id="art-34")[-1] == report


def test_promote_replaces_a_branch_left_by_an_earlier_attempt(stack: Stack) -> None:
    gitops = stack.gl.projects.get(GITOPS)
    gitops.commits.create({"branch": "promote-art-35", "start_branch": "main", "commit_message": "half done",
                           "actions": [{"action": "create", "file_path": "production/stray.yaml", "content": "x: 1\n"}]})  # fmt: skip
    image = f"registry.test/{PROJECT}/{APP}:{stack.source_sha[:12]}-35"
    done = stack.run("promote", "art-35:promote:2", token="promote-token-35", artifact_id="art-35", app=APP,
                     project=PROJECT, image=image, commit_sha=stack.source_sha)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [mr] = gitops.mergerequests.list(source_branch="promote-art-35", get_all=True)
    assert mr.state == "merged"
    assert image in stack.file(GITOPS, "production/deployment.yaml")
    assert "production/stray.yaml" not in [
        f["path"] for f in gitops.repository_tree(path="production", get_all=True)
    ]


def test_rollback_puts_an_earlier_release_back_in_production_once(stack: Stack) -> None:
    gitops = stack.gl.projects.get(GITOPS)
    current = f"registry.test/{PROJECT}/{APP}:{stack.source_sha[:12]}-bad"
    promoted = stack.run("promote", "art-36:promote:1", token="promote-token-36", artifact_id="art-36", app=APP,
                         project=PROJECT, image=current, commit_sha=stack.source_sha)  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    good = f"registry.test/{PROJECT}/{APP}:{stack.source_sha[:12]}-good"
    params = {"incident_id": "inc-9", "app": APP, "project": PROJECT, "artifact_id": "art-30", "image": good,
              "commit_sha": stack.source_sha}  # fmt: skip
    done = stack.run("rollback", "inc-9:rollback:1", token="rollback-token-9", **params)
    assert done.returncode == 0, done.stderr
    [mr] = gitops.mergerequests.list(source_branch="rollback-inc-9", get_all=True)
    assert mr.state == "merged" and "inc-9" in mr.description and "rollback" in mr.labels
    assert good in stack.file(GITOPS, "production/deployment.yaml")
    [report] = stack.receiver.bodies("rollback", incident_id="inc-9")
    assert report["status"] == "success" and report["mr_url"] == mr.web_url
    assert report["revision"] == stack.commits(GITOPS)[0].id and report["artifact_id"] == "art-30"

    again = stack.run("rollback", "inc-9:rollback:1", token="rollback-token-9", **params)
    assert again.returncode == 0, again.stderr
    assert len(gitops.mergerequests.list(source_branch="rollback-inc-9", get_all=True)) == 1
    assert stack.receiver.bodies("rollback", incident_id="inc-9")[-1] == report
