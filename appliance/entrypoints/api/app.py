"""The Litestar application: REST, webhooks and callbacks, OpenAPI at /schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from appliance.bootstrap import Appliance
from appliance.entrypoints.api import deps, errors, hooks, resources


def create_app(appliance: Appliance, *, run_workers: bool = True) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if run_workers:
            await appliance.start()
        try:
            yield
        finally:
            if run_workers:
                await appliance.stop()

    app = Litestar(
        route_handlers=[
            resources.ProjectController,
            resources.IncidentController,
            resources.ChangeSetController,
            resources.ArtifactController,
            resources.PreflightController,
            resources.FeatureController,
            resources.EvidenceController,
            resources.AdminController,
            hooks.WebhookController,
            hooks.CallbackController,
        ],
        dependencies={
            "ctx": Provide(deps.context, sync_to_thread=False),
            "who": Provide(deps.principal),
        },
        exception_handlers=errors.HANDLERS,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="PathOps appliance",
            version="0.1.0",
            description="No change reaches production without evidence.",
            path="/schema",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")},
            ),
            security=[{"bearer": []}],
        ),
        cors_config=CORSConfig(allow_origins=[]),
        logging_config=None,  # the entrypoint configures logging once (Litestar's own would print every line twice)
        debug=False,
    )
    app.state.ctx = appliance.ctx
    app.state.appliance = appliance
    return app
