"""The job's report to the control plane: `POST {CALLBACK_URL}/webhooks/jenkins` with the job's token.

A 5xx or a connection error is retried (3 times, short backoff); 409 means the control plane has
this report already (a rerun), which counts as delivered. Any other 4xx is a `PermanentError`.

Fault injection (scenarios, the embedded target's Jenkins): `PATHOPS_CALLBACK_FAULT=drop` loses the
report on its way (nothing is sent; the job still ends as it would), `duplicate` sends it twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import httpx

from appliance.ports.errors import PermanentError, TransientError

log = logging.getLogger(__name__)
SYSTEM = "control-plane"
PATH = "/webhooks/jenkins"
RETRIES = 3


async def post_callback(
    *, url: str, token: str, payload: dict[str, Any], backoff: float = 0.5, timeout: float = 10.0
) -> int:
    """Deliver `payload`; the status that settled it (2xx or 409)."""
    fault = os.environ.get("PATHOPS_CALLBACK_FAULT", "")
    if fault == "drop":
        log.warning(
            "callback %s %s lost on its way (fault injection)", payload.get("job"), payload.get("status")
        )
        return 200
    status = await _deliver(url=url, token=token, payload=payload, backoff=backoff, timeout=timeout)
    if fault == "duplicate":
        log.warning("callback %s %s sent twice (fault injection)", payload.get("job"), payload.get("status"))
        status = await _deliver(url=url, token=token, payload=payload, backoff=backoff, timeout=timeout)
    return status


async def _deliver(*, url: str, token: str, payload: dict[str, Any], backoff: float, timeout: float) -> int:
    target = f"{url.rstrip('/')}{PATH}"
    what = f"callback {payload.get('job', '')} {payload.get('status', '')} to {target}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    error: TransientError | None = None
    async with httpx.AsyncClient(timeout=timeout) as client:
        for attempt in range(RETRIES + 1):
            if attempt:
                await asyncio.sleep(backoff * 2 ** (attempt - 1))
            try:
                response = await client.post(target, json=payload, headers=headers)
            except (httpx.TransportError, AttributeError) as exc:  # AttributeError: httpcore, when the
                error = TransientError(
                    f"{what}: {type(exc).__name__}", system=SYSTEM
                )  # server dies mid-request
                continue
            if response.status_code < 300 or response.status_code == 409:
                log.info("%s: %d", what, response.status_code)
                return response.status_code
            message = f"{what}: the control plane answered {response.status_code}: {_detail(response, token)}"
            if response.status_code >= 500 or response.status_code == 429:
                error = TransientError(message, system=SYSTEM)
                continue
            raise PermanentError(message, system=SYSTEM)
    assert error is not None
    raise error


def _detail(response: httpx.Response, token: str) -> str:
    text = response.text.strip().replace("\n", " ")[:200]
    return text.replace(token, "***") if token else text
