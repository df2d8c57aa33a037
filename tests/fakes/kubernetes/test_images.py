"""Pulls from a registry that wants credentials: none is a 401 and ErrImagePull; an imagePullSecret
(kubernetes.io/dockerconfigjson) answers the registry's Basic challenge."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.fakes.kubernetes import oci
from tests.fakes.kubernetes.support import Fake, pod_log, wait_for

USER, PASSWORD = "puller", "s3cret"


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("private-registry")
    with oci.registry(root, {USER: PASSWORD}) as host:
        layer = oci.layer({"srv/hello.py": "print('hello from a private image')\n"})
        oci.push(host, "team/private", "1.0", [layer], {"WorkingDir": "/srv", "Cmd": ["python3", "hello.py"]},
                 auth=(USER, PASSWORD))  # fmt: skip
        yield host


def _pod(name: str, image: str, secret: str | None = None) -> client.V1Pod:
    secrets = [client.V1LocalObjectReference(name=secret)] if secret else None
    spec = client.V1PodSpec(restart_policy="Never", containers=[client.V1Container(name="main", image=image)],
                            image_pull_secrets=secrets)  # fmt: skip
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=spec)


def test_pull_secret_answers_the_registry_challenge(fake: Fake, private: str, ns: str) -> None:
    core = fake.core()
    image = f"{private}/team/private:1.0"
    core.create_namespaced_pod(ns, _pod("anonymous", image))

    def pull_failed() -> str:
        events = core.list_namespaced_event(
            ns, field_selector="involvedObject.name=anonymous,reason=Failed"
        ).items
        return next((e.message for e in events if e.message.startswith("Failed to pull image")), "")

    assert "401 Unauthorized" in wait_for(pull_failed, "an unauthorized pull")
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    config = json.dumps({"auths": {private: {"auth": auth}}})
    core.create_namespaced_secret(ns, client.V1Secret(
        metadata=client.V1ObjectMeta(name="regcred"), type="kubernetes.io/dockerconfigjson",
        data={".dockerconfigjson": base64.b64encode(config.encode()).decode()}))  # fmt: skip
    core.create_namespaced_pod(ns, _pod("authorized", image, "regcred"))
    wait_for(
        lambda: core.read_namespaced_pod("authorized", ns).status.phase == "Succeeded",
        "the private image to run",
    )
    assert pod_log(core, "authorized", ns) == "hello from a private image\n"
    status = core.read_namespaced_pod("authorized", ns).status.container_statuses[0]
    assert status.image_id.startswith(f"{private}/team/private@sha256:")
