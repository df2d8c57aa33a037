"""The simulated node: Deployments roll out through ReplicaSets to processes that really serve HTTP,
Jobs run to completion, images come from a real OCI registry, and logs and events tell what happened."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.fakes.kubernetes.schemas import validate
from tests.fakes.kubernetes.support import (
    SERVER,
    Fake,
    Images,
    free_port,
    pod_log,
    raw,
    sleeper,
    status_of,
    wait_for,
)


def _server_deployment(images: Images, port: int, tag: str, greeting: str) -> client.V1Deployment:
    probe = client.V1Probe(http_get=client.V1HTTPGetAction(path="/healthz", port=port), period_seconds=1)
    container = client.V1Container(
        name="web",
        image=images.ref(f"demo/app:{tag}"),
        command=["python3", "-c", SERVER],
        args=[str(port)],
        env=[client.V1EnvVar(name="GREETING", value=greeting)],
        ports=[client.V1ContainerPort(container_port=port)],
        readiness_probe=probe,
    )
    labels = {"app": "web"}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=client.V1PodSpec(containers=[container])
            ),
        ),
    )


def _reasons(core: client.CoreV1Api, ns: str, name: str) -> list[tuple[str, str]]:
    events = core.list_namespaced_event(ns, field_selector=f"involvedObject.name={name}").items
    return [(e.reason, e.message) for e in events]


def _get(fake: Fake, path: str) -> Any:
    body = raw(fake, "GET", path).json()
    validate(body)
    return body


def test_deployment_becomes_ready_serves_logs_and_rolls_out(fake: Fake, images: Images, ns: str) -> None:
    apps, core = fake.apps(), fake.core()
    port, new_port = free_port(), free_port()
    apps.create_namespaced_deployment(ns, _server_deployment(images, port, "v1", "hi"))
    wait_for(
        lambda: apps.read_namespaced_deployment_status("web", ns).status.ready_replicas == 1,
        "readyReplicas 1",
    )
    pod = core.list_namespaced_pod(ns, label_selector="app=web").items[0]
    assert pod.status.phase == "Running" and pod.status.container_statuses[0].ready
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
    assert pod.metadata.owner_references[0].kind == "ReplicaSet"
    assert (
        httpx.get(f"http://127.0.0.1:{port}/").text == "hi from v1"
    )  # message.txt came from the image layer
    logs = pod_log(core, pod.metadata.name, ns)
    assert (
        f"listening on {port} with hi from v1" in logs and "served /healthz" in logs
    )  # the probe's requests
    last = pod_log(core, pod.metadata.name, ns, tail_lines=1)
    assert last.count("\n") == 1 and last.startswith("served /")
    reasons = [r for r, _ in _reasons(core, ns, pod.metadata.name)]
    assert reasons[:5] == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    _get(fake, f"/api/v1/namespaces/{ns}/pods/{pod.metadata.name}")
    first = _get(fake, f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    assert {c["type"]: c["reason"] for c in first["status"]["conditions"]} == {
        "Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}  # fmt: skip

    update = _server_deployment(images, new_port, "v2", "hey").spec.template.spec.containers[0]
    apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": update.image, "args": update.args, "env": [{"name": "GREETING", "value": "hey"}],
         "ports": [{"containerPort": new_port}], "readinessProbe": {"httpGet": {"path": "/", "port": new_port}}}]}}}})  # fmt: skip

    def rolled_out() -> bool:
        d = apps.read_namespaced_deployment_status("web", ns)
        s = d.status
        return bool(
            s.observed_generation == 2
            and s.updated_replicas == 1
            and s.ready_replicas == 1
            and s.replicas == 1
        )

    wait_for(rolled_out, "the rollout to v2", timeout=30)
    sets = apps.list_namespaced_replica_set(ns).items
    assert len(sets) == 2 and sorted(rs.spec.replicas for rs in sets) == [0, 1]
    assert len({rs.metadata.labels["pod-template-hash"] for rs in sets}) == 2
    wait_for(lambda: len(core.list_namespaced_pod(ns).items) == 1, "the old pod to go")
    assert httpx.get(f"http://127.0.0.1:{new_port}/").text == "hey from v2"
    deployment_events = [m for r, m in _reasons(core, ns, "web") if r == "ScalingReplicaSet"]
    assert any(
        m.startswith("Scaled down replica set web-") and m.endswith("from 1 to 0") for m in deployment_events
    )
    _get(fake, f"/apis/apps/v1/namespaces/{ns}/replicasets")
    _get(fake, f"/apis/apps/v1/namespaces/{ns}/deployments")
    validate(raw(fake, "GET", f"/api/v1/namespaces/{ns}/events").json(), "io.k8s.api.core.v1.EventList")


def test_job_runs_to_completion_from_the_image_defaults(fake: Fake, images: Images, ns: str) -> None:
    container = client.V1Container(name="job", image=images.ref("demo/app:v1"), args=["python3", "job.py", "3"],
                                   env=[client.V1EnvVar(name="TARGET", value="preflight")])  # fmt: skip
    template = client.V1PodTemplateSpec(spec=client.V1PodSpec(restart_policy="Never", containers=[container]))
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="collect"), spec=client.V1JobSpec(template=template, completions=2)
    )
    fake.batch().create_namespaced_job(ns, job)

    def complete() -> Any:
        status = fake.batch().read_namespaced_job_status("collect", ns).status
        return (
            status
            if any(c.type == "Complete" and c.status == "True" for c in status.conditions or [])
            else None
        )

    status = wait_for(complete, "the job to complete")
    assert status.succeeded == 2 and not status.active and status.completion_time is not None
    pods = fake.core().list_namespaced_pod(ns, label_selector="job-name=collect").items
    assert [p.status.phase for p in pods] == ["Succeeded", "Succeeded"]
    logs = pod_log(fake.core(), pods[0].metadata.name, ns)
    assert "step 0 preflight" in logs and "step 2 preflight" in logs and "done" in logs
    stamped = pod_log(fake.core(), pods[0].metadata.name, ns, timestamps=True, since_seconds=600).splitlines()
    assert len(stamped) == 4 and all(
        re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", line) for line in stamped
    )
    assert pods[0].status.container_statuses[0].state.terminated.reason == "Completed"
    _get(fake, f"/apis/batch/v1/namespaces/{ns}/jobs/collect")
    _get(fake, f"/api/v1/namespaces/{ns}/pods/{pods[0].metadata.name}")
    succeeded = fake.core().list_namespaced_pod(ns, field_selector="status.phase=Succeeded").items
    assert len(succeeded) == 2


def test_job_fails_after_its_backoff_limit(fake: Fake, ns: str) -> None:
    container = client.V1Container(
        name="fail", image="local/python", command=["python3", "-c", "raise SystemExit(3)"]
    )
    template = client.V1PodTemplateSpec(spec=client.V1PodSpec(restart_policy="Never", containers=[container]))
    fake.batch().create_namespaced_job(ns, client.V1Job(metadata=client.V1ObjectMeta(name="flaky"),
                                                        spec=client.V1JobSpec(template=template, backoff_limit=1)))  # fmt: skip

    def failed() -> Any:
        status = fake.batch().read_namespaced_job_status("flaky", ns).status
        return next((c for c in status.conditions or [] if c.type == "Failed"), None)

    condition = wait_for(failed, "BackoffLimitExceeded")
    assert condition.reason == "BackoffLimitExceeded"
    assert fake.batch().read_namespaced_job_status("flaky", ns).status.failed == 2
    terminated = [
        p.status.container_statuses[0].state.terminated for p in fake.core().list_namespaced_pod(ns).items
    ]
    assert [(t.exit_code, t.reason) for t in terminated] == [(3, "Error"), (3, "Error")]


def test_new_image_restarts_a_running_container_and_other_pod_changes_are_refused(
    fake: Fake, ns: str
) -> None:
    core = fake.core()
    core.create_namespaced_pod(ns, sleeper("swap", f"swap-{ns}"))

    def container() -> Any:
        statuses = core.read_namespaced_pod_status("swap", ns).status.container_statuses
        return statuses[0] if statuses and statuses[0].state.running else None

    first = wait_for(container, "the container to run")
    core.patch_namespaced_pod(
        "swap", ns, {"spec": {"containers": [{"name": "main", "image": "local/python:2"}]}}
    )
    second = wait_for(lambda: (c := container()) and c.restart_count == 1 and c, "a restart on the new image")
    assert second.image == "local/python:2" and second.container_id != first.container_id
    events = core.list_namespaced_event(ns, field_selector="involvedObject.name=swap,reason=Killing").items
    assert [e.message for e in events] == ["Container main definition changed, will be restarted"]
    with pytest.raises(ApiException) as refused:
        core.patch_namespaced_pod("swap", ns, {"spec": {"restartPolicy": "Never"}})
    assert status_of(refused.value)["message"].startswith(
        'Pod "swap" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`'
    )


def test_init_container_and_volumes(fake: Fake, ns: str) -> None:
    core = fake.core()
    show = "import os\nhere = os.path.dirname(__file__)\nprint(open('from-init.txt').read(), open(os.path.join(here, 'greeting.txt')).read())\n"
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="scripts"),
                                                             data={"show.py": show, "greeting.txt": "hello"}))  # fmt: skip
    work = client.V1VolumeMount(name="work", mount_path="/work")
    scripts = client.V1VolumeMount(name="scripts", mount_path="/etc/scripts")
    init = client.V1Container(name="prepare", image="local/python", working_dir="/work", volume_mounts=[work],
                              command=["python3", "-c", "open('from-init.txt', 'w').write('prepared')"])  # fmt: skip
    main = client.V1Container(name="main", image="local/python", working_dir="/work", volume_mounts=[work, scripts],
                              command=["python3", "/etc/scripts/show.py"])  # fmt: skip
    volumes = [client.V1Volume(name="work", empty_dir=client.V1EmptyDirVolumeSource()),
               client.V1Volume(name="scripts", config_map=client.V1ConfigMapVolumeSource(name="scripts"))]  # fmt: skip
    spec = client.V1PodSpec(
        restart_policy="Never", init_containers=[init], containers=[main], volumes=volumes
    )
    core.create_namespaced_pod(ns, client.V1Pod(metadata=client.V1ObjectMeta(name="staged"), spec=spec))
    wait_for(lambda: core.read_namespaced_pod("staged", ns).status.phase == "Succeeded", "the pod to finish")
    status = core.read_namespaced_pod("staged", ns).status
    assert status.init_container_statuses[0].state.terminated.reason == "Completed"
    assert {c.type: c.status for c in status.conditions}["Initialized"] == "True"
    assert pod_log(core, "staged", ns, container="main") == "prepared hello\n"
    assert pod_log(core, "staged", ns, container="prepare") == ""
    _get(fake, f"/api/v1/namespaces/{ns}/pods/staged")


def test_follow_streams_the_log_until_the_container_exits(fake: Fake, ns: str) -> None:
    core = fake.core()
    ticker = "import time\nfor i in range(5):\n    print('tick', i, flush=True)\n    time.sleep(0.1)"
    container = client.V1Container(name="main", image="local/python", command=["python3", "-c", ticker])
    spec = client.V1PodSpec(restart_policy="Never", containers=[container])
    core.create_namespaced_pod(ns, client.V1Pod(metadata=client.V1ObjectMeta(name="ticker"), spec=spec))
    wait_for(
        lambda: core.read_namespaced_pod("ticker", ns).status.phase != "Pending", "the container to start"
    )
    headers = {"Authorization": "Bearer t-admin"}
    with httpx.stream(
        "GET", f"{fake.url}/api/v1/namespaces/{ns}/pods/ticker/log?follow=true", headers=headers
    ) as r:
        streamed = "".join(r.iter_text())
    assert streamed == "".join(f"tick {i}\n" for i in range(5))
