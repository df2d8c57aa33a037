"""Registry: projects, artifacts, vulnerability scans and robot accounts (Harbor in every target).

Repositories are named within their project (`api` in project `shop` is `shop/api`); a reference
is a tag or a digest (`sha256:...`). A missing project, repository or artifact is a
`PermanentError`, except where the method says otherwise (`tag_exists`, `vulnerabilities`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec


class Artifact(msgspec.Struct, frozen=True, kw_only=True):
    project: str
    repository: str
    digest: str
    tags: list[str]
    push_time: datetime
    size: int = 0
    media_type: str = ""  # the manifest's media type


class Vulnerability(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    package: str
    version: str
    fix_version: str = ""
    severity: str = "Unknown"  # Unknown, None, Negligible, Low, Medium, High, Critical


class VulnerabilityReport(msgspec.Struct, frozen=True, kw_only=True):
    digest: str
    severity: str  # the highest severity found ("None" when clean)
    scanner: str = ""
    vulnerabilities: list[Vulnerability] = msgspec.field(default_factory=list)


class Permission(msgspec.Struct, frozen=True, kw_only=True):
    resource: str  # repository, artifact, tag, scan, ...
    action: str  # pull, push, list, read, create, delete, ...


class RobotAccount(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str  # the full login name, `robot$<project>+<name>`
    secret: str  # given once, at creation: keep it in a secret store, never in a log

    def __repr__(self) -> str:
        return f"RobotAccount(id={self.id}, name={self.name!r}, secret='***')"


class Registry(Protocol):
    async def ensure_project(self, *, project: str, public: bool = False) -> bool:
        """Create the project unless it exists; True when this call created it."""
        ...

    async def get_artifact(self, *, project: str, repository: str, reference: str) -> Artifact: ...

    async def list_artifacts(self, *, project: str, repository: str) -> list[Artifact]:
        """Every artifact of the repository, the most recently pushed first."""
        ...

    async def tag_exists(self, *, project: str, repository: str, tag: str) -> bool:
        """Whether `tag` names an artifact; False also when the repository or project is missing."""
        ...

    async def scan(self, *, project: str, repository: str, reference: str) -> bool:
        """Ask for a vulnerability scan; the report comes later from `vulnerabilities`. False when the
        registry has no scanner for the project (nothing was asked)."""
        ...

    async def vulnerabilities(
        self, *, project: str, repository: str, reference: str
    ) -> VulnerabilityReport | None:
        """The artifact's last scan report, or None while it has none (never scanned, or running)."""
        ...

    async def create_robot(
        self, *, project: str, name: str, permissions: list[Permission], duration_days: int = -1
    ) -> RobotAccount:
        """A project robot account with these permissions (-1 days: it never expires)."""
        ...
