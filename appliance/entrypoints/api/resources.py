"""Read and act on PathOps' own objects. Thin: parse -> one service call -> struct."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from appliance.contracts.api import (
    AuditRead,
    Decision,
    EventRead,
    EvidenceRead,
    FeatureCreate,
    InstanceRead,
    Status,
    TokenCreate,
    TokenIssued,
    UserCreate,
    UserRead,
)
from appliance.contracts.entities import App, Component, Environment, ProjectMeta, Role
from appliance.services import access, actions, features, projects, queries
from appliance.services.access import Principal
from appliance.services.context import Context
from appliance.services.errors import Invalid

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="at most this many")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]
Filter = Annotated[str | None, QueryParameter(max_length=100)]
PathId = Annotated[str, PathParameter(max_length=200)]


class ProjectController(Controller):
    path = "/api/projects"
    tags = ["projects"]

    @get("/")
    async def list_projects(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal]
    ) -> list[ProjectMeta]:
        return await projects.all_(ctx)

    @post("/")
    async def load_project(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], data: JSONBody[ProjectMeta]
    ) -> ProjectMeta:
        """Load or replace a project from its meta description (the shape of the meta repo's project.yaml)."""
        await access.require_role(ctx, who, [Role.OWNER], action="load project")
        return await projects.load(ctx, data, actor=who.name)

    @post("/import")
    async def import_project(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], request: Request[Any, Any, Any]
    ) -> ProjectMeta:
        """Load or replace a project from the YAML text of its meta repo's `project.yaml` (any content type)."""
        await access.require_role(ctx, who, [Role.OWNER], action="load project")
        body = await request.body()
        if len(body) > 1_000_000:
            raise Invalid("project.yaml larger than 1 MB")
        meta = projects.parse_meta(body.decode(errors="replace"), source="request body")
        return await projects.load(ctx, meta, actor=who.name)

    @get("/{name:str}")
    async def get_project(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], name: PathId
    ) -> ProjectMeta:
        return await projects.get(ctx, name)

    @get("/{name:str}/apps")
    async def list_apps(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], name: PathId
    ) -> list[App]:
        return list((await projects.get(ctx, name)).apps)

    @get("/{name:str}/components")
    async def list_components(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], name: PathId
    ) -> list[Component]:
        return list((await projects.get(ctx, name)).components)

    @get("/{name:str}/environments")
    async def list_environments(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], name: PathId
    ) -> list[Environment]:
        return list((await projects.get(ctx, name)).environments)


def _instance_controller(kind: str, plural: str, acts: tuple[str, ...]) -> type[Controller]:
    """List, get, events and the allowed actions of one kind of machine instance."""

    async def list_(
        self: Controller,
        ctx: NamedDependency[Context],
        who: NamedDependency[Principal],
        project: Filter = None,
        phase: Filter = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[InstanceRead]:
        return await queries.instances(ctx, kind, project=project, phase=phase, limit=limit, offset=offset)

    async def get_(
        self: Controller, ctx: NamedDependency[Context], who: NamedDependency[Principal], id: PathId
    ) -> InstanceRead:
        return await queries.instance(ctx, kind, id)

    async def events_(
        self: Controller, ctx: NamedDependency[Context], who: NamedDependency[Principal], id: PathId
    ) -> list[EventRead]:
        return await queries.events(ctx, kind, id)

    handlers = {
        f"list_{plural}": get("/", operation_id=f"list_{plural}")(list_),
        f"get_{kind}": get("/{id:str}", operation_id=f"get_{kind}")(get_),
        f"{kind}_events": get("/{id:str}/events", operation_id=f"{kind}_events")(events_),
    }
    for action in acts:
        handlers[f"{action}_{kind}"] = post(
            f"/{{id:str}}/{action}", operation_id=f"{action}_{kind}", status_code=200
        )(_act_handler(kind, action))
    return type(
        f"{kind.capitalize()}Controller",
        (Controller,),
        {"path": f"/api/{plural}", "tags": [plural], **handlers},
    )


def _act_handler(kind: str, action: str) -> Any:
    async def act_(
        self: Controller,
        ctx: NamedDependency[Context],
        who: NamedDependency[Principal],
        id: PathId,
        data: JSONBody[Decision | None] = None,
    ) -> InstanceRead:
        await actions.act(ctx, who, kind=kind, id=id, action=action, comment=data.comment if data else "")
        return await queries.instance(ctx, kind, id)

    act_.__doc__ = f"{action.capitalize()} a {kind}: roles {', '.join(actions.RULES[(kind, action)][1])}."
    return act_


IncidentController = _instance_controller("incident", "incidents", ("retry", "close"))
ChangeSetController = _instance_controller("changeset", "changesets", ("approve", "reject", "close"))
ArtifactController = _instance_controller("artifact", "artifacts", ("promote", "reject"))
PreflightController = _instance_controller("preflight", "preflights", ())


class FeatureController(Controller):
    path = "/api/features"
    tags = ["changesets"]

    @post("/", operation_id="request_feature", status_code=201)
    async def request_feature(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], data: JSONBody[FeatureCreate]
    ) -> InstanceRead:
        """Request a feature: a change set across the named apps (all, if none), in deploy order; CI
        opens one MR per app. Roles: owner, reviewer."""
        id = await features.request(ctx, who, data)
        return await queries.instance(ctx, "changeset", id)


class EvidenceController(Controller):
    path = "/api/evidence"
    tags = ["evidence"]

    @get("/")
    async def list_evidence(
        self,
        ctx: NamedDependency[Context],
        who: NamedDependency[Principal],
        incident: Filter = None,
        limit: Limit = 100,
    ) -> list[EvidenceRead]:
        return await queries.evidence_list(ctx, incident=incident, limit=limit)

    @get("/{id:str}")
    async def get_evidence(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], id: PathId
    ) -> EvidenceRead:
        return await queries.evidence(ctx, id)


class AdminController(Controller):
    path = "/api"
    tags = ["admin"]

    @get("/status")
    async def get_status(self, ctx: NamedDependency[Context], who: NamedDependency[Principal]) -> Status:
        return await queries.status(ctx)

    @get("/audit")
    async def list_audit(
        self,
        ctx: NamedDependency[Context],
        who: NamedDependency[Principal],
        object: Filter = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[AuditRead]:
        return await queries.audit(ctx, limit=limit, offset=offset, object=object)

    @get("/users")
    async def list_users(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal]
    ) -> list[UserRead]:
        return await queries.users(ctx)

    @post("/users")
    async def create_user(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], data: JSONBody[UserCreate]
    ) -> UserRead:
        await access.create_user(ctx, who, name=data.name, role=data.role)
        return next(u for u in await queries.users(ctx) if u.name == data.name)

    @get("/me")
    async def me(self, ctx: NamedDependency[Context], who: NamedDependency[Principal]) -> UserRead:
        return next(u for u in await queries.users(ctx) if u.name == who.name)

    @post("/tokens")
    async def issue_token(
        self, ctx: NamedDependency[Context], who: NamedDependency[Principal], data: JSONBody[TokenCreate]
    ) -> TokenIssued:
        """Issue an API token: for yourself, or (owners) for anyone. Shown once; only its hash is kept."""
        return TokenIssued(
            user=data.user, token=await access.issue_token(ctx, who, user=data.user, label=data.label)
        )

    @get("/health")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}
