"""The CLI's edges (help, missing configuration, secrets kept out of messages), callback delivery,
and the Jenkins side: each job created in the Jenkins fake from config_xml(job) declares exactly the
contract's parameters, and a build of it runs `pathops-ci <job>` end to end."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jenkins
import pytest
import yaml

from appliance.contracts.ci import JOBS, parameters
from appliance.pipelines.callback import post_callback
from appliance.pipelines.jenkinsfiles import config_xml, jenkinsfile, stored_jenkinsfile
from appliance.ports.errors import PermanentError, TransientError
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.jenkins import build as build_jenkins
from tests.pipelines.support import APP, PROJECT, Stack


@pytest.fixture(scope="module")
def ci_server() -> Iterator[jenkins.Jenkins]:
    config = FakeConfig(tokens={"ci-token": "ci"}, options={"crumb_for_api_tokens": "false"})
    with ThreadedServer(build_jenkins(config)) as url:
        yield jenkins.Jenkins(url, username="ci", password="ci-token", timeout=10)


def test_help_names_every_job_and_its_parameters() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "appliance.pipelines", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and all(job in done.stdout for job in JOBS)
    one = subprocess.run(
        [sys.executable, "-m", "appliance.pipelines", "promote", "--help"], capture_output=True, text=True
    )
    assert "approved_by" in one.stdout and "PATHOPS_IDEMPOTENCY_KEY" in one.stdout


def test_without_credentials_file_the_job_fails_in_one_line(stack: Stack) -> None:
    env = stack.env(
        "build",
        "art-41:build:1",
        {"app": APP, "project": PROJECT, "commit_sha": "abc", "artifact_id": "art-41"},
    )
    del env["PATHOPS_CI_CONFIG"]
    done = subprocess.run(
        [sys.executable, "-m", "appliance.pipelines", "build"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("INFO build: callback build failure")
    assert "pathops-ci build: PATHOPS_CI_CONFIG is not set" in done.stderr
    [report] = stack.receiver.bodies("build", artifact_id="art-41")
    assert report["status"] == "failure" and "PATHOPS_CI_CONFIG" in report["detail"]


def test_a_refused_token_is_named_but_never_printed(stack: Stack, tmp_path: Path) -> None:
    config = stack.config_path.read_text().replace("glpat-ci", "glpat-wrong-secret")
    path = tmp_path / "config.json"
    path.write_text(config)
    env = stack.env("deploy-preflight", "pf-42:deploy-preflight:1", {"preflight_id": "pf-42", "app": APP, "project": PROJECT,
                    "image": "x/y:z", "commit_sha": "abc"}, token="deploy-token-42")  # fmt: skip
    env["PATHOPS_CI_CONFIG"] = str(path)
    done = subprocess.run([sys.executable, "-m", "appliance.pipelines", "deploy-preflight"], env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 1 and "clone shop/shop-api" in done.stderr
    assert "glpat-wrong-secret" not in done.stderr + done.stdout and "deploy-token-42" not in done.stderr
    [report] = stack.receiver.bodies("deploy-preflight", preflight_id="pf-42")
    assert "glpat-wrong-secret" not in report["detail"]


async def test_callbacks_retry_a_5xx_and_take_409_as_delivered(stack: Stack) -> None:
    stack.receiver.fail_next = 2
    payload = {"job": "promote", "artifact_id": "art-43", "status": "success", "mr_url": "", "revision": "r"}
    assert await post_callback(url=stack.receiver.url, token="t-43", payload=payload, backoff=0.01) == 202
    assert await post_callback(url=stack.receiver.url, token="t-43", payload=payload, backoff=0.01) == 409
    stack.receiver.fail_next = 4
    with pytest.raises(TransientError):
        await post_callback(url=stack.receiver.url, token="t-44", payload=payload, backoff=0.01)
    stack.receiver.fail_next = 0
    with pytest.raises(PermanentError):
        await post_callback(url=stack.gitlab_url + "/nowhere", token="t-45", payload=payload, backoff=0.01)


async def test_a_callback_fault_loses_the_report_or_sends_it_twice(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = {"job": "promote", "artifact_id": "art-46", "status": "success", "mr_url": "", "revision": "r"}
    monkeypatch.setenv("PATHOPS_CALLBACK_FAULT", "drop")
    assert await post_callback(url=stack.receiver.url, token="t-46", payload=payload, backoff=0.01) == 200
    assert stack.receiver.bodies("promote", artifact_id="art-46") == []  # lost on its way
    monkeypatch.setenv("PATHOPS_CALLBACK_FAULT", "duplicate")
    assert await post_callback(url=stack.receiver.url, token="t-47", payload=payload, backoff=0.01) == 409
    assert len(stack.receiver.bodies("promote", artifact_id="art-46")) == 2  # the second one is a repeat


def test_the_jenkinsfiles_declare_the_contract_parameters_and_one_step() -> None:
    for job in JOBS:
        text = stored_jenkinsfile(job)
        assert text == jenkinsfile(job), f"appliance/pipelines/jenkins/{job}.Jenkinsfile is out of date"
        assert text.count("sh '") == 1 and f"sh 'pathops-ci {job}'" in text
        assert "credentialsId: 'pathops-ci-config', variable: 'PATHOPS_CI_CONFIG'" in text


def test_jobs_created_from_config_xml_declare_exactly_the_contract_parameters(
    ci_server: jenkins.Jenkins,
) -> None:
    for job in JOBS:
        ci_server.create_job(job, config_xml(job))
        info = ci_server.get_job_info(job)
        [prop] = [p for p in info["property"] if "parameterDefinitions" in p]
        assert tuple(d["name"] for d in prop["parameterDefinitions"]) == parameters(job)
        assert {d["type"] for d in prop["parameterDefinitions"]} == {"StringParameterDefinition"}
        assert ci_server.get_job_config(job) == config_xml(job)


def test_a_jenkins_build_runs_the_job_step(
    ci_server: jenkins.Jenkins, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATHOPS_CI_CONFIG", str(stack.config_path))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{Path('/usr/bin')}:{Path('/bin')}")
    if "schedule-verification" not in [j["name"] for j in ci_server.get_jobs()]:
        ci_server.create_job("schedule-verification", config_xml("schedule-verification"))
    params = {"preflight_id": "pf-46", "app": APP, "project": PROJECT, "namespace": f"{APP}-preflight",
              "agents_namespace": f"{APP}-agents", "PATHOPS_IDEMPOTENCY_KEY": "pf-46:schedule-verification:1",
              "CALLBACK_URL": stack.receiver.url, "CALLBACK_TOKEN": "verify-token-46", "undeclared": "dropped"}  # fmt: skip
    queue_id = ci_server.build_job("schedule-verification", params)
    deadline = time.monotonic() + 60
    info: dict[str, object] = {}
    while time.monotonic() < deadline:
        number = (ci_server.get_queue_item(queue_id).get("executable") or {}).get("number")
        info = ci_server.get_build_info("schedule-verification", number) if number else {}
        if info.get("result"):
            break
        time.sleep(0.1)
    console = ci_server.get_build_console_output("schedule-verification", int(str(info["number"])))
    assert info["result"] == "SUCCESS", console
    assert "verify-token-46" not in console
    job = yaml.safe_load(stack.file(f"{PROJECT}/{APP}-gitops", "agents/verify-pf-46.yaml"))
    assert job["metadata"]["labels"]["pathops.dev/preflight"] == "pf-46"
