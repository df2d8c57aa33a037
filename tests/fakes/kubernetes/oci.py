"""Test images for the fake kubelet: tar.gz layers with small Python scripts, pushed over the OCI
distribution API (blob uploads, then an OCI manifest) to a real `docker-registry` started for the tests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import bcrypt
import httpx

REGISTRY_BINARY = "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def htpasswd(users: dict[str, str]) -> str:
    """An htpasswd file's text with bcrypt hashes (the registry accepts no other)."""
    return "".join(
        f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
        for user, pw in users.items()
    )


@contextmanager
def registry(root: Path, users: dict[str, str] | None = None) -> Iterator[str]:
    """A real OCI distribution registry (Debian's docker-registry 2.8) on a free port; yields host:port.
    With `users`, it asks for Basic credentials (htpasswd)."""
    binary = shutil.which("docker-registry") or (REGISTRY_BINARY if Path(REGISTRY_BINARY).exists() else None)
    if binary is None:
        raise RuntimeError(
            "docker-registry is not installed: the kubernetes fake's image pulls are tested against the real "
            "OCI distribution registry (apt-get install docker-registry)"
        )
    port = free_port()
    config = root / "registry.yml"
    config.write_text(json.dumps({
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
        **({"auth": {"htpasswd": {"realm": "basic-realm", "path": str(root / "htpasswd")}}} if users else {}),
    }))  # fmt: skip
    if users:
        (root / "htpasswd").write_text(htpasswd(users))
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    host = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://{host}/v2/", timeout=1).status_code in (200, 401):
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"docker-registry did not start: {err}")
            time.sleep(0.05)
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def layer(files: dict[str, str]) -> bytes:
    """A gzip'd tar layer; keys are paths inside the image ("app/server.py")."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        dirs = sorted({str(Path(p).parent) for p in files if str(Path(p).parent) != "."})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _upload(client: httpx.Client, base: str, repo: str, data: bytes) -> str:
    digest = _digest(data)
    if client.head(f"{base}/v2/{repo}/blobs/{digest}").status_code == 200:
        return digest
    started = client.post(f"{base}/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = urljoin(base + "/", started.headers["location"])
    sep = "&" if "?" in location else "?"
    done = client.put(f"{location}{sep}digest={digest}", content=data,
                      headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert done.status_code == 201, done.text
    return digest


def push(
    host: str,
    repo: str,
    tag: str,
    layers: list[bytes],
    config: Mapping[str, object],
    auth: tuple[str, str] | None = None,
) -> str:
    """Push an OCI image; returns the manifest digest."""
    base = f"http://{host}"
    image_config = json.dumps({"architecture": "amd64", "os": "linux", "config": config,
                               "rootfs": {"type": "layers", "diff_ids": [_digest(gzip.decompress(b)) for b in layers]}}).encode()  # fmt: skip
    with httpx.Client(timeout=30, auth=auth) as client:
        config_digest = _upload(client, base, repo, image_config)
        entries = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _upload(client, base, repo, b),
                    "size": len(b)} for b in layers]  # fmt: skip
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                       "size": len(image_config)},
            "layers": entries,
        }).encode()  # fmt: skip
        put = client.put(f"{base}/v2/{repo}/manifests/{tag}", content=manifest,
                         headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
        assert put.status_code == 201, put.text
    return _digest(manifest)
