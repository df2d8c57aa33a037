"""The Ci port on the Jenkins remote access API (../shared/specs/jenkins/remote-access-api.md).

Crumb from `/crumbIssuer/api/json`, `POST /job/<job>/buildWithParameters` answered by 201 and a
queue item in `Location`. Jenkins knows no idempotency keys, so the key travels as the build
parameter `PATHOPS_IDEMPOTENCY_KEY` and the queue and recent builds are searched for it first.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from appliance.ports.ci import JobRun
from appliance.ports.errors import PermanentError, TransientError

log = logging.getLogger(__name__)
KEY_PARAM = "PATHOPS_IDEMPOTENCY_KEY"


def _raise_for(response: httpx.Response, what: str) -> None:
    """The one place Jenkins statuses become port errors."""
    code = response.status_code
    if code < 400:
        return
    if code == 429 or code >= 500:
        retry_after = response.headers.get("Retry-After", "")
        delay = float(retry_after) if retry_after.isdigit() else None
        raise TransientError(f"{what}: Jenkins answered {code}", system="jenkins", delay=delay)
    raise PermanentError(f"{what}: Jenkins answered {code}", system="jenkins")


class JenkinsCi:
    def __init__(self, *, url: str, user: str, api_token: str, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(base_url=url.rstrip("/"), auth=(user, api_token), timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, what: str, params: dict[str, str] | None = None) -> Any:
        try:
            response = await self._client.get(path, params=params)
        except httpx.TransportError as exc:
            raise TransientError(f"{what}: {type(exc).__name__}", system="jenkins") from exc
        _raise_for(response, what)
        return response.json()

    async def _crumb(self) -> dict[str, str]:
        try:
            data = await self._get("/crumbIssuer/api/json", "crumb")
        except PermanentError:
            return {}  # crumbs disabled (404): post without one
        return {str(data["crumbRequestField"]): str(data["crumb"])}

    async def _already(self, job: str, key: str) -> str | None:
        """The queue item or build URL of an earlier trigger with this key, if any."""
        queue = await self._get("/queue/api/json", "queue")
        for item in queue.get("items", []):
            if item.get("task", {}).get("name") == job and f"{KEY_PARAM}={key}" in str(
                item.get("params", "")
            ):
                return str(item.get("url") or item.get("id"))
        tree = "builds[number,url,actions[parameters[name,value]]]{0,50}"
        builds = await self._get(f"/job/{quote(job)}/api/json", f"job {job}", params={"tree": tree})
        for build in builds.get("builds", []):
            for action in build.get("actions") or []:
                for p in (action or {}).get("parameters") or []:
                    if p.get("name") == KEY_PARAM and p.get("value") == key:
                        return str(build.get("url"))
        return None

    async def trigger(self, *, job: str, params: dict[str, str], key: str) -> JobRun:
        earlier = await self._already(job, key)
        if earlier:
            return JobRun(job=job, key=key, queue_url=earlier, duplicate=True)
        headers = await self._crumb()
        try:
            response = await self._client.post(
                f"/job/{quote(job)}/buildWithParameters", data={**params, KEY_PARAM: key}, headers=headers
            )
        except httpx.TransportError as exc:
            raise TransientError(f"trigger {job}: {type(exc).__name__}", system="jenkins") from exc
        _raise_for(response, f"trigger {job}")
        log.info("triggered %s (%s)", job, key)
        return JobRun(job=job, key=key, queue_url=response.headers.get("Location", ""))
