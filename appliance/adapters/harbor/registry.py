"""The Registry port on Harbor's REST API v2.0 (`/api/v2.0`), with basic auth (a user or a robot).

Repository names are encoded twice in paths (`team/api` -> `team%252Fapi`), as Harbor asks.
Lists are read page by page (`page`, `page_size`). A scan is asked for with `POST .../scan`
(202; 412 PRECONDITION when the project has no scanner: `scan` returns False); its report is read
from `.../additions/vulnerabilities` once the artifact's scan overview says `Success`.

Failures become port errors in one place, `_raise_for`, with Harbor's own error code and message
from its `{"errors": [{"code": ..., "message": ...}]}` bodies:

    429, 5xx, transport errors (refused, timeout)     TransientError(delay from Retry-After)
    401, 403, 404, 409, 412 and any other 4xx          PermanentError
    a body that is not Harbor's shape                  PermanentError

The password and robot secrets never appear in a message or a log record.
"""

from __future__ import annotations

import builtins
import logging
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from appliance.ports.errors import PermanentError, TransientError
from appliance.ports.registry import Artifact, Permission, RobotAccount, Vulnerability, VulnerabilityReport

log = logging.getLogger(__name__)
T = TypeVar("T")
SYSTEM = "harbor"
API = "/api/v2.0"
REPORT_MIMES = (
    "application/vnd.security.vulnerability.report; version=1.1",
    "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0",
)
UNFINISHED = frozenset({"Pending", "Running", "Scheduled", "NotScanned", ""})


# -- Harbor's shapes, only the fields read (unknown fields are ignored)


class _ErrorItem(msgspec.Struct):
    code: str = ""
    message: str = ""


class _Errors(msgspec.Struct):
    errors: list[_ErrorItem] = msgspec.field(default_factory=list)
    message: str = ""  # not Harbor's, but what proxies and the fakes' fault injection send


class _Tag(msgspec.Struct):
    name: str


class _Overview(msgspec.Struct):
    scan_status: str = ""


class _Artifact(msgspec.Struct):
    digest: str
    push_time: datetime
    size: int = 0
    manifest_media_type: str = ""
    tags: list[_Tag] | None = None
    scan_overview: dict[str, _Overview] | None = None


class _Scanner(msgspec.Struct):
    name: str = ""


class _Report(msgspec.Struct):
    severity: str = "Unknown"
    scanner: _Scanner | None = None
    vulnerabilities: list[Vulnerability] | None = None


class _Robot(msgspec.Struct):
    id: int
    name: str
    secret: str


def _raise_for(response: httpx.Response, what: str, scrub: tuple[str, ...]) -> None:
    """The one place Harbor statuses become port errors."""
    status = response.status_code
    if status < 400:
        return
    try:
        body = msgspec.json.decode(response.content, type=_Errors)
        first = body.errors[0] if body.errors else _ErrorItem(message=body.message)
    except msgspec.DecodeError:
        first = _ErrorItem()
    detail = f" {first.code}" if first.code else ""
    detail += f": {first.message[:300]}" if first.message else ""
    message = _scrub(f"{what}: Harbor answered {status}{detail}", scrub)
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After", "")
        delay = float(retry_after) if retry_after.isdigit() else None
        raise TransientError(message, system=SYSTEM, delay=delay)
    raise PermanentError(message, system=SYSTEM)


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _repo_path(project: str, repository: str) -> str:
    return (
        f"{API}/projects/{quote(project, safe='')}/repositories/{quote(quote(repository, safe=''), safe='')}"
    )


def _artifact_path(project: str, repository: str, reference: str) -> str:
    return f"{_repo_path(project, repository)}/artifacts/{quote(reference, safe=':')}"


class HarborRegistry:
    def __init__(
        self, *, url: str, user: str, password: str, timeout: float = 10.0, page_size: int = 100
    ) -> None:
        self._client = httpx.AsyncClient(base_url=url.rstrip("/"), auth=(user, password), timeout=timeout)
        self._secrets: tuple[str, ...] = (password,)
        self._page_size = page_size

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(
        self, method: str, path: str, what: str, *, allow: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """Send one request; statuses in `allow` come back to the caller instead of raising."""
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise TransientError(f"{what}: {type(exc).__name__}", system=SYSTEM) from exc
        if response.status_code not in allow:
            _raise_for(response, what, self._secrets)
        return response

    def _decode(self, response: httpx.Response, kind: type[T], what: str) -> T:
        try:
            return msgspec.json.decode(response.content, type=kind)
        except msgspec.DecodeError as exc:
            raise PermanentError(
                f"{what}: Harbor answered an unexpected body ({exc})", system=SYSTEM
            ) from exc

    # -- projects

    async def ensure_project(self, *, project: str, public: bool = False) -> bool:
        what = f"ensure project {project}"
        head = await self._request(
            "HEAD", f"{API}/projects", what, allow=(404,), params={"project_name": project}
        )
        if head.status_code != 404:
            return False
        body = {"project_name": project, "metadata": {"public": str(public).lower()}}
        created = await self._request("POST", f"{API}/projects", what, allow=(409,), json=body)
        if created.status_code == 409:  # created meanwhile by another caller
            return False
        log.info("created project %s", project)
        return True

    # -- artifacts

    def _artifact(self, project: str, repository: str, raw: _Artifact) -> Artifact:
        return Artifact(
            project=project,
            repository=repository,
            digest=raw.digest,
            tags=[t.name for t in raw.tags or []],
            push_time=raw.push_time,
            size=raw.size,
            media_type=raw.manifest_media_type,
        )

    async def _get_raw(self, project: str, repository: str, reference: str, what: str) -> _Artifact:
        response = await self._request(
            "GET",
            _artifact_path(project, repository, reference),
            what,
            params={"with_tag": "true", "with_scan_overview": "true"},
            headers={"X-Accept-Vulnerabilities": ", ".join(REPORT_MIMES)},
        )
        return self._decode(response, _Artifact, what)

    async def get_artifact(self, *, project: str, repository: str, reference: str) -> Artifact:
        what = f"get artifact {project}/{repository}:{reference}"
        return self._artifact(project, repository, await self._get_raw(project, repository, reference, what))

    async def list_artifacts(self, *, project: str, repository: str) -> builtins.list[Artifact]:
        what = f"list artifacts of {project}/{repository}"
        found: builtins.list[Artifact] = []
        page = 1
        while True:
            response = await self._request(
                "GET",
                f"{_repo_path(project, repository)}/artifacts",
                what,
                params={"page": page, "page_size": self._page_size, "with_tag": "true"},
            )
            batch = self._decode(response, builtins.list[_Artifact], what)
            found += [self._artifact(project, repository, raw) for raw in batch]
            total = response.headers.get("X-Total-Count", "")
            if len(batch) < self._page_size or (total.isdigit() and len(found) >= int(total)):
                return sorted(found, key=lambda a: a.push_time, reverse=True)
            page += 1

    async def tag_exists(self, *, project: str, repository: str, tag: str) -> bool:
        what = f"tag {project}/{repository}:{tag}"
        response = await self._request(
            "GET", _artifact_path(project, repository, tag), what, allow=(404,), params={"with_tag": "true"}
        )
        if response.status_code == 404:
            return False
        return tag in [t.name for t in self._decode(response, _Artifact, what).tags or []]

    # -- scans

    async def scan(self, *, project: str, repository: str, reference: str) -> bool:
        what = f"scan {project}/{repository}:{reference}"
        response = await self._request(
            "POST",
            f"{_artifact_path(project, repository, reference)}/scan",
            what,
            allow=(412,),
            json={"scan_type": "vulnerability"},
        )
        if response.status_code == 412:  # PRECONDITION: no scanner registered (or it is disabled)
            try:
                body = msgspec.json.decode(response.content, type=_Errors)
                message = body.errors[0].message if body.errors else body.message
            except msgspec.DecodeError:
                message = ""
            log.info("no scan of %s/%s:%s: %s", project, repository, reference, message or "no scanner")
            return False
        log.info("asked for a scan of %s/%s:%s", project, repository, reference)
        return True

    async def vulnerabilities(
        self, *, project: str, repository: str, reference: str
    ) -> VulnerabilityReport | None:
        what = f"vulnerabilities of {project}/{repository}:{reference}"
        artifact = await self._get_raw(project, repository, reference, what)
        statuses = [o.scan_status for o in (artifact.scan_overview or {}).values()]
        if not statuses or all(s in UNFINISHED for s in statuses):
            return None
        if "Success" not in statuses:
            raise PermanentError(f"{what}: the scan ended {', '.join(statuses)}", system=SYSTEM)
        response = await self._request(
            "GET",
            f"{_artifact_path(project, repository, artifact.digest)}/additions/vulnerabilities",
            what,
            headers={"X-Accept-Vulnerabilities": ", ".join(REPORT_MIMES)},
        )
        reports = self._decode(response, dict[str, _Report], what)
        report = next((reports[m] for m in REPORT_MIMES if m in reports), None)
        if report is None:
            return None
        return VulnerabilityReport(
            digest=artifact.digest,
            severity=report.severity,
            scanner=report.scanner.name if report.scanner else "",
            vulnerabilities=report.vulnerabilities or [],
        )

    # -- robot accounts

    async def create_robot(
        self, *, project: str, name: str, permissions: builtins.list[Permission], duration_days: int = -1
    ) -> RobotAccount:
        what = f"create robot {name} in {project}"
        body = {
            "name": name,
            "level": "project",
            "duration": duration_days,
            "description": "created by PathOps",
            "permissions": [
                {
                    "kind": "project",
                    "namespace": project,
                    "access": [{"resource": p.resource, "action": p.action} for p in permissions],
                }
            ],
        }
        response = await self._request("POST", f"{API}/robots", what, json=body)
        robot = self._decode(response, _Robot, what)
        log.info("created robot %s", robot.name)
        return RobotAccount(id=robot.id, name=robot.name, secret=robot.secret)
