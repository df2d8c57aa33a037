"""The domain's nouns (ARCHITECTURE.md, "Domain"): typed, serializable, no behaviour."""

from __future__ import annotations

import enum

import msgspec

ID_PREFIXES = {"inc-": "incident", "cs-": "changeset", "art-": "artifact", "pf-": "preflight"}
"""The kind of an instance, by the prefix of its id."""


class Role(enum.StrEnum):
    OWNER = "owner"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


class EnvName(enum.StrEnum):
    AGENTS = "agents"
    PREFLIGHT = "preflight"
    PRODUCTION = "production"


class AppKind(enum.StrEnum):
    API = "api"
    FRONTEND = "frontend"
    WORKER = "worker"


class IncidentClass(enum.StrEnum):
    BUILD = "build"
    DEPLOY = "deploy"
    RUNTIME = "runtime"
    SECURITY = "security"


class ArtifactState(enum.StrEnum):
    BUILT = "built"
    NOT_PROMOTABLE = "not-promotable"
    VERIFIED = "verified"
    PROMOTED = "promoted"
    REJECTED = "rejected"


class Advisory(msgspec.Struct, frozen=True, kw_only=True):
    """A known vulnerability of a pinned dependency and the version that fixes it (from a registry scan);
    what a security incident carries to its evidence and the Fix Agent's `vulnerable-dependency` rule."""

    id: str  # CVE-2018-1000656
    package: str  # as pinned: flask
    version: str  # the pinned version: 0.12
    fixed: str  # the first version without it: 0.12.3
    severity: str = "Unknown"  # Unknown, None, Negligible, Low, Medium, High, Critical


class AutonomyLevel(enum.IntEnum):
    SUGGEST = 0
    AUTO_APPLY_PREFLIGHT = 1
    AUTO_MERGE_LOW_RISK = 2
    AUTO_REMEDIATE = 3


class App(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: AppKind = AppKind.API
    depends_on: tuple[str, ...] = ()
    contract: str | None = None  # path of the OpenAPI/AsyncAPI contract in the meta repo
    protected_paths: tuple[str, ...] = ()


class Component(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: str = "postgres"


class Environment(msgspec.Struct, frozen=True, kw_only=True):
    name: EnvName
    autonomy: AutonomyLevel = AutonomyLevel.SUGGEST


class ProjectMeta(msgspec.Struct, frozen=True, kw_only=True):
    """The shape of `<project>-meta/project.yaml`, the project's meta description."""

    name: str
    apps: tuple[App, ...] = ()
    components: tuple[Component, ...] = ()
    environments: tuple[Environment, ...] = (
        Environment(name=EnvName.AGENTS),
        Environment(name=EnvName.PREFLIGHT),
        Environment(name=EnvName.PRODUCTION),
    )
    autonomy: AutonomyLevel = AutonomyLevel.SUGGEST
    protected_paths: tuple[str, ...] = ("auth/", "security/", "payment/")


def namespace(app: str, env: EnvName | str) -> str:
    return f"{app}-{env}"
