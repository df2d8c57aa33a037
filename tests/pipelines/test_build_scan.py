"""`build` asks Harbor to scan what it pushed and reports what blocks a release; a registry without a
scanner, or a CI configuration that turns scans off, builds without one and says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.harbor import build as build_harbor
from tests.pipelines.support import ADMIN, APP, PROJECT, Stack, project

REPO = f"{PROJECT}/{APP}"
FLASK = {
    "id": "CVE-2018-1000656", "package": "flask", "version": "0.12", "fix_version": "0.12.3", "severity": "High",
}  # fmt: skip


def _commit(stack: Stack, branch: str, requirements: str) -> str:
    """A commit on `branch` that pins the app's requirements (the Harbor fake's scanner reads them)."""
    commit = stack.gl.projects.get(REPO).commits.create({
        "branch": branch, "start_branch": "main", "commit_message": "pin the requirements",
        "actions": [{"action": "create", "file_path": "requirements.txt", "content": requirements}],
    })  # fmt: skip
    return str(commit.id)


def _build(
    stack: Stack, artifact: str, sha: str, config: Path | None = None
) -> subprocess.CompletedProcess[str]:
    params = {"app": APP, "project": PROJECT, "commit_sha": sha, "artifact_id": artifact}
    env = stack.env("build", f"{artifact}:build:1", params, token=f"build-token-{artifact}")
    if config is not None:
        env["PATHOPS_CI_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "appliance.pipelines", "build"], env=env, capture_output=True, text=True,
        timeout=120, cwd=stack.home,
    )  # fmt: skip


def test_a_vulnerable_pin_is_reported_with_the_build_and_a_clean_one_is_not(stack: Stack) -> None:
    vulnerable = _commit(stack, "pin-flask", "flask==0.12\nrequests==2.31.0\n")
    done = _build(stack, "art-61", vulnerable)
    assert done.returncode == 0, done.stderr
    assert "asked for a scan" in done.stderr and "scan of " in done.stderr  # the log tells the progress
    [report] = stack.receiver.bodies("build", artifact_id="art-61")
    assert report["status"] == "success" and report["vulnerabilities"] == [FLASK]
    assert report["scan"] == (
        "Trivy: 1 vulnerability, 1 fixable High/Critical: flask 0.12 (CVE-2018-1000656, High)"
    )
    scanned = httpx.get(
        f"{stack.harbor_url}/api/v2.0/projects/{PROJECT}/repositories/{APP}/artifacts/{report['digest']}",
        params={"with_scan_overview": "true"}, auth=ADMIN,
    ).json()  # fmt: skip
    assert [o["scan_status"] for o in scanned["scan_overview"].values()] == ["Success"]

    fixed = _commit(stack, "bump-flask", "flask==0.12.3\nrequests==2.31.0\n")
    done = _build(stack, "art-62", fixed)
    assert done.returncode == 0, done.stderr
    [clean] = stack.receiver.bodies("build", artifact_id="art-62")
    assert (
        clean["vulnerabilities"] == []
        and clean["scan"] == "Trivy: 0 vulnerabilities, 0 fixable High/Critical"
    )


def test_without_a_scanner_or_with_scans_turned_off_the_build_goes_on_and_says_so(
    stack: Stack, docker_registry_binary: str, tmp_path: Path
) -> None:
    sha = _commit(stack, "pin-flask-unscanned", "flask==0.12\n")
    options = {"registry_binary": docker_registry_binary, "scanner": "none"}
    with ThreadedServer(build_harbor(FakeConfig(tokens={ADMIN[1]: ADMIN[0]}, options=options))) as bare:
        project(bare, PROJECT)
        config = json.loads(stack.config_path.read_text())
        config["registry"] |= {"url": bare, "host": bare.removeprefix("http://")}
        path = tmp_path / "ci-config.json"
        path.write_text(json.dumps(config))
        done = _build(stack, "art-63", sha, config=path)
        assert done.returncode == 0, done.stderr
        assert "the registry has no scanner for project shop" in done.stderr
        [report] = stack.receiver.bodies("build", artifact_id="art-63")
        assert report["vulnerabilities"] == []
        assert report["scan"] == "not scanned: the registry has no scanner for project shop"

        config["registry"]["scan"] = False
        path.write_text(json.dumps(config))
        done = _build(stack, "art-64", sha, config=path)
        assert done.returncode == 0, done.stderr
        assert "registry.scan is false" in done.stderr
        [off] = stack.receiver.bodies("build", artifact_id="art-64")
        assert (off["vulnerabilities"], off["scan"]) == ([], "")
