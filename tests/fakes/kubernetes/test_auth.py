"""Bearer tokens and the default rule table: 401 and 403 as `Status` bodies, least privilege for agents,
PathOps read-only, Argo CD writing workloads, and every request in the access log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.kubernetes import build
from tests.fakes.kubernetes.support import Fake, raw, status_of


def _job(name: str) -> client.V1Job:
    container = client.V1Container(name="main", image="local/python", command=["true"])
    template = client.V1PodTemplateSpec(spec=client.V1PodSpec(restart_policy="Never", containers=[container]))
    return client.V1Job(metadata=client.V1ObjectMeta(name=name), spec=client.V1JobSpec(template=template))


def _forbidden(call: object, *args: object) -> dict[str, Any]:
    with pytest.raises(ApiException) as denied:
        call(*args)  # type: ignore[operator]
    body = status_of(denied.value)
    assert (body["code"], body["reason"]) == (403, "Forbidden")
    return body


def test_missing_and_unknown_tokens_are_401(fake: Fake) -> None:
    for token in ("", "not-a-token"):
        response = raw(fake, "GET", "/api/v1/namespaces", token=token)
        assert response.status_code == 401
        assert response.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401}  # fmt: skip
    with pytest.raises(ApiException) as unauthorized:
        fake.core("not-a-token").list_namespace()
    assert status_of(unauthorized.value)["reason"] == "Unauthorized"


def test_agent_reads_its_app_and_creates_jobs_in_agents_only(fake: Fake) -> None:
    agent = fake.core("t-agent")
    assert agent.list_namespaced_pod("shop-preflight").items == []
    agent.list_namespaced_event("shop-production")
    fake.apps("t-agent").list_namespaced_deployment("shop-production")
    body = _forbidden(
        agent.create_namespaced_pod, "shop-agents", client.V1Pod(metadata=client.V1ObjectMeta(name="p"))
    )
    assert body["message"] == (
        'pods is forbidden: User "agent:shop" cannot create resource "pods" in API group "" in the namespace "shop-agents"'
    )
    body = _forbidden(fake.batch("t-agent").create_namespaced_job, "shop-preflight", _job("nope"))
    assert body["details"] == {"kind": "jobs", "group": "batch"}
    _forbidden(agent.list_namespaced_secret, "shop-preflight")
    _forbidden(agent.list_namespaced_pod, "other-preflight")
    _forbidden(agent.list_pod_for_all_namespaces)
    body = _forbidden(agent.read_namespaced_config_map, "cfg", "shop-production")
    assert body["message"].startswith(
        'configmaps "cfg" is forbidden: User "agent:shop" cannot get resource "configmaps"'
    )
    made = fake.batch("t-agent").create_namespaced_job("shop-agents", _job("evidence-collector"))
    assert made.metadata.namespace == "shop-agents"
    entries = raw(fake, "GET", "/_fake/access-log").json()
    mine = [(e["method"], e["object"], e["outcome"]) for e in entries if e["identity"] == "agent:shop"]
    assert ("POST", "create pods shop-agents", 403) in mine
    assert ("POST", "create jobs shop-agents/evidence-collector", 201) in mine
    assert ("GET", "list pods shop-preflight", 200) in mine


def test_pathops_reads_only_and_argocd_writes_workloads(fake: Fake) -> None:
    fake.apps("t-pathops").list_deployment_for_all_namespaces()
    fake.core("t-pathops").list_namespace()
    body = _forbidden(fake.core("t-pathops").create_namespaced_config_map, "shop-production",
                      client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x")))  # fmt: skip
    assert 'User "pathops" cannot create resource "configmaps"' in str(body["message"])
    _forbidden(fake.core("t-pathops").list_namespaced_secret, "shop-production")
    argocd = fake.core("t-argocd")
    argocd.create_namespaced_config_map(
        "shop-production", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="app"))
    )
    argocd.delete_namespaced_config_map("app", "shop-production")
    body = _forbidden(
        argocd.create_namespace, client.V1Namespace(metadata=client.V1ObjectMeta(name="argo-made"))
    )
    assert body["message"] == (
        'namespaces is forbidden: User "argocd" cannot create resource "namespaces" in API group "" at the cluster scope'
    )
    _forbidden(fake.core("t-nobody").list_namespaced_pod, "shop-production")


def test_rules_from_a_yaml_file(tmp_path: Path) -> None:
    rules = tmp_path / "rbac.yaml"
    rules.write_text(
        "rules:\n"
        "  - identity: 'reader:{team}'\n"
        "    verbs: [get, list]\n"
        "    resources: [configmaps]\n"
        "    namespaces: ['{team}-space']\n"
    )
    config = FakeConfig(tokens={"t": "reader:blue"}, options={"rbac": str(rules), "namespaces": "blue-space"})
    with ThreadedServer(build(config)) as url:
        core = client.CoreV1Api(
            client.ApiClient(client.Configuration(host=url, api_key={"authorization": "Bearer t"}))
        )
        assert core.list_namespaced_config_map("blue-space").items == []
        with pytest.raises(ApiException) as denied:
            core.list_namespaced_config_map("default")
        assert denied.value.status == 403
