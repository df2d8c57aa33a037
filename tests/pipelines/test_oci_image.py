"""The OCI image builder and pusher against the Harbor fake (token flow in front of a real
docker-registry), and the Kubernetes fake's image puller pulling what was pushed."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest

from appliance.adapters.oci import build_layer, push_image
from appliance.adapters.oci.layers import digest_of, image_documents
from appliance.ports.errors import PermanentError, TransientError
from fakes.kubernetes.kubelet.images import ImageStore
from fakes.kubernetes.kubelet.rootfs import unpack
from tests.fakes.harbor import oci
from tests.pipelines.support import ADMIN, project

pytestmark = pytest.mark.usefixtures("docker_registry_binary")


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "app.py").write_text("print('hello from the image')\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def test_a_layer_is_deterministic_and_has_no_git(tmp_path: Path) -> None:
    first = build_layer(_tree(tmp_path / "a"), prefix="src")
    second = build_layer(_tree(tmp_path / "b"), prefix="src")
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(first))) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == ["src", "src/app.py", "src/pkg", "src/pkg/__init__.py", "src/run.sh"]
    assert {(m.mtime, m.uid, m.gid) for m in members.values()} == {(0, 0, 0)}
    assert members["src/run.sh"].mode == 0o755 and members["src/app.py"].mode == 0o644
    assert build_layer(tmp_path / "a", prefix="/") != first


async def test_push_then_pull_back_and_run_from_the_kubelet_store(harbor: str, tmp_path: Path) -> None:
    project(harbor, "imgs")
    layer = build_layer(_tree(tmp_path / "src"), prefix="app")
    pushed = await push_image(
        registry_url=harbor, repository="imgs/hello", tag="v1", layers=[layer],
        cmd=["python", "/app/app.py"], workdir="/app", env={"GREETING": "hi"},
        labels={"org.opencontainers.image.revision": "abc"}, username=ADMIN[0], password=ADMIN[1],
    )  # fmt: skip
    host = harbor.removeprefix("http://")
    assert pushed.reference == f"{host}/imgs/hello:v1" and pushed.digest.startswith("sha256:")

    registry = oci.Registry(harbor, *ADMIN)
    manifest = registry.pull_manifest("imgs/hello", "v1")
    assert manifest.status_code == 200 and oci.digest_of(manifest.content) == pushed.digest
    assert [x["digest"] for x in manifest.json()["layers"]] == [oci.digest_of(layer)]

    store = ImageStore(tmp_path / "node")
    image = await store.pull(pushed.reference, {host: ADMIN})
    assert image.digest == pushed.digest
    assert image.config["Cmd"] == ["python", "/app/app.py"] and image.config["WorkingDir"] == "/app"
    assert image.config["Env"] == ["GREETING=hi"]
    root = tmp_path / "rootfs"
    unpack(image, {d: store.blob_path(d) for d, _ in image.layers}, root)
    assert (root / "app" / "app.py").read_text() == "print('hello from the image')\n"
    assert not (root / "app" / ".git").exists()

    again = await push_image(
        registry_url=harbor, repository="imgs/hello", tag="v1", layers=[layer],
        cmd=["python", "/app/app.py"], workdir="/app", env={"GREETING": "hi"},
        labels={"org.opencontainers.image.revision": "abc"}, username=ADMIN[0], password=ADMIN[1],
    )  # fmt: skip
    assert again == pushed
    log = httpx.get(f"{harbor}/_fake/access-log").json()
    puts = [e for e in log if e["method"] == "PUT" and "/imgs/hello/manifests/" in e["path"]]
    assert len(puts) == 1  # the second push found the tag with the same digest


async def test_errors_say_whether_a_retry_helps(harbor: str, tmp_path: Path) -> None:
    layer = build_layer(_tree(tmp_path / "src"), prefix="app")
    with pytest.raises(PermanentError) as wrong:
        await push_image(registry_url=harbor, repository="imgs/x", tag="v1", layers=[layer], cmd=["true"],
                         username="admin", password="wrong-password")  # fmt: skip
    assert "401" in str(wrong.value) and "wrong-password" not in str(wrong.value)
    with pytest.raises(PermanentError) as missing:
        await push_image(registry_url=harbor, repository="nosuchproject/x", tag="v1", layers=[layer],
                         cmd=["true"], username=ADMIN[0], password=ADMIN[1])  # fmt: skip
    assert "nosuchproject" in str(missing.value)
    with pytest.raises(TransientError):
        await push_image(registry_url="http://127.0.0.1:9", repository="imgs/x", tag="v1", layers=[layer],
                         cmd=["true"], timeout=2)  # fmt: skip


def test_the_config_carries_labels_and_diff_ids(tmp_path: Path) -> None:
    layer = build_layer(_tree(tmp_path / "src"), prefix="app")
    config, manifest = image_documents(layers=[layer], cmd=["x"], workdir="/", env={}, labels={"a": "b"})
    parsed = json.loads(config)
    assert parsed["rootfs"]["diff_ids"] == [digest_of(gzip.decompress(layer))]
    assert parsed["config"]["Labels"] == {"a": "b"}
    assert json.loads(manifest)["config"]["digest"] == digest_of(config)


async def test_a_project_robot_account_pushes_and_is_refused_elsewhere(harbor: str, tmp_path: Path) -> None:
    project(harbor, "robots")
    project(harbor, "others")
    access = [{"resource": "repository", "action": a} for a in ("push", "pull")]
    created = httpx.post(f"{harbor}/api/v2.0/robots", auth=ADMIN, json={
        "name": "ci", "level": "project", "duration": -1,
        "permissions": [{"kind": "project", "namespace": "robots", "access": access}]})  # fmt: skip
    assert created.status_code == 201, created.text
    robot = (created.json()["name"], created.json()["secret"])
    layer = build_layer(_tree(tmp_path / "src"), prefix="app")
    pushed = await push_image(registry_url=harbor, repository="robots/app", tag="1", layers=[layer],
                              cmd=["python", "/app/app.py"], username=robot[0], password=robot[1])  # fmt: skip
    assert pushed.digest.startswith("sha256:")
    with pytest.raises(PermanentError) as refused:
        await push_image(registry_url=harbor, repository="others/app", tag="1", layers=[layer],
                         cmd=["python", "/app/app.py"], username=robot[0], password=robot[1])  # fmt: skip
    assert "others/app" in str(refused.value) and robot[1] not in str(refused.value)
