"""The golden paths end to end on the embedded target: the fakes seeded with `shop`, the real appliance,
Jenkins running `pathops-ci`, Argo CD applying, the node running the apps and the agents.

A developer's commit drops SHOP_DB_URL from shop-api's manifest. With no human step it is built,
deployed to preflight, crash-loops there (Argo CD: Degraded), the preflight fails and opens an
incident; the evidence collector bundles the crash, the fix agent proposes the fix, CI opens the MR.
An owner approves and merges it: the merge is built, passes preflight and verification, and waits
for the owner's promotion (production's autonomy level is 0), which lands it in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.support.embedded import Embedded, start

pytestmark = pytest.mark.xdist_group("embedded-e2e")

API = "shop/shop-api"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    yield from start(tmp_path_factory.mktemp("golden") / "data")


def _drop_env(gl: Any) -> str:
    """As a developer: a commit to shop-api's main that loses SHOP_DB_URL from its Deployment."""
    project = gl.projects.get(API)
    text = project.files.get("deploy/deployment.yaml", ref="main").decode().decode()
    broken = re.sub(r"^ *- name: SHOP_DB_URL\n *value: .*\n", "", text, flags=re.MULTILINE)
    assert broken != text
    commit = project.commits.create({
        "branch": "main", "commit_message": "Tidy the Deployment's environment",
        "actions": [{"action": "update", "file_path": "deploy/deployment.yaml", "content": broken}],
    })  # fmt: skip
    return str(commit.id)


def test_a_crash_loop_in_preflight_becomes_a_fix_that_reaches_production(world: Embedded) -> None:
    bad = _drop_env(world.gitlab())
    bad_artifact = f"art-shop-api-{bad[:12]}"
    incident_id = f"inc-pf-{bad_artifact}"

    # 1. built, deployed to preflight, degraded there: the artifact is blocked and an incident opens
    artifact = world.wait("the bad commit's artifact to be rejected",
                          lambda: (s := _maybe(world, "artifacts", bad_artifact)) and s["phase"] == "rejected" and s)  # fmt: skip
    assert "deploy degraded in shop-api-preflight" in artifact["reason"]

    # 2. the autopilot: evidence, a fix, a merge request, with no human step
    incident = world.wait("the incident's fix MR",
                          lambda: (s := _maybe(world, "incidents", incident_id)) and s["phase"] == "proposed" and s,
                          timeout=600)  # fmt: skip
    assert incident["namespace"] == "shop-api-preflight" and incident["source_sha"] == bad
    changeset_id = incident["changeset_id"]
    assert incident["branch"].startswith(f"{changeset_id}-fix-")
    project = world.gitlab().projects.get(API)
    [mr] = project.mergerequests.list(source_branch=incident["branch"], get_all=True)
    changes = mr.changes()["changes"]
    assert [c["new_path"] for c in changes] == ["deploy/deployment.yaml"]
    assert "+            - name: SHOP_DB_URL" in changes[0]["diff"]

    # the evidence bundle holds the crash: the previous container's log and the back-off events
    bundle = world.bundle(incident["snapshot_id"])
    logs = "\n".join(text for path, text in bundle.items() if path.startswith("logs/"))
    assert "KeyError: 'SHOP_DB_URL'" in logs
    events = yaml.safe_load(bundle["events.yaml"])
    assert any(e.get("reason") == "BackOff" for e in events), events
    record = yaml.safe_load(project_file(world, "shop/shop-meta", f"incidents/{incident_id}.yaml"))
    assert (
        record["evidence"]["snapshot_id"] == incident["snapshot_id"]
        and record["merge_request"]["url"] == mr.web_url
    )

    # 3. the MR's head goes through preflight before the merge; only then may an owner approve
    early = world.api("POST", f"/api/changesets/{changeset_id}/approve", json={"comment": "too early?"})
    assert early["phase"] == "open" or early["state"]["head_report"]  # without evidence it waits
    head = world.wait(
        "the MR head's preflight", lambda: world.state("changesets", changeset_id)["head_report"]
    )
    assert head.startswith("rep-")
    world.api("POST", f"/api/changesets/{changeset_id}/approve", json={"comment": "looks right"})
    project.mergerequests.get(mr.iid).merge()
    verified = world.wait("the fix's artifact to be verified in preflight",
                          lambda: _verified_artifact(world, changeset_id), timeout=600)  # fmt: skip
    assert world.state("changesets", changeset_id)["phase"] == "verified"
    assert verified["report_id"]

    # 4. production's autonomy is 0: promotion waits for an owner, then lands in production
    assert verified["phase"] == "verified" and not verified.get("approved_by")
    world.api("POST", f"/api/artifacts/{verified['id']}/promote", json={"comment": "ship it"})
    world.wait("the promotion", lambda: world.state("artifacts", verified["id"])["phase"] == "promoted")
    assert world.state("changesets", changeset_id)["phase"] == "promoted"
    assert world.state("incidents", incident_id)["phase"] == "resolved"
    deployment = yaml.safe_load(project_file(world, "shop/shop-api-gitops", "production/deployment.yaml"))
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == verified["image"]
    assert "SHOP_DB_URL" in [e["name"] for e in container["env"]]


def test_at_level_two_a_low_risk_fix_is_promoted_by_the_autopilot(world: Embedded) -> None:
    meta = (
        project_file(world, "shop/shop-meta", "project.yaml")
        .replace("{name: production, autonomy: 0}", "{name: production, autonomy: 2}")
        .replace("\nautonomy: 1\n", "\nautonomy: 2\n")
    )
    assert "autonomy: 2}" in meta
    imported = httpx.post(f"{world.url}/api/projects/import", content=meta, headers=world.auth, timeout=30)
    assert imported.status_code == 201, imported.text
    bad = _drop_env(world.gitlab())
    incident_id = f"inc-pf-art-shop-api-{bad[:12]}"
    incident = world.wait("the second incident's fix MR",
                          lambda: (s := _maybe(world, "incidents", incident_id)) and s["phase"] == "proposed" and s,
                          timeout=600)  # fmt: skip
    changeset_id = incident["changeset_id"]
    changeset = world.state("changesets", changeset_id)
    assert changeset["risk"] is not None and changeset["risk"] < 30  # a one-line env addition: low risk
    # no human step from here: the MR's head passes preflight, CI merges it, the merge passes preflight,
    # and the autopilot promotes it
    world.wait("the autopilot's promotion",
               lambda: world.state("changesets", changeset_id)["phase"] == "promoted", timeout=600)  # fmt: skip
    assert world.state("changesets", changeset_id)["approved_by"] == "autopilot"
    promoted = _promoted_artifact(world, changeset_id)
    assert promoted is not None and promoted["approved_by"] == "autopilot"
    [mr] = world.gitlab().projects.get(API).mergerequests.list(source_branch=incident["branch"], get_all=True)
    assert mr.state == "merged" and mr.merged_by["username"] == "ci"
    assert world.state("incidents", incident_id)["phase"] == "resolved"


def test_a_feature_across_both_apps_deploys_the_api_first(world: Embedded) -> None:
    created = world.api("POST", "/api/features", json={"project": "shop", "title": "Product search"})
    changeset_id = created["id"]
    assert created["state"]["apps"] == ["shop-api", "shop-frontend"]
    opened = world.wait(
        "the feature's MRs", lambda: (s := world.state("changesets", changeset_id))["phase"] == "open" and s
    )
    assert set(opened["mrs"]) == {"shop-api", "shop-frontend"}
    gl = world.gitlab()
    for app in ("shop-frontend", "shop-api"):  # the work itself, pushed by a developer
        gl.projects.get(f"shop/{app}").commits.create({
            "branch": opened["branch"], "commit_message": "Product search",
            "actions": [{"action": "create", "file_path": "docs/search.md", "content": "# Search\n"}],
        })  # fmt: skip
    world.api("POST", f"/api/changesets/{changeset_id}/approve", json={})
    for app in ("shop-frontend", "shop-api"):  # merged in the "wrong" order on purpose
        project = gl.projects.get(f"shop/{app}")
        [mr] = project.mergerequests.list(source_branch=opened["branch"], get_all=True)
        project.mergerequests.get(mr.iid).merge()
    done = world.wait("the feature verified in preflight",
                      lambda: (s := world.state("changesets", changeset_id))["phase"] == "verified" and s, timeout=600)  # fmt: skip
    runs = {p["state"]["app"]: p["state"] for p in world.instances("preflights", limit="500")
            if p["state"]["artifact_id"] in done["artifacts"].values()}  # fmt: skip
    api, frontend = runs["shop-api"], runs["shop-frontend"]
    assert api["phase"] == frontend["phase"] == "passed"
    api_passed = next(s["at"] for s in api["steps"] if s["step"] == "passed")
    assert frontend["started_at"] >= api_passed, (api["steps"], frontend["started_at"])


def test_a_failing_verification_blocks_promotion_and_opens_an_incident(world: Embedded) -> None:
    """A commit that breaks shop-api's contract (a price as a string) passes its own tests and deploys
    healthy, but the verification agent's contract tests fail it."""
    project = world.gitlab().projects.get(API)
    text = project.files.get("app.py", ref="main").decode().decode()
    broken = text.replace('"price": 24.5,', '"price": "24.50",')
    assert broken != text
    sha = project.commits.create({"branch": "main", "commit_message": "Prices as decimal strings",
                                  "actions": [{"action": "update", "file_path": "app.py", "content": broken}]}).id  # fmt: skip
    art = f"art-shop-api-{sha[:12]}"
    artifact = world.wait("the artifact to be rejected by its verification",
                          lambda: (s := _maybe(world, "artifacts", art)) and s["phase"] == "rejected" and s)  # fmt: skip
    assert "verification failed" in artifact["reason"] and not artifact.get("report_id")
    run = world.state("preflights", f"pf-{art}")
    assert run["phase"] == "failed" and run["health"] == "Healthy"  # it deployed fine: the tests judged it
    body = world.s3().get_object(Bucket="pathops-reports", Key=f"reports/{run['report_id']}.json")["Body"]
    report = json.loads(body.read())
    failing = [c for c in report["checks"] if c["status"] != "passed"]
    assert report["status"] == "failed" and failing and {c["kind"] for c in failing} == {"contract"}, failing
    incident = world.wait("the incident it opened", lambda: _maybe(world, "incidents", f"inc-pf-{art}"))
    assert incident["namespace"] == "shop-api-preflight" and incident["source_sha"] == sha
    world.api("POST", f"/api/artifacts/{art}/promote", json={"comment": "try anyway"})
    assert world.state("artifacts", art)["phase"] == "rejected"  # no evidence, no promotion


def project_file(world: Embedded, repo: str, path: str, ref: str = "main") -> str:
    return str(world.gitlab().projects.get(repo).files.get(path, ref=ref).decode().decode())


def _maybe(world: Embedded, kind: str, id: str) -> dict[str, Any] | None:
    found = [i for i in world.instances(kind, limit="500") if i["id"] == id]
    return dict(found[0]["state"]) if found else None


def _verified_artifact(world: Embedded, changeset_id: str) -> dict[str, Any] | None:
    for item in world.instances("artifacts", limit="500"):
        state = item["state"]
        if (
            state.get("changeset_id") == changeset_id
            and not state.get("stage")
            and state["phase"]
            in (
                "verified",
                "promoting",
                "promoted",
            )
        ):
            return dict(state)
    return None


def _promoted_artifact(world: Embedded, changeset_id: str) -> dict[str, Any] | None:
    found = _verified_artifact(world, changeset_id)
    return found if found is not None and found["phase"] == "promoted" else None


def test_the_boundaries_hold_in_the_access_logs(world: Embedded) -> None:
    """Only CI pushed to gitops repos and images, only Argo CD wrote workloads, agents read only their
    target namespaces, and PathOps never wrote to the cluster."""
    pushes = [a for a in world.access_log("gitlab") if " push refs/" in str(a.get("object", ""))]
    gitops = [a for a in pushes if "-gitops " in a["object"]]
    assert gitops and {a["identity"] for a in gitops} == {"ci"}
    kube = world.access_log("kubernetes")
    writes = [a for a in kube if a.get("method") in ("POST", "PUT", "PATCH", "DELETE")]
    workload_writers = {
        a["identity"] for a in writes if "/apis/apps/" in a["path"] or "/apis/batch/" in a["path"]
    }
    assert workload_writers == {"argocd"}, workload_writers
    assert not [a for a in writes if a["identity"] == "pathops"]
    agent_reads = [a for a in kube if str(a.get("identity", "")).startswith("agent:")]
    assert agent_reads and {a["method"] for a in agent_reads} == {"GET"}
    # the incidents so far were all in shop-api's preflight: the collector read there and nowhere else
    assert {a["path"].split("/namespaces/")[1].split("/")[0] for a in agent_reads} == {"shop-api-preflight"}
    harbor = [a for a in world.access_log("harbor") if a.get("method") in ("PUT", "POST", "PATCH")]
    image_pushes = [a for a in harbor if "/v2/" in a["path"] and "/manifests/" in a["path"]]
    assert image_pushes and {a["identity"] for a in image_pushes} == {"robot$shop+ci"}, image_pushes
