"""The ObjectStore port on S3 / MinIO through the official `minio` SDK.

The SDK is synchronous, so every call runs in `asyncio.to_thread`. Its HTTP client is ours: an
urllib3 `PoolManager` with connect and read timeouts and a few retries of idempotent requests on
connection errors and 500/502/503/504 (after which the server's own last answer is mapped).

Failures become port errors in one place, `_port_error`:

    NoSuchKey                                     get/stat -> None (absence is an answer)
    NoSuchBucket, AccessDenied, InvalidAccessKeyId,
    SignatureDoesNotMatch, any other 4xx           PermanentError
    5xx, 429, SlowDown, connection errors,
    timeouts (urllib3 MaxRetryError, ...)          TransientError(delay from Retry-After)

The secret key never appears in a message or a log record: messages are built from the S3 error
code, the HTTP status and the bucket/key, and scrubbed of the secret all the same.
"""

from __future__ import annotations

import asyncio
import builtins
import io
import logging
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.error import InvalidResponseError, S3Error, ServerError
from urllib3.util.retry import Retry

from appliance.ports.errors import PermanentError, PortError, TransientError
from appliance.ports.objectstore import ObjectInfo

log = logging.getLogger(__name__)
T = TypeVar("T")
SYSTEM = "s3"
META_PREFIX = "x-amz-meta-"
TRANSIENT_CODES = frozenset({"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"})
MAX_PRESIGN = timedelta(days=7)  # S3's limit for V4 presigned URLs


class S3ObjectStore:
    def __init__(
        self,
        *,
        url: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        timeout: float = 10.0,
        retries: int = 2,
    ) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        self._secret = secret_key
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            retries=Retry(
                total=retries,
                backoff_factor=0.2,
                status_forcelist=(500, 502, 503, 504),
                raise_on_status=False,  # after the last retry, map the server's own answer
            ),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        )
        self._client = Minio(
            parts.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=parts.scheme == "https",
            region=region,
            http_client=self._http,
        )

    async def aclose(self) -> None:
        self._http.clear()

    # -- the one place failures become port errors

    def _port_error(self, exc: Exception, what: str) -> PortError:
        status, code, delay = 0, "", None
        if isinstance(exc, S3Error):
            status, code = exc.response.status, exc.code or ""
            retry_after = exc.response.headers.get("Retry-After", "")
            delay = float(retry_after) if retry_after.isdigit() else None
        elif isinstance(exc, ServerError):
            status = exc.status_code
        elif isinstance(exc, InvalidResponseError):
            status = exc._code  # the SDK keeps a non-XML answer's status only here
        else:  # urllib3: connection refused, timeouts, retries exhausted
            reason = getattr(exc, "reason", None)
            detail = type(reason).__name__ if reason is not None else type(exc).__name__
            return TransientError(self._scrub(f"{what}: {detail}"), system=SYSTEM)
        message = self._scrub(f"{what}: S3 answered {status}" + (f" {code}" if code else ""))
        if status >= 500 or status == 429 or code in TRANSIENT_CODES:
            return TransientError(message, system=SYSTEM, delay=delay)
        return PermanentError(message, system=SYSTEM)

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        def guarded() -> T:
            try:
                return fn()
            except (S3Error, ServerError, InvalidResponseError, urllib3.exceptions.HTTPError) as exc:
                raise self._port_error(exc, what) from exc

        return await asyncio.to_thread(guarded)

    async def _call_or_none(self, what: str, fn: Callable[[], T]) -> T | None:
        """As `_call`, with None for a NoSuchKey answer."""

        def or_none() -> T | None:
            try:
                return fn()
            except S3Error as exc:
                if exc.code == "NoSuchKey":
                    return None
                raise

        return await self._call(what, or_none)

    # -- the port

    async def ensure_bucket(self, *, bucket: str) -> bool:
        def ensure() -> bool:
            if self._client.bucket_exists(bucket):
                return False
            try:
                self._client.make_bucket(bucket)
            except S3Error as exc:
                if exc.code == "BucketAlreadyOwnedByYou":  # created meanwhile by another caller
                    return False
                raise
            return True

        created = await self._call(f"ensure bucket {bucket}", ensure)
        if created:
            log.info("created bucket %s", bucket)
        return created

    async def put(
        self,
        *,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        meta = {k.lower(): v for k, v in (metadata or {}).items()}
        written = await self._call(
            f"put {bucket}/{key}",
            lambda: self._client.put_object(
                bucket, key, io.BytesIO(data), len(data), content_type=content_type, metadata=dict(meta)
            ),
        )
        log.debug("put %s/%s (%d bytes)", bucket, key, len(data))
        return ObjectInfo(
            key=key, size=len(data), etag=written.etag or "", content_type=content_type, metadata=meta
        )

    async def get(self, *, bucket: str, key: str) -> bytes | None:
        def read() -> bytes:
            response = self._client.get_object(bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await self._call_or_none(f"get {bucket}/{key}", read)

    async def stat(self, *, bucket: str, key: str) -> ObjectInfo | None:
        found = await self._call_or_none(
            f"stat {bucket}/{key}", lambda: self._client.stat_object(bucket, key)
        )
        if found is not None:
            return _info(found, key)
        # a HEAD answer has no body, so a 404 reads as NoSuchKey even when the bucket is missing
        if not await self._call(f"stat {bucket}", lambda: self._client.bucket_exists(bucket)):
            raise PermanentError(f"stat {bucket}/{key}: S3 answered 404 NoSuchBucket", system=SYSTEM)
        return None

    async def list(
        self, *, bucket: str, prefix: str = "", recursive: bool = True
    ) -> builtins.list[ObjectInfo]:
        def listing() -> builtins.list[Object]:
            return builtins.list(
                self._client.list_objects(bucket, prefix=prefix or None, recursive=recursive)
            )

        found = await self._call(f"list {bucket}/{prefix}", listing)
        return sorted((_info(o, o.object_name or "") for o in found), key=lambda i: i.key)

    async def delete(self, *, bucket: str, key: str) -> None:
        await self._call(f"delete {bucket}/{key}", lambda: self._client.remove_object(bucket, key))
        log.debug("deleted %s/%s", bucket, key)

    async def presigned_get(self, *, bucket: str, key: str, expires: timedelta) -> str:
        if not timedelta(seconds=1) <= expires <= MAX_PRESIGN:
            raise ValueError(f"expires must be between 1 second and 7 days, not {expires}")
        return await self._call(
            f"presign {bucket}/{key}",
            lambda: self._client.presigned_get_object(bucket, key, expires=expires),
        )


def _info(found: Object, key: str) -> ObjectInfo:
    headers: Any = found.metadata or {}
    metadata = {
        str(name).lower().removeprefix(META_PREFIX): str(value)
        for name, value in headers.items()
        if str(name).lower().startswith(META_PREFIX)
    }
    return ObjectInfo(
        key=key,
        size=found.size or 0,
        etag=found.etag or "",
        content_type=found.content_type or "",
        metadata=metadata,
        last_modified=found.last_modified,
        is_prefix=found.is_dir,
    )
