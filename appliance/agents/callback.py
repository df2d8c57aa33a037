"""An agent's one callback to PathOps: `POST <CONTROL_PLANE_CALLBACK_URL>/api/<path>` with the job's
one-time bearer token, retried on connection errors and 5xx (3 retries, short back-off).

    2xx        accepted
    409        duplicate: this job's callback was already accepted (the token works once) -> done too
    other 4xx  PermanentError with the server's reason (a retry cannot help)
    5xx, transport errors after the retries   TransientError

The token comes from the environment or, when absent there, from object storage (bucket
`pathops-evidence`, key CALLBACK_TOKEN_KEY). The token never appears in a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Literal

import httpx
import msgspec

from appliance.agents.settings import EVIDENCE_BUCKET, Common
from appliance.logic.redact import redact_text
from appliance.ports.errors import PermanentError, TransientError
from appliance.ports.objectstore import ObjectStore

log = logging.getLogger(__name__)
Outcome = Literal["accepted", "duplicate"]
RETRIES = 3
BACKOFF_S = 0.25


async def callback_token(common: Common, store: ObjectStore) -> str:
    if common.callback_token:
        return common.callback_token
    data = await store.get(bucket=EVIDENCE_BUCKET, key=common.callback_token_key)
    token = (data or b"").decode(errors="replace").strip()
    if not token:
        raise PermanentError(f"no callback token at s3://{EVIDENCE_BUCKET}/{common.callback_token_key}")
    return token


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
        detail = body.get("detail") if isinstance(body, dict) else None
    except (ValueError, UnicodeDecodeError):
        detail = None
    text = str(detail or response.text or response.reason_phrase)
    return " ".join(text.split())[:200]


def url_for(base: str, path: str) -> str:
    base = base.rstrip("/")
    return base + (path.removeprefix("/api") if base.endswith("/api") else path)


async def post_callback(
    base_url: str,
    path: str,
    payload: msgspec.Struct,
    *,
    token: str,
    retries: int = RETRIES,
    backoff_s: float = BACKOFF_S,
    timeout: float = 10.0,
) -> Outcome:
    url = url_for(base_url, path)
    body = msgspec.json.encode(payload)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    problem = ""
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        for attempt in range(retries + 1):
            if attempt:
                await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
            try:
                response = await client.post(url, content=body, headers=headers)
            except (httpx.TransportError, AttributeError) as exc:  # AttributeError: httpcore, when
                problem = f"callback {path} unreachable: {type(exc).__name__}"  # PathOps dies mid-request
                log.warning("%s (attempt %d)", problem, attempt + 1)
                continue
            if response.status_code < 300:
                log.info("callback %s accepted: %s", path, json.loads(body).get("summary", ""))
                return "accepted"
            if response.status_code == 409:
                log.info("callback %s answered 409: %s", path, _reason(response))
                return "duplicate"
            problem = f"callback {path} answered {response.status_code}: {_reason(response)}"
            if response.status_code < 500:
                raise PermanentError(redact_text(problem, [token]), system="pathops")
            log.warning("%s (attempt %d)", redact_text(problem, [token]), attempt + 1)
    raise TransientError(redact_text(f"{problem} (after {retries + 1} attempts)", [token]), system="pathops")
