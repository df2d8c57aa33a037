"""Fixtures: a real OCI registry with test images, the fake served over HTTP, a namespace per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from kubernetes import client

from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.kubernetes import build
from tests.fakes.kubernetes import oci
from tests.fakes.kubernetes.support import JOB, OPTIONS, TOKENS, Fake, Images


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    with oci.registry(tmp_path_factory.mktemp("registry")) as host:
        config = {
            "Env": ["APP_HOME=/app", "PATH=/image/bin"],
            "WorkingDir": "/app",
            "Cmd": ["python3", "job.py", "1"],
        }
        for tag, message in (("v1", "from v1"), ("v2", "from v2")):
            files = {"app/message.txt": message + "\n", "app/job.py": JOB}
            oci.push(
                host, "demo/app", tag, [oci.layer({"app/README": "base layer\n"}), oci.layer(files)], config
            )
        yield Images(host)


@pytest.fixture(scope="session")
def fake() -> Iterator[Fake]:
    app = build(FakeConfig(tokens=TOKENS, options=OPTIONS))
    with ThreadedServer(app) as url:
        yield Fake(url, app)
    assert app.cluster.loop.errors == []


_counter = itertools.count()


@pytest.fixture
def ns(fake: Fake, request: pytest.FixtureRequest) -> str:
    name = f"t{next(_counter)}-{request.node.name.replace('_', '-')[:40].strip('-').lower()}"
    fake.core().create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name
