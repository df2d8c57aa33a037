"""One set of fakes for all pipeline tests (package scope): each test works on its own ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.gitlab import build as build_gitlab
from fakes.harbor import build as build_harbor
from fakes.s3 import build as build_s3
from tests.pipelines.support import ADMIN, GITLAB_TOKENS, PROJECT, S3_KEYS, Receiver, Stack, project, seed


@pytest.fixture(scope="package")
def harbor(docker_registry_binary: str) -> Iterator[str]:
    config = FakeConfig(tokens={ADMIN[1]: ADMIN[0]}, options={"registry_binary": docker_registry_binary})
    with ThreadedServer(build_harbor(config)) as url:
        yield url


@pytest.fixture(scope="package")
def stack(harbor: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root: Path = tmp_path_factory.mktemp("pipelines")
    s3_config = FakeConfig(tokens={S3_KEYS[0]: "ci"}, options={f"secret_key:{S3_KEYS[0]}": S3_KEYS[1]})
    receiver = Receiver()
    with (
        ThreadedServer(
            build_gitlab(FakeConfig(data_dir=root / "gitlab", tokens=dict(GITLAB_TOKENS)))
        ) as gitlab_url,
        ThreadedServer(build_s3(s3_config)) as s3_url,
        ThreadedServer(receiver) as receiver_url,
    ):
        receiver.url = receiver_url
        config = {
            "gitlab": {"url": gitlab_url, "token": "glpat-ci"},
            "registry": {"url": harbor, "host": harbor.removeprefix("http://"), "username": ADMIN[0],
                         "password": ADMIN[1], "project": PROJECT},
            "s3": {"endpoint": s3_url, "access_key": S3_KEYS[0], "secret_key": S3_KEYS[1]},
            "agents": {"image": "local/pathops-agents:dev", "service_url": "http://127.0.0.1:{port}"},
        }  # fmt: skip
        config_path = root / "ci-config.json"
        config_path.write_text(json.dumps(config))
        (root / "home").mkdir()
        world = Stack(gitlab_url, harbor, s3_url, receiver, config_path, root / "home")
        seed(world)
        project(harbor, PROJECT)
        for bucket in ("pathops-patches", "pathops-evidence"):
            world.s3().create_bucket(Bucket=bucket)
        yield world
