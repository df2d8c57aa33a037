"""Build an image from files and push it to an OCI distribution registry (HTTP API v2), no daemon.

An image here is what the CI needs: one or more gzipped tar layers of files, an OCI image config
(Cmd, WorkingDir, Env, Labels, the layers' diff ids) and an OCI image manifest, pushed under a tag.

- `build_layer(root, prefix=...)` (layers.py) is deterministic: the same files give the same bytes.
- `push_image(...)` uploads each blob unless a HEAD finds it, then the config, then the manifest
  under the tag (skipped when the tag already names the same digest). The image's digest depends
  on its content only, so a push repeated with the same content changes nothing.

Authentication follows the registry's challenge on `GET /v2/`: none, Basic, or the Bearer token
flow (`WWW-Authenticate: Bearer realm=...,service=...`, a token for `repository:<repo>:pull,push`
fetched with the Basic credentials), as Harbor asks.

Errors, mapped in `_raise_for`:

    401, 403, a missing repository/project, any other 4xx      PermanentError
    429, 5xx, connection refused, timeouts                     TransientError

The password and tokens never appear in a message.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from appliance.adapters.oci.layers import OCI_MANIFEST, SYSTEM, build_layer, digest_of, image_documents
from appliance.ports.errors import PermanentError, TransientError

__all__ = ["PushedImage", "build_layer", "digest_of", "image_documents", "push_image"]

_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class PushedImage:
    reference: str  # host:port/repository:tag
    digest: str  # sha256:... of the manifest


# -- pushing


async def push_image(
    *,
    registry_url: str,
    repository: str,
    tag: str,
    layers: list[bytes],
    cmd: list[str],
    workdir: str = "/",
    env: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 30.0,
) -> PushedImage:
    """Push an image of `layers` as `<repository>:<tag>`; a push of the same content changes nothing."""
    config, manifest = image_documents(
        layers=layers, cmd=cmd, workdir=workdir, env=env or {}, labels=labels or {}
    )
    digest = digest_of(manifest)
    host = urlsplit(registry_url).netloc
    async with httpx.AsyncClient(base_url=registry_url.rstrip("/"), timeout=timeout) as client:
        session = _Session(client, repository, username, password)
        await session.login()
        for blob in (*layers, config):
            await session.upload(blob)
        if await session.tagged_digest(tag) != digest:
            await session.put_manifest(tag, manifest)
    return PushedImage(reference=f"{host}/{repository}:{tag}", digest=digest)


class _Session:
    def __init__(
        self, client: httpx.AsyncClient, repository: str, username: str | None, password: str | None
    ) -> None:
        self.client, self.repository = client, repository
        self.credentials = (username, password) if username is not None else None
        self.secrets = tuple(s for s in (password,) if s)
        self.auth: str | None = None

    async def login(self) -> None:
        """Answer the registry's challenge on `GET /v2/` once: no auth, Basic, or a Bearer token."""
        response = await self._send("GET", "/v2/", "ping the registry", authed=False)
        if response.status_code == 401:
            await self._authenticate(response.headers.get("www-authenticate", ""))
            response = await self._send("GET", "/v2/", "log in to the registry")
        _raise_for(response, "log in to the registry", self.secrets)

    async def upload(self, blob: bytes) -> None:
        digest = digest_of(blob)
        what = f"upload blob {digest[:19]} to {self.repository}"
        head = await self._request("HEAD", f"/v2/{self.repository}/blobs/{digest}", what)
        if head.status_code == 200:
            return
        if head.status_code != 404:
            _raise_for(head, what, self.secrets)
        started = await self._request("POST", f"/v2/{self.repository}/blobs/uploads/", what)
        _raise_for(started, what, self.secrets)
        location = started.headers.get("location", "")
        if not location:
            raise PermanentError(f"{what}: the registry gave no upload location", system=SYSTEM)
        target = self.client.base_url.join(location).copy_merge_params({"digest": digest})
        done = await self._request(
            "PUT", target, what, content=blob, headers={"Content-Type": "application/octet-stream"}
        )
        _raise_for(done, what, self.secrets)

    async def tagged_digest(self, tag: str) -> str | None:
        what = f"look up {self.repository}:{tag}"
        response = await self._request(
            "HEAD", f"/v2/{self.repository}/manifests/{tag}", what, headers={"Accept": OCI_MANIFEST}
        )
        if response.status_code == 404:
            return None
        _raise_for(response, what, self.secrets)
        found = response.headers.get("docker-content-digest")
        return str(found) if found else None

    async def put_manifest(self, tag: str, manifest: bytes) -> None:
        what = f"push manifest {self.repository}:{tag}"
        response = await self._request(
            "PUT",
            f"/v2/{self.repository}/manifests/{tag}",
            what,
            content=manifest,
            headers={"Content-Type": OCI_MANIFEST},
        )
        _raise_for(response, what, self.secrets)

    async def _request(self, method: str, url: str | httpx.URL, what: str, **kwargs: Any) -> httpx.Response:
        """A request with the session's auth; one new token when a Bearer challenge asks for another scope."""
        response = await self._send(method, url, what, **kwargs)
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code == 401 and challenge.lower().startswith("bearer ") and self.credentials:
            await self._authenticate(challenge)
            response = await self._send(method, url, what, **kwargs)
        return response

    async def _send(
        self, method: str, url: str | httpx.URL, what: str, *, authed: bool = True, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if authed and self.auth:
            headers["Authorization"] = self.auth
        try:
            return await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise TransientError(
                _scrub(f"{what}: {type(exc).__name__}: {exc}", self.secrets), system=SYSTEM
            ) from None

    async def _authenticate(self, challenge: str) -> None:
        scheme = challenge.split(" ", 1)[0].lower()
        if self.credentials is None:
            raise PermanentError(
                f"the registry asks for credentials to reach {self.repository} and none were given",
                system=SYSTEM,
            )
        user, password = self.credentials
        basic = httpx.BasicAuth(user, password or "")
        if scheme == "basic":
            pair = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.auth = f"Basic {pair}"
            return
        if scheme != "bearer":
            raise PermanentError(f"the registry asks for an unknown auth scheme {scheme!r}", system=SYSTEM)
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.get("realm", "")
        if not realm:
            raise PermanentError("the registry's Bearer challenge names no realm", system=SYSTEM)
        scope = f"repository:{self.repository}:pull,push"
        query = {"scope": scope, **({"service": params["service"]} if "service" in params else {})}
        what = f"get a registry token for {self.repository}"
        try:
            response = await self.client.get(realm, params=query, auth=basic)
        except httpx.TransportError as exc:
            raise TransientError(f"{what}: {type(exc).__name__}: {exc}", system=SYSTEM) from None
        _raise_for(response, what, self.secrets)
        token: object = None
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            pass
        if not isinstance(token, str) or not token:
            raise PermanentError(f"{what}: the token service answered no token", system=SYSTEM)
        self.auth = f"Bearer {token}"


def _raise_for(response: httpx.Response, what: str, secrets: tuple[str, ...]) -> None:
    """The one place registry statuses become port errors."""
    status = response.status_code
    if status < 400:
        return
    detail = _error_detail(response)
    message = _scrub(f"{what}: the registry answered {status}{detail}", secrets)
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After", "")
        raise TransientError(
            message, system=SYSTEM, delay=float(retry_after) if retry_after.isdigit() else None
        )
    raise PermanentError(message, system=SYSTEM)


def _error_detail(response: httpx.Response) -> str:
    """`{"errors": [{"code", "message"}]}` of the distribution spec (and Harbor) as ` CODE: message`."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
    except (ValueError, AttributeError):
        return ""
    code, message = str(first.get("code") or ""), str(first.get("message") or "")
    return (f" {code}" if code else "") + (f": {message[:200]}" if message else "")


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
