"""Secrets as PathOps keeps them: only hashes at rest, compared in constant time.

Per-job callback tokens are derived from the outbox key with HMAC, so a redelivered CI trigger
passes the very same token and nothing secret has to sit in the outbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def digest(secret: str) -> str:
    """The at-rest form of a high-entropy token (API token, callback token)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(given: str | None, expected: str) -> bool:
    return given is not None and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


class CallbackMinter:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def mint(self, outbox_key: str) -> str:
        mac = hmac.new(self._key, outbox_key.encode(), hashlib.sha256).digest()
        return "cb-" + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
