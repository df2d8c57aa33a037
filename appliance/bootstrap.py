"""The composition root: the one place that builds adapters for a target and wires the services."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from appliance.adapters.argocd.gitops import ArgoCdGitOps
from appliance.adapters.embedded.endpoints import ControlPlaneSecrets, Endpoints
from appliance.adapters.embedded.report import SeedReport
from appliance.adapters.embedded.seed import seed as seed_stack
from appliance.adapters.embedded.stack import EmbeddedStack
from appliance.adapters.gitlab.scm import GitLabScm
from appliance.adapters.jenkins.ci import JenkinsCi
from appliance.adapters.local import LogNotifier, NoCi, RandomIds, SystemClock
from appliance.adapters.s3.store import S3ObjectStore
from appliance.adapters.sqlite.store import SqliteStore
from appliance.contracts.settings import Settings
from appliance.logic.machines import MACHINES
from appliance.ports.ci import Ci
from appliance.ports.clock import Clock, Ids
from appliance.ports.notifier import Notifier
from appliance.ports.objectstore import ObjectStore
from appliance.services.context import Context, WebhookSecrets
from appliance.services.crashpoints import Crashpoints
from appliance.services.dispatcher import Dispatcher
from appliance.services.engine import Engine
from appliance.services.reconcile import Reconciler
from appliance.services.tokens import CallbackMinter


@dataclass
class Appliance:
    settings: Settings
    ctx: Context
    dispatcher: Dispatcher
    store: SqliteStore
    reconciler: Reconciler | None = None
    objects: ObjectStore | None = None  # evidence, patch and report bundles, when object storage is set
    closers: list[Any] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        self._stop.clear()
        self._tasks = [asyncio.create_task(self.dispatcher.run(self._stop), name="pathops-dispatcher")]
        if self.reconciler is not None:
            self._tasks.append(
                asyncio.create_task(self.reconciler.run(self._stop), name="pathops-reconciler")
            )

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for closer in self.closers:
            await closer()
        await self.store.close()


def ci_for(settings: Settings) -> Ci:
    if settings.jenkins_url:
        return JenkinsCi(
            url=settings.jenkins_url, user=settings.jenkins_user, api_token=settings.jenkins_token
        )
    return NoCi(f"no Jenkins configured for target {settings.target!r} (set PATHOPS_JENKINS_URL)")


async def build(
    settings: Settings,
    *,
    ci: Ci | None = None,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
    ids: Ids | None = None,
    objects: ObjectStore | None = None,
) -> Appliance:
    """Everything the appliance runs on, for `settings.target`; tests pass doubles for the ports."""
    clock = clock or SystemClock()
    ids = ids or RandomIds()
    ci = ci or ci_for(settings)
    store = await SqliteStore.open(settings.db_path)
    crash = Crashpoints(settings.crashpoint)
    policy = {
        k: v
        for k, v in {
            "evidence_timeout_s": settings.evidence_timeout_s,
            "fix_timeout_s": settings.fix_timeout_s,
            "mr_timeout_s": settings.mr_timeout_s,
            "max_attempts": settings.max_attempts,
        }.items()
        if v is not None
    }
    start_defaults = {"incident": {"policy": policy}} if policy else {}
    engine = Engine(store=store, machines=MACHINES, crashpoints=crash, start_defaults=start_defaults)
    secrets = WebhookSecrets(
        alertmanager=settings.alertmanager_secret,
        gitlab=settings.gitlab_secret,
        argocd=settings.argocd_secret,
    )
    ctx = Context(
        store=store,
        engine=engine,
        clock=clock,
        ids=ids,
        secrets=secrets,
        incident_policy=policy,
        crashpoints=crash,
    )
    dispatcher = Dispatcher(
        store=store,
        engine=engine,
        ci=ci,
        notifier=notifier or LogNotifier(),
        clock=clock,
        minter=CallbackMinter(settings.callback_key.encode()),
        callback_url=settings.base_url,
        crashpoints=crash,
    )
    engine.on_commit = dispatcher.wake
    closers: list[Any] = [ci.aclose] if isinstance(ci, JenkinsCi) else []
    gitops = (
        ArgoCdGitOps(url=settings.argocd_url, token=settings.argocd_token) if settings.argocd_url else None
    )
    scm = GitLabScm(url=settings.gitlab_url, token=settings.gitlab_token) if settings.gitlab_url else None
    closers += [port.aclose for port in (gitops, scm) if port is not None]
    if objects is None and settings.s3_url:
        s3 = S3ObjectStore(
            url=settings.s3_url, access_key=settings.s3_access_key, secret_key=settings.s3_secret_key
        )
        objects = s3
        closers.append(s3.aclose)
    reconciler = (
        Reconciler(ctx, gitops=gitops, scm=scm, every_s=settings.reconcile_s) if gitops or scm else None
    )
    return Appliance(
        settings=settings,
        ctx=ctx,
        dispatcher=dispatcher,
        store=store,
        reconciler=reconciler,
        objects=objects,
        closers=closers,
    )


@dataclass
class Target:
    """The systems the appliance governs, once up: the settings that reach them, and how to stop them."""

    settings: Settings
    stack: EmbeddedStack | None = None
    endpoints: Endpoints | None = None

    async def seed(self, *, progress: Callable[[str], None] | None = None) -> SeedReport | None:
        """Give the embedded stack the `shop` project (idempotent); nothing for other targets."""
        if self.endpoints is None:
            return None
        return await seed_stack(
            self.endpoints,
            control_plane_url=self.settings.base_url,
            secrets=control_plane_secrets(self.settings),
            progress=progress,
        )

    async def stop(self) -> None:
        if self.stack is not None:
            await self.stack.stop()


def control_plane_secrets(settings: Settings) -> ControlPlaneSecrets:
    return ControlPlaneSecrets(
        gitlab=settings.gitlab_secret,
        argocd=settings.argocd_secret,
        alertmanager=settings.alertmanager_secret,
    )


async def start_target(settings: Settings, *, with_stack: bool = True) -> Target:
    """Bring up (or connect to) the systems of `settings.target`. Embedded: the fakes as one child
    process, whose Jenkins becomes the appliance's CI (unless one is configured)."""
    if settings.target != "embedded" or not with_stack:
        return Target(settings=settings)
    stack = EmbeddedStack(
        settings.data_dir / "embedded",
        control_plane_url=settings.base_url,
        secrets=control_plane_secrets(settings),
    )
    endpoints = await stack.start()
    if not settings.jenkins_url:
        jenkins = endpoints.jenkins
        settings = msgspec.structs.replace(
            settings, jenkins_url=jenkins.url, jenkins_user="pathops", jenkins_token=jenkins.token("pathops")
        )
    if not settings.gitlab_url:
        gitlab = endpoints.gitlab
        settings = msgspec.structs.replace(
            settings, gitlab_url=gitlab.url, gitlab_token=gitlab.token("pathops")
        )
    if not settings.argocd_url:
        argocd = endpoints.argocd
        settings = msgspec.structs.replace(
            settings, argocd_url=argocd.url, argocd_token=argocd.token("pathops")
        )
    if not settings.s3_url:
        s3 = endpoints.s3
        settings = msgspec.structs.replace(
            settings, s3_url=s3.url, s3_access_key=s3.token("pathops"), s3_secret_key=s3.secret("pathops")
        )
    return Target(settings=settings, stack=stack, endpoints=endpoints)
