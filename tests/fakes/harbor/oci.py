"""A minimal OCI distribution client on httpx (the token dance included) and a real image to push."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from typing import Any

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    config: bytes
    layers: list[bytes]
    manifest: bytes

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)

    @property
    def size(self) -> int:
        return len(self.manifest) + len(self.config) + sum(len(layer) for layer in self.layers)


def layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzipped tar layer holding `files`, and its diff id (digest of the uncompressed tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, 1700000000
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0), digest_of(raw.getvalue())


def image(*layer_files: dict[str, bytes], cmd: str = "app") -> Image:
    layers, diff_ids = zip(*(layer(files) for files in layer_files), strict=True)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": [cmd], "Env": ["PATH=/usr/bin"]},
            "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
            "history": [{"created_by": f"COPY layer {i}"} for i in range(len(layers))],
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": digest_of(x), "size": len(x)} for x in layers],
            "annotations": {"org.opencontainers.image.source": "https://git.example/shop/api"},
        }
    ).encode()
    return Image(config=config, layers=list(layers), manifest=manifest)


def _with_digest(location: str, data: bytes) -> httpx.URL:
    """The upload's location (which carries the registry's `_state`) plus `digest=`."""
    return httpx.URL(location).copy_merge_params({"digest": digest_of(data)})


class Registry:
    """Talks /v2/ like docker does: try, follow the Bearer challenge to the token service, retry."""

    def __init__(self, base: str, user: str | None = None, password: str | None = None) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.credentials = (user, password) if user is not None else None
        self.tokens: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        scope = kwargs.pop("scope", "")
        if scope in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[scope]}"
        response = self.http.request(method, url, headers=headers, **kwargs)
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code != 401 or not challenge.startswith("Bearer ") or scope in self.tokens:
            return response
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = {"service": params["service"], **({"scope": params["scope"]} if "scope" in params else {})}
        got = httpx.get(params["realm"], params=query, auth=self.credentials)
        got.raise_for_status()
        self.tokens[scope] = got.json()["token"]
        headers["Authorization"] = f"Bearer {self.tokens[scope]}"
        return self.http.request(method, url, headers=headers, **kwargs)

    def push_blob_monolithic(self, repo: str, data: bytes) -> httpx.Response:
        scope = f"{repo}:push"
        started = self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope)
        assert started.status_code == 202, started.text
        return self.request(
            "PUT",
            _with_digest(started.headers["location"], data),
            content=data,
            headers={"Content-Type": "application/octet-stream"},
            scope=scope,
        )

    def push_blob_chunked(self, repo: str, data: bytes, chunk: int) -> httpx.Response:
        scope = f"{repo}:push"
        response = self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope)
        assert response.status_code == 202, response.text
        for start in range(0, len(data), chunk):
            part = data[start : start + chunk]
            response = self.request(
                "PATCH",
                response.headers["location"],
                content=part,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{start}-{start + len(part) - 1}",
                },
                scope=scope,
            )
            assert response.status_code == 202, response.text
            assert response.headers["range"] == f"0-{start + len(part) - 1}"
        return self.request("PUT", _with_digest(response.headers["location"], data), scope=scope)

    def push_manifest(self, repo: str, reference: str, manifest: bytes) -> httpx.Response:
        return self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            content=manifest,
            headers={"Content-Type": OCI_MANIFEST},
            scope=f"{repo}:push",
        )

    def push(self, repo: str, tag: str, img: Image) -> httpx.Response:
        assert self.push_blob_monolithic(repo, img.config).status_code == 201
        for data in img.layers:
            assert self.push_blob_monolithic(repo, data).status_code == 201
        return self.push_manifest(repo, tag, img.manifest)

    def pull_manifest(self, repo: str, reference: str) -> httpx.Response:
        return self.request(
            "GET", f"/v2/{repo}/manifests/{reference}", headers={"Accept": OCI_MANIFEST}, scope=f"{repo}:pull"
        )
