"""The S3 fake's ASGI app: check SigV4 and bucket grants, log, then stream to moto's S3 and back."""

from __future__ import annotations

import asyncio
import fnmatch
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import httpx

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import Receive, Scope, Send, lifespan
from fakes.s3 import signing
from fakes.s3.backend import MotoProcess, load_snapshot, save_snapshot

HOP_BY_HOP = {
    b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade", b"trailer", b"expect",
    b"proxy-authorization", b"proxy-connection",
}  # fmt: skip
HEALTH = ("/minio/health/live", "/minio/health/ready")


@dataclass(frozen=True)
class Key:
    identity: str
    secret: str
    buckets: tuple[str, ...] | None  # glob patterns this identity may touch; None: every bucket


class S3App:
    def __init__(self, keys: dict[str, Key], *, region: str, log: AccessLog, data_dir: Path | None) -> None:
        self.keys, self.region, self.log = keys, region, log
        self.snapshot_dir = data_dir / "s3-snapshot" if data_dir is not None else None
        self.moto = MotoProcess()
        self._client: httpx.AsyncClient | None = None
        self._starting = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await lifespan(receive, send, start=self.start, stop=self.stop)

    async def start(self) -> httpx.AsyncClient:
        async with self._starting:
            if self._client is None:
                url = await asyncio.to_thread(self.moto.start)
                if self.snapshot_dir is not None:
                    await asyncio.to_thread(load_snapshot, url, self.snapshot_dir)
                self._client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))
            return self._client

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
            if self.snapshot_dir is not None:
                await asyncio.to_thread(save_snapshot, self.moto.url, self.snapshot_dir)
        await asyncio.to_thread(self.moto.stop)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        if path in HEALTH:
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        bucket, _, key = path.lstrip("/").partition("/")
        obj = f"{bucket}/{key}" if key else bucket
        headers: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        raw_path = scope.get("raw_path") or quote(path).encode()
        query = signing.split_query(scope.get("query_string", b"").decode("latin-1"))
        identity = "anonymous"
        try:
            creds = signing.parse(headers, query)
            if creds is None:
                raise signing.S3AuthError(403, "AccessDenied", "Access Denied.")
            known = self.keys.get(creds.access_key)
            if known is None:
                raise signing.S3AuthError(
                    403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records."
                )
            signing.verify(
                creds,
                secret=known.secret,
                region=self.region,
                method=method,
                path=path,
                raw_path=raw_path.decode("latin-1"),
                query=query,
                headers=headers,
                now=datetime.now(UTC),
            )
            identity = known.identity
            if (
                bucket
                and known.buckets is not None
                and not any(fnmatch.fnmatchcase(bucket, pattern) for pattern in known.buckets)
            ):
                raise signing.S3AuthError(403, "AccessDenied", "Access Denied.")
        except signing.S3AuthError as exc:
            await _send_error(send, exc, method=method, path=path, bucket=bucket, key=key)
            self.log.record(identity=identity, method=method, path=path, object=obj, outcome=exc.status)
            return
        status = await self._forward(scope, receive, send, raw_path)
        self.log.record(identity=identity, method=method, path=path, object=obj, outcome=status)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, raw_path: bytes) -> int:
        client = await self.start()
        headers = [
            (name, value)
            for name, value in scope["headers"]
            if name.lower() not in HOP_BY_HOP and not name.lower().startswith(b"x-moto-")
        ]
        has_body = any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"]
        )
        target = raw_path + (b"?" + scope["query_string"] if scope.get("query_string") else b"")
        request = client.build_request(
            scope["method"],
            httpx.URL(self.moto.url).copy_with(raw_path=target),
            headers=headers,
            content=_body(receive) if has_body else None,
        )
        response = await client.send(request, stream=True)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (name, value)
                        for name, value in response.headers.raw
                        if name.lower() not in HOP_BY_HOP and name.lower() != b"server"
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()
        return response.status_code


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        more = message.get("more_body", False)


async def _send_error(
    send: Send, exc: signing.S3AuthError, *, method: str, path: str, bucket: str, key: str
) -> None:
    request_id = uuid.uuid4().hex[:16].upper()
    parts: list[Any] = [
        ("Code", exc.code),
        ("Message", exc.message),
        *([("BucketName", bucket)] if bucket else []),
        *([("Key", key)] if key else []),
        ("Resource", path),
        ("RequestId", request_id),
        ("HostId", request_id),
    ]
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(
        f"<{tag}>{escape(value)}</{tag}>" for tag, value in parts
    )
    body = (xml + "</Error>").encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/xml"),
                (b"content-length", str(len(body)).encode()),
                (b"x-amz-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
