"""Object storage: evidence bundles and patch bundles (S3 / MinIO in every target).

Keys are content-addressed by the callers (`evidence/<sha256>.tar.gz`, `patches/<sha256>.patch`),
so a repeated `put` of the same key writes the same bytes and is harmless.

Absence is an answer, not an error: `get` and `stat` return None when the key is not there. A
missing bucket, refused credentials or a refused permission raise `PermanentError`; an unreachable
or failing server raises `TransientError`.
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Protocol

import msgspec


class ObjectInfo(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    size: int
    etag: str = ""
    content_type: str = ""
    metadata: dict[str, str] = msgspec.field(default_factory=dict)  # user metadata, lower-case keys
    last_modified: datetime | None = None
    is_prefix: bool = False  # a "directory" of a non-recursive listing (key ends with "/", size 0)


class ObjectStore(Protocol):
    async def ensure_bucket(self, *, bucket: str) -> bool:
        """Create `bucket` unless it exists; True when this call created it."""
        ...

    async def put(
        self,
        *,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store `data` under `key` (replacing what was there); its etag and size."""
        ...

    async def get(self, *, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        ...

    async def stat(self, *, bucket: str, key: str) -> ObjectInfo | None:
        """Size, etag, content type, user metadata and time of the object, or None when absent."""
        ...

    async def list(
        self, *, bucket: str, prefix: str = "", recursive: bool = True
    ) -> builtins.list[ObjectInfo]:
        """Objects under `prefix`, in key order; non-recursive listings add the "directories"."""
        ...

    async def delete(self, *, bucket: str, key: str) -> None:
        """Remove the object; removing an absent key is not an error (as in S3)."""
        ...

    async def presigned_get(self, *, bucket: str, key: str, expires: timedelta) -> str:
        """A URL anyone holding it may GET the object with until `expires` has passed."""
        ...
