"""The apiserver side of the fake, through the official client: discovery, metadata semantics, Status
errors, selectors, patches, scale, and what goes over the wire validated against the OpenAPI schemas."""

from __future__ import annotations

import json
import threading
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tests.fakes.kubernetes.schemas import validate
from tests.fakes.kubernetes.support import Fake, raw, status_of, wait_for


def _cm(
    name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None
) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data or {"k": "v"})


def _deployment(name: str, replicas: int = 0, image: str = "local/python:1") -> client.V1Deployment:
    labels = {"app": name}
    containers = [
        client.V1Container(name="a", image=image, command=["sleep", "60"]),
        client.V1Container(name="b", image="local/sidecar:1", command=["sleep", "60"]),
    ]
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=client.V1PodSpec(containers=containers)
            ),
        ),
    )


def test_discovery_and_version(fake: Fake) -> None:
    api = fake.client()
    assert client.VersionApi(api).get_code().git_version.startswith("v1.")
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"apps", "batch"} <= groups
    core = {r.name for r in client.CoreV1Api(api).get_api_resources().resources}
    assert {"pods", "pods/log", "events", "configmaps", "secrets", "namespaces", "services"} <= core
    assert {"deployments", "deployments/scale", "replicasets"} <= {
        r.name for r in client.AppsV1Api(api).get_api_resources().resources
    }
    assert "jobs" in {r.name for r in client.BatchV1Api(api).get_api_resources().resources}
    for path in ("/api/v1", "/apis/apps/v1", "/apis/batch/v1"):
        validate(raw(fake, "GET", path).json())
    assert raw(fake, "GET", "/version", token="").status_code == 200  # public, as on a real cluster


def test_metadata_conflicts_and_status_errors(fake: Fake, ns: str) -> None:
    core = fake.core()
    made = core.create_namespaced_config_map(ns, _cm("settings"))
    assert made.metadata.uid and made.metadata.creation_timestamp and int(made.metadata.resource_version) > 0
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_config_map(ns, _cm("settings"))
    body = status_of(exists.value)
    assert (body["reason"], body["code"], body["details"]) == (
        "AlreadyExists",
        409,
        {"name": "settings", "kind": "configmaps"},
    )
    assert body["message"] == 'configmaps "settings" already exists'

    made.data = {"k": "v2"}
    updated = core.replace_namespaced_config_map("settings", ns, made)
    assert int(updated.metadata.resource_version) > int(made.metadata.resource_version)
    assert updated.metadata.uid == made.metadata.uid
    made.data = {"k": "stale"}
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("settings", ns, made)  # made still carries the old resourceVersion
    body = status_of(stale.value)
    assert body["reason"] == "Conflict" and "the object has been modified" in body["message"]

    with pytest.raises(ApiException) as missing:
        fake.apps().read_namespaced_deployment("ghost", ns)
    body = status_of(missing.value)
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": 'deployments.apps "ghost" not found', "reason": "NotFound",
                    "details": {"name": "ghost", "group": "apps", "kind": "deployments"}, "code": 404}  # fmt: skip
    with pytest.raises(ApiException) as bad_name:
        core.create_namespaced_config_map(ns, _cm("Bad_Name"))
    body = status_of(bad_name.value)
    assert body["reason"] == "Invalid" and body["code"] == 422
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["message"].startswith(
        'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"'
    )
    empty = client.V1Pod(metadata=client.V1ObjectMeta(name="empty"), spec=client.V1PodSpec(containers=[]))
    with pytest.raises(ApiException) as no_containers:
        core.create_namespaced_pod(ns, empty)
    assert (
        status_of(no_containers.value)["message"] == 'Pod "empty" is invalid: spec.containers: Required value'
    )
    with pytest.raises(ApiException) as no_ns:
        core.create_namespaced_config_map("no-such-namespace", _cm("x"))
    assert status_of(no_ns.value)["message"] == 'namespaces "no-such-namespace" not found'

    core.delete_namespaced_config_map("settings", ns)
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("settings", ns)
    assert gone.value.status == 404


def test_label_and_field_selectors(fake: Fake, ns: str) -> None:
    core = fake.core()
    for name, labels in (("web-front", {"app": "web", "tier": "front"}), ("web-back", {"app": "web", "tier": "back"}),
                         ("db", {"app": "db"}), ("bare", {})):  # fmt: skip
        core.create_namespaced_config_map(ns, _cm(name, labels))

    def names(**kw: str) -> list[str]:
        return sorted(c.metadata.name for c in core.list_namespaced_config_map(ns, **kw).items)

    assert names(label_selector="app=web") == ["web-back", "web-front"]
    assert names(label_selector="app==web,tier!=back") == ["web-front"]
    assert names(label_selector="tier in (front, back)") == ["web-back", "web-front"]
    assert names(label_selector="app notin (web)") == ["bare", "db"]
    assert names(label_selector="tier") == ["web-back", "web-front"]
    assert names(label_selector="!tier,app") == ["db"]
    assert names(field_selector="metadata.name=db") == ["db"]
    assert names(field_selector="metadata.name!=db,metadata.namespace=" + ns) == [
        "bare",
        "web-back",
        "web-front",
    ]
    everywhere = core.list_config_map_for_all_namespaces(label_selector="app=web")
    assert {c.metadata.namespace for c in everywhere.items} == {ns}
    with pytest.raises(ApiException) as unsupported:
        core.list_namespaced_config_map(ns, field_selector="data.k=v")
    assert status_of(unsupported.value)["message"] == "field label not supported: data.k"
    page = core.list_namespaced_config_map(ns, limit=3)
    assert len(page.items) == 3 and page.metadata.remaining_item_count == 1
    rest = core.list_namespaced_config_map(ns, limit=3, _continue=page.metadata._continue)
    assert len(rest.items) == 1
    listed = raw(fake, "GET", f"/api/v1/namespaces/{ns}/configmaps").json()
    validate(listed, "io.k8s.api.core.v1.ConfigMapList")


def test_patches_generation_and_scale(fake: Fake, ns: str) -> None:
    apps = fake.apps()
    created = apps.create_namespaced_deployment(ns, _deployment("web"))
    assert created.metadata.generation == 1
    strategic = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "local/python:2"}]}}}}
    patched = apps.patch_namespaced_deployment("web", ns, strategic)
    assert [c.image for c in patched.spec.template.spec.containers] == ["local/python:2", "local/sidecar:1"]
    assert patched.metadata.generation == 2
    labelled = apps.patch_namespaced_deployment("web", ns, {"metadata": {"labels": {"team": "core"}}})
    assert labelled.metadata.generation == 2  # metadata is not spec
    merged = apps.patch_namespaced_deployment(
        "web", ns, {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "local/only:1"}]}}}},
        _content_type="application/merge-patch+json",
    )  # fmt: skip
    assert [c.name for c in merged.spec.template.spec.containers] == ["c"]  # merge patch replaces lists
    ops = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "local/only:2"},
           {"op": "add", "path": "/metadata/annotations", "value": {"note": "json-patch"}}]  # fmt: skip
    jsonpatched = apps.patch_namespaced_deployment("web", ns, ops)
    assert jsonpatched.spec.template.spec.containers[0].image == "local/only:2"
    assert jsonpatched.metadata.annotations["note"] == "json-patch"
    scale = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 0}})
    assert scale.spec.replicas == 0
    validate(raw(fake, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/web/scale").json())
    with pytest.raises(ApiException) as immutable:
        apps.patch_namespaced_deployment("web", ns, {"spec": {"selector": {"matchLabels": {"app": "other"}}}})
    assert status_of(immutable.value)["reason"] == "Invalid"
    deployment = raw(fake, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/web").json()
    validate(deployment)


def test_watch_added_modified_deleted_and_resume(fake: Fake, ns: str) -> None:
    core = fake.core()
    start = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, _cm("watched", {"app": "w"}))
    core.patch_namespaced_config_map("watched", ns, {"data": {"k": "changed"}})
    core.patch_namespaced_config_map("watched", ns, {"metadata": {"labels": {"app": "other"}}})
    core.delete_namespaced_config_map("watched", ns)
    seen = [(e["type"], e["object"].metadata.name) for e in
            watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=start, timeout_seconds=1)]  # fmt: skip
    assert seen == [
        ("ADDED", "watched"),
        ("MODIFIED", "watched"),
        ("MODIFIED", "watched"),
        ("DELETED", "watched"),
    ]
    selected = [e["type"] for e in watch.Watch().stream(core.list_namespaced_config_map, ns, label_selector="app=w",
                                                         resource_version=start, timeout_seconds=1)]  # fmt: skip
    assert selected == ["ADDED", "MODIFIED", "DELETED"]  # leaving the selection is a DELETED
    lines = raw(
        fake, "GET", f"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={start}&timeoutSeconds=1"
    )
    for line in lines.text.splitlines():
        event = json.loads(line)
        validate(event, "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent")
        validate(event["object"])
    expired = raw(
        fake, "GET", f"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion=1&timeoutSeconds=1"
    )
    error = json.loads(expired.text.splitlines()[0])
    assert (
        error["type"] == "ERROR" and error["object"]["code"] == 410 and error["object"]["reason"] == "Expired"
    )


def test_live_watch_sees_changes_as_they_happen(fake: Fake, ns: str) -> None:
    core = fake.core()
    got: list[tuple[str, str]] = []
    ready = threading.Event()

    def follow() -> None:
        w = watch.Watch()
        ready.set()
        for event in w.stream(core.list_namespaced_secret, ns, timeout_seconds=3):
            got.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=follow)
    thread.start()
    ready.wait()
    time.sleep(0.3)
    secret = client.V1Secret(metadata=client.V1ObjectMeta(name="token"), string_data={"password": "s3cret"})
    made = core.create_namespaced_secret(ns, secret)
    assert made.data == {"password": "czNjcmV0"} and made.type == "Opaque"
    core.delete_namespaced_secret("token", ns)
    thread.join(timeout=10)
    assert ("ADDED", "token") in got and got[-1] == ("DELETED", "token")


def test_services_nodes_and_namespace_termination(fake: Fake, ns: str) -> None:
    core = fake.core()
    port = client.V1ServicePort(port=80, target_port=8080)
    service = core.create_namespaced_service(ns, client.V1Service(
        metadata=client.V1ObjectMeta(name="web"), spec=client.V1ServiceSpec(selector={"app": "web"}, ports=[port])))  # fmt: skip
    assert service.spec.type == "ClusterIP" and service.spec.cluster_ip.startswith("10.96.")
    validate(raw(fake, "GET", f"/api/v1/namespaces/{ns}/services/web").json())
    nodes = raw(fake, "GET", "/api/v1/nodes").json()
    validate(nodes, "io.k8s.api.core.v1.NodeList")
    assert [c["type"] for c in nodes["items"][0]["status"]["conditions"]] == ["Ready"]
    assert core.read_namespaced_service_account("default", ns).metadata.name == "default"

    held = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="held", finalizers=["example.com/hold"]))
    core.create_namespaced_config_map(ns, held)
    core.delete_namespace(ns)
    assert core.read_namespace(ns).status.phase == "Terminating"
    with pytest.raises(ApiException) as closed:
        core.create_namespaced_config_map(ns, _cm("late"))
    body = status_of(closed.value)
    assert body["reason"] == "Forbidden" and body["message"].endswith(
        f"namespace {ns} because it is being terminated"
    )
    assert core.read_namespaced_config_map("held", ns).metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    wait_for(lambda: ns not in {n.metadata.name for n in core.list_namespace().items}, "the namespace to go")
