"""Webhooks and callbacks, exactly at the paths of ARCHITECTURE.md, each with its own credential."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody

from appliance.contracts.webhooks import (
    Accepted,
    AlertmanagerWebhook,
    ArgoCdNotification,
    EvidenceCallback,
    FixCallback,
    FixPatchInline,
    JenkinsCallback,
    VerificationCallback,
)
from appliance.services import access, alerts, callbacks
from appliance.services.context import Context

Auth = Annotated[str | None, HeaderParameter(name="Authorization", required=False)]
GitlabToken = Annotated[str | None, HeaderParameter(name="X-Gitlab-Token", required=False)]
GitlabEvent = Annotated[str | None, HeaderParameter(name="X-Gitlab-Event", required=False, max_length=100)]
Req = Request[Any, Any, Any]


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post("/alertmanager", status_code=202)
    async def alertmanager(
        self, ctx: NamedDependency[Context], data: JSONBody[AlertmanagerWebhook], authorization: Auth = None
    ) -> Accepted:
        """Alertmanager webhook (version 4). Credential: `http_config.authorization` bearer token."""
        await access.webhook(ctx, "alertmanager", authorization=authorization)
        return await alerts.receive_alertmanager(ctx, data)

    @post("/jenkins", status_code=202)
    async def jenkins(
        self,
        ctx: NamedDependency[Context],
        request: Req,
        data: JSONBody[JenkinsCallback],
        authorization: Auth = None,
    ) -> Accepted:
        """A CI job reports back. Credential: the job's one-time callback token (Bearer)."""
        return await callbacks.jenkins(ctx, data, authorization=authorization, body=await request.body())

    @post("/gitlab", status_code=202)
    async def gitlab(
        self,
        ctx: NamedDependency[Context],
        data: JSONBody[dict[str, Any]],
        x_gitlab_token: GitlabToken = None,
        x_gitlab_event: GitlabEvent = None,
    ) -> Accepted:
        """GitLab project hook (push, merge request). Credential: `X-Gitlab-Token`."""
        await access.webhook(ctx, "gitlab", gitlab_token=x_gitlab_token)
        return await callbacks.gitlab(ctx, x_gitlab_event or "unknown", data)

    @post("/argocd", status_code=202)
    async def argocd(
        self, ctx: NamedDependency[Context], data: JSONBody[ArgoCdNotification], authorization: Auth = None
    ) -> Accepted:
        """Argo CD notifications webhook. Credential: a bearer token header set in the webhook service."""
        await access.webhook(ctx, "argocd", authorization=authorization)
        return await callbacks.argocd(ctx, data)


class CallbackController(Controller):
    path = "/api"
    tags = ["callbacks"]

    @post("/evidence/callback", status_code=202)
    async def evidence(
        self,
        ctx: NamedDependency[Context],
        request: Req,
        data: JSONBody[EvidenceCallback],
        authorization: Auth = None,
    ) -> Accepted:
        """The Evidence Collector uploaded a snapshot."""
        return await callbacks.evidence(ctx, data, authorization=authorization, body=await request.body())

    @post("/fix/callback", status_code=202)
    async def fix(
        self,
        ctx: NamedDependency[Context],
        request: Req,
        data: JSONBody[FixCallback],
        authorization: Auth = None,
    ) -> Accepted:
        """The Fix Agent stored a patch bundle."""
        return await callbacks.fix(ctx, data, authorization=authorization, body=await request.body())

    @post("/fix/patch-inline", status_code=202)
    async def fix_inline(
        self,
        ctx: NamedDependency[Context],
        request: Req,
        data: JSONBody[FixPatchInline],
        authorization: Auth = None,
    ) -> Accepted:
        """The Fix Agent sends a small diff inline."""
        return await callbacks.fix_inline(ctx, data, authorization=authorization, body=await request.body())

    @post("/verification/callback", status_code=202)
    async def verification(
        self,
        ctx: NamedDependency[Context],
        request: Req,
        data: JSONBody[VerificationCallback],
        authorization: Auth = None,
    ) -> Accepted:
        """The Verification Agent reports on a preflight."""
        return await callbacks.verification(ctx, data, authorization=authorization, body=await request.body())
