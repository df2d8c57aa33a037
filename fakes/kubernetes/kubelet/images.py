"""Image pulls from an OCI distribution registry (the HTTP API v2), with a blob cache by digest.

`HOST:PORT/repo:tag` is fetched over plain HTTP (hosts without a port over HTTPS): the manifest with
Accept for OCI and Docker v2 manifests and indexes (an index picks linux/amd64), then the config and the
layer blobs, verified by sha256. Registries that answer 401 get Basic credentials from the pod's
imagePullSecrets, or a Bearer token from the realm their `WWW-Authenticate` names.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[2:]
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class PullError(Exception):
    pass


@dataclass(frozen=True)
class Reference:
    host: str
    repository: str
    tag: str
    digest: str

    @classmethod
    def parse(cls, image: str) -> Reference:
        rest, _, digest = image.partition("@")
        first, slash, remainder = rest.partition("/")
        if slash and ("." in first or ":" in first or first == "localhost"):
            host, path = first, remainder
        else:
            host, path = "docker.io", rest
            if "/" not in path:
                path = f"library/{path}"
        repository, colon, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
        if not colon:
            repository, tag = path, "latest" if not digest else ""
        if not repository or not re.match(r"^[a-z0-9]+([._/-][a-z0-9]+)*$", repository):
            raise PullError(f'couldn\'t parse image name "{image}": invalid reference format')
        return cls(host, repository, tag, digest)

    @property
    def base_url(self) -> str:
        if self.host == "docker.io":
            return "https://registry-1.docker.io"
        hostname = self.host.split(":")[0]
        plain = ":" in self.host or hostname in ("localhost", "127.0.0.1")
        return f"{'http' if plain else 'https'}://{self.host}"

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repository}"


@dataclass
class Image:
    reference: str
    digest: str  # the manifest's digest
    config: dict[str, Any]  # the image config's "config" (Env, Entrypoint, Cmd, WorkingDir)
    layers: list[tuple[str, str]] = field(default_factory=list)  # (digest, mediaType)
    size: int = 0

    @property
    def image_id(self) -> str:
        return f"{Reference.parse(self.reference).name}@{self.digest}"


class ImageStore:
    def __init__(self, root: Path, *, preloaded: tuple[str, ...] = (), timeout_s: float = 30.0) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.preloaded = preloaded
        self.timeout_s = timeout_s
        self._present: dict[str, Image] = {}

    def is_preloaded(self, image: str) -> bool:
        """Preloaded images are on the node and never pulled, whatever the pull policy."""
        return any(fnmatch.fnmatchcase(image, pattern) for pattern in self.preloaded)

    def present(self, image: str) -> Image | None:
        if self.is_preloaded(image):
            digest = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
            return Image(reference=image, digest=digest, config={})
        return self._present.get(image)

    def blob_path(self, digest: str) -> Path:
        return self.blobs / digest.replace(":", "-")

    async def pull(self, image: str, credentials: dict[str, tuple[str, str]]) -> Image:
        ref = Reference.parse(image)
        async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=True) as client:
            session = _Session(client, ref, credentials.get(ref.host))
            manifest, digest = await session.manifest(ref.digest or ref.tag)
            if manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest:
                chosen = _platform(manifest.get("manifests") or [])
                if chosen is None:
                    raise PullError(
                        f"no matching manifest for linux/amd64 in the manifest list entries for {image}"
                    )
                manifest, digest = await session.manifest(chosen)
            config_digest = (manifest.get("config") or {}).get("digest")
            if not config_digest:
                raise PullError(f"manifest for {image} has no config")
            config = json.loads((await self._fetch(session, config_digest)).read_bytes())
            layers = [
                (str(layer["digest"]), str(layer.get("mediaType", "")))
                for layer in manifest.get("layers") or []
            ]
            size = 0
            for layer_digest, _ in layers:
                size += (await self._fetch(session, layer_digest)).stat().st_size
        pulled = Image(
            reference=image, digest=digest, config=config.get("config") or {}, layers=layers, size=size
        )
        self._present[image] = pulled
        return pulled

    async def _fetch(self, session: _Session, digest: str) -> Path:
        path = self.blob_path(digest)
        if path.exists():
            return path
        data = await session.blob(digest)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise PullError(
                f'failed commit on ref "layer-{digest}": unexpected commit digest, expected {digest}'
            )
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path


def _platform(entries: list[dict[str, Any]]) -> str | None:
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform.get("os", "linux") == "linux" and platform.get("architecture", "amd64") == "amd64":
            return str(entry["digest"])
    return str(entries[0]["digest"]) if entries else None


class _Session:
    def __init__(self, client: httpx.AsyncClient, ref: Reference, creds: tuple[str, str] | None) -> None:
        self.client, self.ref, self.creds = client, ref, creds
        self.auth: str | None = None

    async def manifest(self, tag_or_digest: str) -> tuple[dict[str, Any], str]:
        url = f"{self.ref.base_url}/v2/{self.ref.repository}/manifests/{tag_or_digest}"
        response = await self._get(url, {"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status_code == 404:
            raise PullError(
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{self.ref.name}:{tag_or_digest}": {self.ref.name}:{tag_or_digest}: not found'
            )
        _check(response, url)
        digest = (
            response.headers.get("docker-content-digest")
            or "sha256:" + hashlib.sha256(response.content).hexdigest()
        )
        return response.json(), digest

    async def blob(self, digest: str) -> bytes:
        url = f"{self.ref.base_url}/v2/{self.ref.repository}/blobs/{digest}"
        response = await self._get(url, {})
        _check(response, url)
        return response.content

    async def _get(self, url: str, headers: dict[str, str]) -> httpx.Response:
        try:
            response = await self.client.get(url, headers=self._headers(headers))
            if response.status_code == 401 and self.auth is None:
                await self._authenticate(response.headers.get("www-authenticate", ""))
                response = await self.client.get(url, headers=self._headers(headers))
        except httpx.HTTPError as exc:
            raise PullError(f'failed to do request: Head "{url}": {type(exc).__name__}: {exc}') from None
        return response

    def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        return {**headers, "Authorization": self.auth} if self.auth else headers

    async def _authenticate(self, challenge: str) -> None:
        scheme = challenge.split(" ", 1)[0].lower()
        basic = (
            "Basic " + base64.b64encode(f"{self.creds[0]}:{self.creds[1]}".encode()).decode()
            if self.creds
            else None
        )
        if scheme == "basic":
            self.auth = basic
            return
        if scheme != "bearer":
            return
        params = dict(_CHALLENGE.findall(challenge))
        query = {k: params[k] for k in ("service", "scope") if k in params}
        query.setdefault("scope", f"repository:{self.ref.repository}:pull")
        response = await self.client.get(params.get("realm", ""), params=query,
                                         headers={"Authorization": basic} if basic else {})  # fmt: skip
        if response.status_code == 200:
            body = response.json()
            self.auth = f"Bearer {body.get('token') or body.get('access_token')}"


def _check(response: httpx.Response, url: str) -> None:
    if response.status_code in (401, 403):
        raise PullError(
            f"failed to authorize: failed to fetch anonymous token: unexpected status from GET request to {url}: {response.status_code} {response.reason_phrase}"
        )
    if response.status_code >= 400:
        raise PullError(
            f"unexpected status from GET request to {url}: {response.status_code} {response.reason_phrase}"
        )
