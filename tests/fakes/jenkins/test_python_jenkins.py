"""The Jenkins fake over real HTTP, driven by python-jenkins as a user of a real Jenkins would."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jenkins
import jsonschema
import pytest

from fakes.common.server import ThreadedServer
from fakes.jenkins import build
from tests.fakes.jenkins.conftest import config, run_to_end, wait_for

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "jenkins" / "jenkins-remote-api.schema.json").read_text()
)
SHELL_XML = """<?xml version='1.1' encoding='UTF-8'?>
<project>
  <description>made by create_job</description>
  <properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>
    <hudson.model.StringParameterDefinition><name>GREETING</name><defaultValue>hello</defaultValue>
    </hudson.model.StringParameterDefinition>
  </parameterDefinitions></hudson.model.ParametersDefinitionProperty></properties>
  <builders><hudson.tasks.Shell><command>echo "$GREETING from $JOB_NAME"</command></hudson.tasks.Shell></builders>
</project>"""


def _valid(name: str, document: object) -> None:
    jsonschema.validate(document, {"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]})


def test_a_parameterized_build_runs_its_command_to_success(server: jenkins.Jenkins, url: str) -> None:
    assert server.get_whoami()["id"] == "ci"
    assert server.get_version()
    assert {j["name"] for j in server.get_jobs()} == {"build-fix-agent", "failing", "slow", "timing-out"}
    info = run_to_end(server, "build-fix-agent", {"app": "shop-api", "DRY_RUN": "x", "undeclared": "dropped"})
    assert info["result"] == "SUCCESS" and not info["building"] and info["duration"] > 0
    [params] = [a for a in info["actions"] if a.get("_class") == "hudson.model.ParametersAction"]
    assert {p["name"]: p["value"] for p in params["parameters"]} == {
        "app": "shop-api",
        "snapshot_id": "none",
        "dry_run": False,
        "PATHOPS_IDEMPOTENCY_KEY": "",
    }
    console = server.get_build_console_output("build-fix-agent", info["number"])
    assert "app=shop-api snapshot=none dry=false build=1 job=build-fix-agent" in console
    assert f"url={url}/job/build-fix-agent/1/" in console
    assert console.startswith("Started by user ci\n") and console.endswith("Finished: SUCCESS\n")
    job = server.get_job_info("build-fix-agent")
    assert (
        job["color"] == "blue" and job["lastSuccessfulBuild"]["number"] == 1 and job["nextBuildNumber"] == 2
    )
    _valid("Job", job)
    _valid("Run", info)


def test_a_failing_command_fails_the_build_with_its_stderr_in_the_console(server: jenkins.Jenkins) -> None:
    info = run_to_end(server, "failing", {"PATHOPS_IDEMPOTENCY_KEY": "k"})
    assert info["result"] == "FAILURE"
    console = server.get_build_console_output("failing", info["number"])
    assert "about to fail\nno such image\n" in console
    assert "ERROR: script returned exit code 3" in console and console.endswith("Finished: FAILURE\n")
    assert server.get_job_info("failing")["color"] == "red"


def test_the_console_streams_while_building_and_stop_aborts(server: jenkins.Jenkins, url: str) -> None:
    queue_id = server.build_job("slow")
    number = wait_for(lambda: (server.get_queue_item(queue_id).get("executable") or {}).get("number"))
    wait_for(lambda: "started" in server.get_build_console_output("slow", number))
    running = server.get_build_info("slow", number)
    assert running["building"] and running["result"] is None
    assert server.get_job_info("slow")["color"] == "notbuilt_anime"
    chunk = httpx.get(
        f"{url}/job/slow/{number}/logText/progressiveText", params={"start": 0}, auth=("ci", "ci-token")
    )
    assert chunk.headers["X-More-Data"] == "true" and int(chunk.headers["X-Text-Size"]) == len(chunk.content)
    server.stop_build("slow", number)
    info = wait_for(lambda: (i := server.get_build_info("slow", number))["result"] and i)
    assert info["result"] == "ABORTED"
    console = server.get_build_console_output("slow", number)
    assert "Aborted by ci" in console and "\nnever\n" not in console


def test_a_build_past_its_timeout_is_aborted(server: jenkins.Jenkins) -> None:
    info = run_to_end(server, "timing-out")
    assert info["result"] == "ABORTED"
    assert "Build timed out (after 0.5 seconds)" in server.get_build_console_output(
        "timing-out", info["number"]
    )


def test_a_job_created_from_config_xml_runs_its_shell_steps(server: jenkins.Jenkins) -> None:
    server.create_job("from-xml", SHELL_XML)
    server.create_job("empty", jenkins.EMPTY_CONFIG_XML)
    with pytest.raises(jenkins.JenkinsException, match="already exists"):
        server.create_job("empty", jenkins.EMPTY_CONFIG_XML)
    assert server.get_job_config("from-xml") == SHELL_XML
    info = run_to_end(server, "from-xml", {"GREETING": "hi"})
    assert "hi from from-xml" in server.get_build_console_output("from-xml", info["number"])
    assert run_to_end(server, "empty")["result"] == "SUCCESS"
    assert server.get_job_info("empty")["_class"] == "hudson.model.FreeStyleProject"


def test_credentials_and_permissions(server: jenkins.Jenkins, url: str) -> None:
    with pytest.raises(jenkins.JenkinsException, match=r"\[401\]"):
        jenkins.Jenkins(url, username="ci", password="wrong").get_whoami()
    wrong = httpx.get(f"{url}/api/json", auth=("ci", "wrong"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == 'Basic realm="Jenkins"'
    assert "Invalid password/token for user: ci" in wrong.text
    anonymous = httpx.get(f"{url}/api/json")
    assert anonymous.status_code == 403 and "Authentication required" in anonymous.text
    assert anonymous.headers["X-You-Are-Authenticated-As"] == "anonymous"
    viewer = jenkins.Jenkins(url, username="viewer", password="viewer-token")
    assert viewer.get_job_info("slow")["name"] == "slow"
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        viewer.build_job("slow")
    denied = httpx.post(
        f"{url}/job/slow/build", auth=("viewer", "viewer-token"), headers=_crumb(url, "viewer")
    )
    assert denied.status_code == 403 and denied.headers["X-Required-Permission"] == "hudson.model.Item.Build"
    assert "viewer is missing the Job/Build permission" in denied.text
    with pytest.raises(jenkins.JenkinsException, match=r"job\[no-such-job\] number\[1\] does not exist"):
        server.get_build_info("no-such-job", 1)
    assert httpx.get(f"{url}/job/no-such-job/api/json", auth=("ci", "ci-token")).status_code == 404
    log = httpx.get(f"{url}/_fake/access-log").json()
    assert {"identity": "viewer", "object": "job slow", "outcome": 403} in [
        {k: e[k] for k in ("identity", "object", "outcome")} for e in log
    ]


def _crumb(url: str, user: str) -> dict[str, str]:
    crumb = httpx.get(f"{url}/crumbIssuer/api/json", auth=(user, f"{user}-token")).json()
    _valid("Crumb", crumb)
    return {crumb["crumbRequestField"]: crumb["crumb"]}


def test_a_post_without_a_crumb_is_refused(url: str) -> None:
    auth = ("ci", "ci-token")
    missing = httpx.post(f"{url}/job/build-fix-agent/buildWithParameters", data={"app": "a"}, auth=auth)
    assert missing.status_code == 403 and "No valid crumb was included in the request" in missing.text
    other_users = httpx.post(f"{url}/job/slow/build", auth=auth, headers=_crumb(url, "viewer"))
    assert other_users.status_code == 403
    ok = httpx.post(f"{url}/job/build-fix-agent/buildWithParameters", data={"app": "a"}, auth=auth,
                    headers=_crumb(url, "ci"))  # fmt: skip
    assert ok.status_code == 201 and ok.headers["Location"].startswith(f"{url}/queue/item/")


def test_queued_items_show_their_params_and_identical_triggers_share_one(jobs_file: Path) -> None:
    with ThreadedServer(build(config(jobs_file, quiet_period="5"))) as url:
        server = jenkins.Jenkins(url, username="ci", password="ci-token")
        first = server.build_job("build-fix-agent", {"app": "a", "PATHOPS_IDEMPOTENCY_KEY": "k1"})
        again = server.build_job("build-fix-agent", {"app": "a", "PATHOPS_IDEMPOTENCY_KEY": "k1"})
        other = server.build_job("build-fix-agent", {"app": "a", "PATHOPS_IDEMPOTENCY_KEY": "k2"})
        assert first == again != other
        queue = server.get_queue_info()
        assert [i["id"] for i in queue] == [other, first]
        item = server.get_queue_item(first)
        assert item["_class"] == "hudson.model.Queue$WaitingItem" and item["why"].startswith(
            "In the quiet period"
        )
        assert item["params"] == "\napp=a\nsnapshot_id=none\ndry_run=false\nPATHOPS_IDEMPOTENCY_KEY=k1"
        assert item["task"]["name"] == "build-fix-agent"
        _valid("QueueItem", item)
        _valid("Queue", httpx.get(f"{url}/queue/api/json", auth=("ci", "ci-token")).json())
        assert server.get_job_info("build-fix-agent")["inQueue"]
        server.cancel_queue(first)
        assert server.get_queue_item(first)["cancelled"] is True


def test_builds_survive_a_restart_with_a_data_dir(jobs_file: Path, tmp_path: Path) -> None:
    cfg = config(jobs_file)
    cfg = type(cfg)(data_dir=tmp_path / "home", tokens=cfg.tokens, options=cfg.options)
    with ThreadedServer(build(cfg)) as url:
        server = jenkins.Jenkins(url, username="ci", password="ci-token")
        number = run_to_end(server, "build-fix-agent", {"app": "kept"})["number"]
        server.create_job("made-later", jenkins.EMPTY_CONFIG_XML)
    with ThreadedServer(build(cfg)) as url:
        server = jenkins.Jenkins(url, username="ci", password="ci-token")
        assert "app=kept" in server.get_build_console_output("build-fix-agent", number)
        assert server.job_exists("made-later")
        assert run_to_end(server, "build-fix-agent", {"app": "x"})["number"] == number + 1


def test_api_token_posts_may_skip_the_crumb_like_jenkins_2_96(jobs_file: Path) -> None:
    with ThreadedServer(build(config(jobs_file, crumb_for_api_tokens="false"))) as url:
        ok = httpx.post(f"{url}/job/slow/build", auth=("ci", "ci-token"))
        assert ok.status_code == 201
        assert httpx.post(f"{url}/job/slow/build").status_code == 403  # anonymous still needs one


def test_a_drop_fault_on_a_job_tells_its_next_build_that_its_callback_is_lost(
    server: jenkins.Jenkins, url: str
) -> None:
    added = httpx.post(
        f"{url}/_fake/faults", json={"kind": "drop", "path": "job/build-fix-agent", "count": 1}
    )
    assert added.status_code < 300, added.text
    first = run_to_end(server, "build-fix-agent", {"app": "a", "PATHOPS_IDEMPOTENCY_KEY": "k1"})
    second = run_to_end(server, "build-fix-agent", {"app": "a", "PATHOPS_IDEMPOTENCY_KEY": "k2"})
    assert "fault=drop" in server.get_build_console_output("build-fix-agent", first["number"])
    assert "fault=\n" in server.get_build_console_output("build-fix-agent", second["number"])  # once only
