"""AWS request signatures as S3 checks them: V4 (header or presigned query) and the older V2.

`parse` reads the credentials a request carries (None: an anonymous request); `verify` recomputes
the signature with the secret key and raises `S3AuthError` carrying S3's own error code. V2 is still
what boto3 uses for presigned URLs unless told `signature_version="s3v4"`. The V4 payload hash is
taken as the client declared it (`x-amz-content-sha256`, or UNSIGNED-PAYLOAD for presigned URLs);
it is not checked against the body, which is streamed on untouched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_S = 15 * 60
MAX_EXPIRES_S = 7 * 24 * 3600
_AUTH_PART = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]+)")


class S3AuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Credentials:
    access_key: str
    scope_date: str  # YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ
    payload_hash: str
    expires_s: int | None  # presigned URLs only

    @property
    def scope(self) -> str:
        return f"{self.scope_date}/{self.region}/{self.service}/aws4_request"


def split_query(raw: str) -> list[tuple[str, str]]:
    """Query pairs percent-decoded, with '+' kept as '+' (S3 clients encode spaces as %20)."""
    pairs = []
    for part in raw.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


@dataclass(frozen=True)
class CredentialsV2:
    access_key: str
    signature: str  # base64 HMAC-SHA1
    expires: int | None  # presigned URLs only: unix time


def parse(headers: dict[str, list[str]], query: list[tuple[str, str]]) -> Credentials | CredentialsV2 | None:
    params = dict(query)
    if "X-Amz-Credential" in params or "X-Amz-Algorithm" in params:
        return _parse_presigned(params)
    authorization = (headers.get("authorization") or [""])[0]
    if not authorization:
        if "AWSAccessKeyId" in params:
            return _parse_presigned_v2(params)
        return None
    if authorization.startswith("AWS "):
        access_key, colon, signature = authorization[4:].strip().rpartition(":")
        if not colon or not access_key:
            raise S3AuthError(400, "InvalidArgument", "AWS authorization header is invalid.")
        return CredentialsV2(access_key=access_key, signature=signature, expires=None)
    if not authorization.startswith(ALGORITHM + " "):
        raise S3AuthError(400, "InvalidArgument", "Unsupported Authorization Type")
    parts = dict(_AUTH_PART.findall(authorization))
    if set(parts) != {"Credential", "SignedHeaders", "Signature"}:
        raise S3AuthError(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
    amz_date = (headers.get("x-amz-date") or [""])[0]
    if not amz_date:
        raise S3AuthError(
            403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    payload = (headers.get("x-amz-content-sha256") or [""])[0]
    if not payload:
        raise S3AuthError(
            400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    return _credentials(
        parts["Credential"], parts["SignedHeaders"], parts["Signature"], amz_date, payload, None
    )


def _parse_presigned(params: dict[str, str]) -> Credentials:
    needed = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
    if any(name not in params for name in needed) or params["X-Amz-Algorithm"] != ALGORITHM:
        raise S3AuthError(
            400,
            "AuthorizationQueryParametersError",
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        )
    try:
        expires = int(params.get("X-Amz-Expires", "0"))
    except ValueError:
        raise S3AuthError(
            400, "AuthorizationQueryParametersError", "X-Amz-Expires should be a number"
        ) from None
    if not 0 < expires <= MAX_EXPIRES_S:
        raise S3AuthError(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be more than 0 and less than a week (604800 seconds).",
        )
    return _credentials(
        params["X-Amz-Credential"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        params["X-Amz-Date"],
        params.get("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        expires,
    )


def _credentials(
    credential: str, signed: str, signature: str, amz_date: str, payload: str, expires: int | None
) -> Credentials:
    pieces = credential.split("/")
    if len(pieces) != 5 or pieces[4] != "aws4_request":
        raise S3AuthError(400, "AuthorizationHeaderMalformed", f"The credential '{credential}' is malformed.")
    return Credentials(
        access_key=pieces[0],
        scope_date=pieces[1],
        region=pieces[2],
        service=pieces[3],
        signed_headers=tuple(signed.lower().split(";")),
        signature=signature.lower(),
        amz_date=amz_date,
        payload_hash=payload,
        expires_s=expires,
    )


def _parse_presigned_v2(params: dict[str, str]) -> CredentialsV2:
    if "Signature" not in params or "Expires" not in params:
        raise S3AuthError(
            403,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        )
    try:
        expires = int(params["Expires"])
    except ValueError:
        raise S3AuthError(403, "AccessDenied", "Invalid date (should be seconds since epoch)") from None
    return CredentialsV2(access_key=params["AWSAccessKeyId"], signature=params["Signature"], expires=expires)


def verify(creds: Credentials | CredentialsV2, **request: Any) -> None:
    """Raise `S3AuthError` unless the request was signed with `secret` and is still valid at `now`."""
    if isinstance(creds, CredentialsV2):
        _verify_v2(creds, **request)
    else:
        _verify_v4(creds, **request)


def _verify_v4(
    creds: Credentials,
    *,
    secret: str,
    region: str,
    method: str,
    path: str,
    raw_path: str,
    query: list[tuple[str, str]],
    headers: dict[str, list[str]],
    now: datetime,
) -> None:
    if creds.service != "s3":
        raise S3AuthError(
            400, "AuthorizationHeaderMalformed", f"The service '{creds.service}' is wrong; expecting 's3'"
        )
    if creds.region != region:
        raise S3AuthError(
            400,
            "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; the region '{creds.region}' is wrong; expecting '{region}'",
        )
    try:
        signed_at = datetime.strptime(creds.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise S3AuthError(403, "AccessDenied", "X-Amz-Date must be in the ISO8601 Long Format") from None
    if creds.scope_date != creds.amz_date[:8]:
        raise S3AuthError(403, "SignatureDoesNotMatch", "The credential date does not match X-Amz-Date.")
    if creds.expires_s is not None:
        if (now - signed_at).total_seconds() > creds.expires_s:
            raise S3AuthError(403, "AccessDenied", "Request has expired")
    elif abs((now - signed_at).total_seconds()) > MAX_SKEW_S:
        raise S3AuthError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
    if "host" not in creds.signed_headers:
        raise S3AuthError(403, "AccessDenied", "Host must be a signed header")
    pairs = [(k, v) for k, v in query if creds.expires_s is None or k != "X-Amz-Signature"]
    key = _signing_key(secret, creds.scope_date, creds.region, creds.service)
    # S3 canonicalises the decoded path its own way; a client that signs the path exactly as it
    # sent it is accepted too.
    for uri in dict.fromkeys((quote(path, safe="/~"), raw_path)):
        request = _canonical_request(method, uri, pairs, headers, creds)
        to_sign = "\n".join(
            [ALGORITHM, creds.amz_date, creds.scope, hashlib.sha256(request.encode()).hexdigest()]
        )
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, creds.signature):
            return
    raise S3AuthError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )


def _canonical_request(
    method: str,
    uri: str,
    query: list[tuple[str, str]],
    headers: dict[str, list[str]],
    creds: Credentials,
) -> str:
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query)
    canonical_query = "&".join(f"{k}={v}" for k, v in encoded)
    canonical_headers = "".join(
        f"{name}:{','.join(' '.join(v.split()) for v in headers.get(name, []))}\n"
        for name in creds.signed_headers
    )
    return "\n".join(
        [method, uri, canonical_query, canonical_headers, ";".join(creds.signed_headers), creds.payload_hash]
    )


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


# Sub-resources that V2 signs as part of the resource (the list botocore's HmacV1Auth uses).
_V2_SUBRESOURCES = frozenset({
    "accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber", "policy",
    "requestPayment", "torrent", "versioning", "versionId", "versions", "website", "uploads",
    "uploadId", "response-content-type", "response-content-language", "response-expires",
    "response-cache-control", "response-content-disposition", "response-content-encoding", "delete",
    "lifecycle", "tagging", "restore", "storageClass", "notification", "replication", "analytics",
    "metrics", "inventory", "select", "select-type", "object-lock",
})  # fmt: skip


def _verify_v2(
    creds: CredentialsV2,
    *,
    secret: str,
    method: str,
    raw_path: str,
    query: list[tuple[str, str]],
    headers: dict[str, list[str]],
    now: datetime,
    **_: Any,
) -> None:
    if creds.expires is not None and now.timestamp() > creds.expires:
        raise S3AuthError(403, "AccessDenied", "Request has expired")

    def first(name: str) -> str:
        return (headers.get(name) or [""])[0].strip()

    amz = sorted((k, ",".join(v.strip() for v in vs)) for k, vs in headers.items() if k.startswith("x-amz-"))
    sub = sorted((k, v) for k, v in query if k in _V2_SUBRESOURCES)
    resource = raw_path + ("?" + "&".join(f"{k}={v}" if v else k for k, v in sub) if sub else "")
    dates = [str(creds.expires)] if creds.expires is not None else [first("date")]
    if creds.expires is None and "x-amz-date" in headers:
        dates.append("")
    for date in dates:
        lines = [
            method,
            first("content-md5"),
            first("content-type"),
            date,
            *(f"{k}:{v}" for k, v in amz),
            resource,
        ]
        digest = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest).decode(), creds.signature):
            return
    raise S3AuthError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )
