"""Missed webhooks, found by asking: GitLab and Argo CD send each hook once and never again, so one
that arrives while the appliance is down (or is lost on the way) would leave a path waiting forever.

Every `every_s` seconds, and once at start, the reconciler reads (never writes):
- for each preflight run waiting for its sync: the Argo CD application `<app>-preflight`; a final
  health (Healthy or Degraded) for the run's gitops revision is delivered as the notification would;
- for each approved change set: its merge requests; a merged one is delivered as the merge hook
  would (merged, and the build of its merge commit).
Deliveries carry ids derived from what was observed, so seeing the same state twice changes nothing,
and a webhook that did arrive makes the reconciler's delivery a no-op (and the other way round).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from appliance.contracts.workflow import Envelope, Event
from appliance.logic import changeset, preflight
from appliance.ports.errors import PortError
from appliance.ports.gitops import GitOps
from appliance.ports.scm import Scm
from appliance.services import releases
from appliance.services.context import Context

log = logging.getLogger(__name__)
MR_URL = re.compile(r"^https?://[^/]+/(?P<project>.+?)/-/merge_requests/(?P<iid>\d+)")
FINAL_HEALTH = ("Healthy", "Degraded")


class Reconciler:
    def __init__(
        self, ctx: Context, *, gitops: GitOps | None, scm: Scm | None, every_s: float = 10.0
    ) -> None:
        self.ctx, self.gitops, self.scm, self.every_s = ctx, gitops, scm, every_s

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # a bad pass must not end the loop; the next one tries again
                log.exception("reconcile pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every_s)

    async def tick(self) -> int:
        """One pass; how many observations were delivered (duplicates included)."""
        delivered = 0
        if self.gitops is not None:
            delivered += await self._syncs(self.gitops)
        if self.scm is not None:
            delivered += await self._merges(self.scm)
        if delivered:
            self.ctx.engine.committed()
        return delivered

    async def _syncs(self, gitops: GitOps) -> int:
        async with self.ctx.store.read() as r:
            rows = [row for phase in (preflight.SYNCING, preflight.STALLED)
                    for row in await r.instances(kind=preflight.KIND, phase=phase, limit=100)]  # fmt: skip
        count = 0
        for row in rows:
            run = self.ctx.engine.decode(row)
            if run.waiting_for != preflight.SYNCING:
                continue
            try:
                status = await gitops.get_app(name=f"{run.app}-preflight")
            except PortError as exc:
                log.info("reconcile %s: %s", run.id, exc)
                continue
            if status.health not in FINAL_HEALTH or not preflight.is_its_deploy(
                run, status.revision, status.images
            ):
                continue
            data = {"health": status.health, "sync_status": status.sync_status, "revision": status.revision,
                    "images": list(status.images), "message": status.health_message}  # fmt: skip
            envelope = Envelope(
                id=f"reconcile:{run.id}:{status.revision}:{status.health}",
                instance=run.id,
                kind=preflight.KIND,
                at=self.ctx.clock.now(),
                actor="reconciler",
                event=Event(name="synced", data=data),
            )
            await self.ctx.engine.submit(envelope)
            count += 1
        return count

    async def _merges(self, scm: Scm) -> int:
        async with (
            self.ctx.store.read() as r
        ):  # approved, or still open (merged in GitLab before an approval)
            rows = [row for phase in (changeset.APPROVED, changeset.OPEN)
                    for row in await r.instances(kind=changeset.KIND, phase=phase, limit=100)]  # fmt: skip
        count = 0
        for row in rows:
            state = self.ctx.engine.decode(row)
            mrs = dict(state.mrs) or ({state.apps[0]: state.mr_url} if state.mr_url else {})
            for app, url in mrs.items():
                if app in state.merged_apps or not (found := MR_URL.match(url)):
                    continue
                project, iid = found.group("project"), int(found.group("iid"))
                try:
                    mr = await scm.get_mr(project=project, iid=iid)
                except PortError as exc:
                    log.info("reconcile %s: %s", state.id, exc)
                    continue
                if mr.state != "merged":
                    continue
                await self._merged(state.id, app, project, mr.merge_commit_sha or mr.sha, url)
                count += 1
        return count

    async def _merged(self, changeset_id: str, app: str, project: str, sha: str, url: str) -> None:
        now = self.ctx.clock.now()
        async with self.ctx.store.transaction() as tx:
            event = Event(name="merged", data={"by": "gitlab", "role": "reviewer", "app": app, "mr_url": url})
            envelope = Envelope(id=f"reconcile:merged:{changeset_id}:{app}", instance=changeset_id,
                                kind=changeset.KIND, at=now, actor="reconciler", event=event)  # fmt: skip
            await self.ctx.engine.deliver(tx, envelope)
            await releases.request_build(
                self.ctx, tx, path=project, sha=sha, actor="reconciler", changeset_id=changeset_id
            )
