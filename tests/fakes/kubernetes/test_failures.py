"""What goes wrong on the node looks as it does on a real one: CrashLoopBackOff, OOMKilled, image pull
errors, CreateContainerConfigError, failed liveness probes, and nothing outliving its pod."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tests.fakes.kubernetes.support import Fake, Images, free_port, pod_log, processes_with, sleeper, wait_for


def _pod(
    name: str, command: list[str], *, image: str = "local/python", policy: str = "Always", **kw: Any
) -> client.V1Pod:
    container = client.V1Container(name="main", image=image, command=command, **kw)
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name),
                        spec=client.V1PodSpec(restart_policy=policy, containers=[container]))  # fmt: skip


def _status(core: client.CoreV1Api, name: str, ns: str) -> Any:
    """The container's status, or None before the kubelet has reported one."""
    statuses = core.read_namespaced_pod_status(name, ns).status.container_statuses
    return statuses[0] if statuses else None


def _restarts(core: client.CoreV1Api, name: str, ns: str) -> int:
    status = _status(core, name, ns)
    return int(status.restart_count) if status else 0


def _events(core: client.CoreV1Api, ns: str, name: str) -> list[tuple[str, str, str]]:
    found = core.list_namespaced_event(ns, field_selector=f"involvedObject.name={name}").items
    return [(e.type, e.reason, e.message) for e in found]


def test_crash_loop_backs_off_and_keeps_the_previous_log(fake: Fake, ns: str) -> None:
    core = fake.core()
    core.create_namespaced_pod(
        ns, _pod("crash", ["python3", "-c", "print('boom', flush=True); raise SystemExit(1)"])
    )

    def backing_off() -> Any:
        s = _status(core, "crash", ns)
        waiting = s.state.waiting if s else None
        return s if waiting and waiting.reason == "CrashLoopBackOff" and s.restart_count >= 2 else None

    status = wait_for(backing_off, "CrashLoopBackOff after two restarts")
    assert (
        "back-off" in status.state.waiting.message
        and "restarting failed container=main" in status.state.waiting.message
    )
    assert (status.last_state.terminated.exit_code, status.last_state.terminated.reason) == (1, "Error")
    assert core.read_namespaced_pod("crash", ns).status.phase == "Running"
    assert "boom" in pod_log(core, "crash", ns, previous=True)
    backoffs = [m for t, r, m in _events(core, ns, "crash") if r == "BackOff"]
    assert backoffs and backoffs[0].startswith("Back-off restarting failed container main in pod crash_")
    wait_for(lambda: _restarts(core, "crash", ns) >= 3, "restartCount to keep growing")


def test_memory_limit_is_an_oom_kill(fake: Fake, ns: str) -> None:
    core = fake.core()
    hog = "import time\ndata = b'x' * (256 * 1024 * 1024)\nprint('allocated', flush=True)\ntime.sleep(60)"
    limits = client.V1ResourceRequirements(limits={"memory": "64Mi"})
    core.create_namespaced_pod(ns, _pod("hog", ["python3", "-c", hog], resources=limits))

    def oom_killed() -> Any:
        s = _status(core, "hog", ns)
        terminated = s.last_state.terminated if s and s.last_state else None
        return terminated if terminated and terminated.reason == "OOMKilled" else None

    terminated = wait_for(oom_killed, "lastState.terminated OOMKilled")
    assert terminated.exit_code == 137
    assert core.read_namespaced_pod("hog", ns).status.qos_class == "Burstable"
    assert any(r == "OOMKilling" for _, r, _ in _events(core, ns, "hog"))


def test_missing_image_is_err_image_pull_then_back_off(fake: Fake, images: Images, ns: str) -> None:
    core = fake.core()
    missing = images.ref("demo/absent:1.0")
    core.create_namespaced_pod(ns, _pod("ghost", ["true"], image=missing))
    seen: set[str] = set()

    def both_reasons() -> bool:
        s = _status(core, "ghost", ns)
        if s and s.state.waiting:
            seen.add(s.state.waiting.reason)
        return {"ErrImagePull", "ImagePullBackOff"} <= seen

    wait_for(both_reasons, "ErrImagePull then ImagePullBackOff")
    events = _events(core, ns, "ghost")
    assert ("Normal", "Pulling", f'Pulling image "{missing}"') in events
    assert any(r == "Failed" and m.startswith(f'Failed to pull image "{missing}"') for _, r, m in events)
    assert ("Warning", "Failed", "Error: ErrImagePull") in events
    assert ("Normal", "BackOff", f'Back-off pulling image "{missing}"') in events
    assert core.read_namespaced_pod("ghost", ns).status.phase == "Pending"


def test_missing_config_key_until_it_appears(fake: Fake, ns: str) -> None:
    core = fake.core()
    core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg"), data={"A": "1"})
    )
    core.create_namespaced_secret(
        ns, client.V1Secret(metadata=client.V1ObjectMeta(name="creds"), string_data={"TOKEN": "t0k"})
    )
    env = [client.V1EnvVar(name="WANTED", value_from=client.V1EnvVarSource(
        config_map_key_ref=client.V1ConfigMapKeySelector(name="cfg", key="B")))]  # fmt: skip
    env_from = [client.V1EnvFromSource(secret_ref=client.V1SecretEnvSource(name="creds"), prefix="S_")]
    show = "import os; print(os.environ['WANTED'], os.environ['S_TOKEN'], os.environ['HOSTNAME'])"
    core.create_namespaced_pod(
        ns, _pod("cfg-user", ["python3", "-c", show], policy="Never", env=env, env_from=env_from)
    )

    def config_error() -> Any:
        s = _status(core, "cfg-user", ns)
        waiting = s.state.waiting if s else None
        return waiting if waiting and waiting.reason == "CreateContainerConfigError" else None

    waiting = wait_for(config_error, "CreateContainerConfigError")
    assert waiting.message == f"couldn't find key B in ConfigMap {ns}/cfg"
    assert ("Warning", "Failed", f"Error: couldn't find key B in ConfigMap {ns}/cfg") in _events(
        core, ns, "cfg-user"
    )
    core.patch_namespaced_config_map("cfg", ns, {"data": {"B": "found"}})
    wait_for(lambda: core.read_namespaced_pod("cfg-user", ns).status.phase == "Succeeded", "the pod to run")
    assert pod_log(core, "cfg-user", ns) == "found t0k cfg-user\n"


def test_failed_liveness_probe_restarts_the_container(fake: Fake, ns: str) -> None:
    core = fake.core()
    nobody_listens = free_port()
    probe = client.V1Probe(
        http_get=client.V1HTTPGetAction(path="/healthz", port=nobody_listens), period_seconds=1
    )
    core.create_namespaced_pod(
        ns, _pod("unhealthy", ["python3", "-c", "import time; time.sleep(60)"], liveness_probe=probe)
    )
    wait_for(lambda: _restarts(core, "unhealthy", ns) >= 1, "a restart after failed liveness probes")
    events = _events(core, ns, "unhealthy")
    unhealthy = [m for _, r, m in events if r == "Unhealthy"]
    assert unhealthy[0] == (f'Liveness probe failed: Get "http://127.0.0.1:{nobody_listens}/healthz": '
                            f"dial tcp 127.0.0.1:{nobody_listens}: connect: connection refused")  # fmt: skip
    assert ("Normal", "Killing", "Container main failed liveness probe, will be restarted") in events
    assert _status(core, "unhealthy", ns).last_state.terminated.exit_code == 143  # SIGTERM


def test_deletion_propagates_and_leaves_no_processes(fake: Fake, ns: str) -> None:
    core, apps, batch = fake.core(), fake.apps(), fake.batch()
    marker = f"marker-{ns}"
    pod = sleeper("x", marker).spec.containers[0]
    labels = {"app": "sleepy"}
    apps.create_namespaced_deployment(ns, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="sleepy"),
        spec=client.V1DeploymentSpec(replicas=2, selector=client.V1LabelSelector(match_labels=labels),
                                     template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels),
                                                                       spec=client.V1PodSpec(containers=[pod])))))  # fmt: skip
    job_template = client.V1PodTemplateSpec(spec=client.V1PodSpec(restart_policy="Never", containers=[pod]))
    for name in ("kept", "swept"):
        batch.create_namespaced_job(ns, client.V1Job(metadata=client.V1ObjectMeta(name=name),
                                                     spec=client.V1JobSpec(template=job_template)))  # fmt: skip
    wait_for(lambda: len(processes_with(marker)) == 4, "four running containers")
    wait_for(
        lambda: apps.read_namespaced_deployment("sleepy", ns).status.ready_replicas == 2, "two ready replicas"
    )

    apps.delete_namespaced_deployment("sleepy", ns)
    wait_for(lambda: not apps.list_namespaced_replica_set(ns).items, "the replica set to go")
    batch.delete_namespaced_job("kept", ns)  # batch/v1 orphans a Job's pods unless told otherwise
    batch.delete_namespaced_job("swept", ns, propagation_policy="Background")
    wait_for(lambda: len(core.list_namespaced_pod(ns).items) == 1, "only the orphan left")
    orphan = core.list_namespaced_pod(ns).items[0]
    assert orphan.metadata.name.startswith("kept-") and not orphan.metadata.owner_references
    wait_for(lambda: len(processes_with(marker)) == 1, "the other processes to be killed")
    core.delete_namespace(ns)
    wait_for(lambda: not processes_with(marker), "no process left")
    wait_for(lambda: ns not in {n.metadata.name for n in core.list_namespace().items}, "the namespace to go")


def test_rollout_that_never_gets_ready_exceeds_its_progress_deadline(fake: Fake, ns: str) -> None:
    apps = fake.apps()
    probe = client.V1Probe(http_get=client.V1HTTPGetAction(path="/", port=free_port()), period_seconds=1)
    container = client.V1Container(name="main", image="local/python", readiness_probe=probe,
                                   command=["python3", "-c", "import time; time.sleep(60)"])  # fmt: skip
    labels = {"app": "stuck"}
    apps.create_namespaced_deployment(ns, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="stuck"),
        spec=client.V1DeploymentSpec(progress_deadline_seconds=1, selector=client.V1LabelSelector(match_labels=labels),
                                     template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels),
                                                                       spec=client.V1PodSpec(containers=[container])))))  # fmt: skip

    def conditions() -> dict[str, tuple[str, str]]:
        found = apps.read_namespaced_deployment_status("stuck", ns).status.conditions or []
        return {c.type: (c.status, c.reason) for c in found}

    wait_for(lambda: conditions().get("Progressing") == ("False", "ProgressDeadlineExceeded"), "the deadline")
    assert conditions()["Available"] == ("False", "MinimumReplicasUnavailable")
    readiness = [m for _, r, m in _events(fake.core(), ns, fake.core().list_namespaced_pod(ns).items[0].metadata.name)
                 if r == "Unhealthy"]  # fmt: skip
    assert readiness and readiness[0].startswith("Readiness probe failed: Get ")
