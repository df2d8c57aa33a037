"""The application controller: git -> rendered manifests -> the cluster, with health and notifications.

Each pass for an Application: resolve `targetRevision` in `repoURL` (over git, any smart-HTTP or
file URL), render `path` (plain YAML or Kustomize, see render.py), compare with what was last
applied, and, when automated or asked to sync, apply in dependency order and prune what left git.
Health follows Argo CD's built-in checks for Deployments, Jobs and Pods. Notifications (the catalog
triggers on-sync-succeeded, on-sync-failed, on-health-degraded, on-deployed) are posted to the
configured webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fakes.argocd.health import app_health, resource_health
from fakes.argocd.kube import KINDS, LAST_APPLIED, Kube, KubeError
from fakes.argocd.render import RenderError, render
from fakes.common.webhooks import WebhookSender

log = logging.getLogger(__name__)
Obj = dict[str, Any]
INSTANCE = "app.kubernetes.io/instance"
ORDER = [
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "Service",
    "Deployment",
    "ReplicaSet",
    "Pod",
    "Job",
]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Controller:
    def __init__(
        self,
        *,
        apps: dict[str, Obj],
        kube: Kube,
        sender: WebhookSender,
        notify_url: str = "",
        notify_token: str = "",
        git_token: str = "",
        period_s: float = 3.0,
    ) -> None:
        self.apps, self.kube, self.sender = apps, kube, sender
        self.notify_url, self.notify_token, self.git_token = notify_url, notify_token, git_token
        self.period_s = period_s
        self.work = Path(tempfile.mkdtemp(prefix="argocd-repos-"))
        self._locks: dict[str, asyncio.Lock] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.kube.aclose()
        shutil.rmtree(self.work, ignore_errors=True)

    def refresh(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            for name in list(self.apps):
                try:
                    await self.reconcile(name)
                except Exception:  # one app's bug must not stop the controller for the others
                    log.exception("reconcile %s failed", name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.period_s)

    async def reconcile(self, name: str, *, sync: bool = False, prune: bool | None = None) -> Obj:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            app = self.apps.get(name)
            if app is None:
                raise KeyError(name)
            status = app.setdefault("status", {})
            before = (status.get("sync", {}).get("status"), status.get("health", {}).get("status"))
            policy = (app["spec"].get("syncPolicy") or {}).get("automated")
            try:
                revision, desired = await self._desired(app)
            except (RenderError, RuntimeError) as exc:
                status["conditions"] = [
                    {"type": "ComparisonError", "message": str(exc), "lastTransitionTime": now()}
                ]
                status["sync"] = {"status": "Unknown", "comparedTo": _compared(app)}
                return app
            status.pop("conditions", None)
            tracked = [r for r in status.get("resources", [])]
            live = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in desired}
            out_of_sync = await self._out_of_sync(desired, tracked, live)
            if sync or (
                policy is not None and (out_of_sync or status.get("sync", {}).get("revision") != revision)
            ):
                do_prune = prune if prune is not None else bool((policy or {}).get("prune"))
                await self._sync(app, revision, desired, tracked, live, prune=do_prune)
                out_of_sync = await self._out_of_sync(desired, status.get("resources", []), live)
            assessed = await self._assess(app)
            # one consistent status, as Argo CD writes it in one update: a reader (the API runs while
            # this awaits the cluster) never sees the new revision with the health of the old one
            status["sync"] = {
                "status": "OutOfSync" if out_of_sync else "Synced",
                "revision": revision,
                "comparedTo": _compared(app),
            }
            assessed()
            status["reconciledAt"] = now()
            await self._notify(app, before)
            return app

    async def _desired(self, app: Obj) -> tuple[str, list[Obj]]:
        source = app["spec"]["source"]
        checkout = self.work / app["metadata"]["name"]
        revision = await self._checkout(
            str(source["repoURL"]), str(source.get("targetRevision") or "HEAD"), checkout
        )
        objects = render(checkout / str(source.get("path") or "."))
        namespace = app["spec"]["destination"].get("namespace")
        for obj in objects:
            meta = obj["metadata"]
            if obj["kind"] not in KINDS:
                raise RenderError(f"the cluster does not serve kind {obj['kind']!r} ({meta['name']})")
            if KINDS[obj["kind"]][2]:
                meta.setdefault("namespace", namespace)
            meta["labels"] = {**(meta.get("labels") or {}), INSTANCE: app["metadata"]["name"]}
        return revision, objects

    async def _checkout(self, url: str, revision: str, into: Path) -> str:
        shutil.rmtree(into, ignore_errors=True)
        args = ["clone", "--quiet", "--depth", "1"]
        if revision not in ("HEAD", ""):
            args += ["--branch", revision]
        await self._git(*args, self._auth(url), str(into))
        return (await self._git("-C", str(into), "rev-parse", "HEAD")).strip()

    def _auth(self, url: str) -> str:
        parts = urlsplit(url)
        if not self.git_token or parts.scheme not in ("http", "https") or "@" in parts.netloc:
            return url
        return urlunsplit(parts._replace(netloc=f"oauth2:{self.git_token}@{parts.netloc}"))

    async def _git(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin", "HOME": str(self.work)},
        )
        try:
            out, err = await proc.communicate()
        except asyncio.CancelledError:  # the controller is stopping: leave no git process behind
            proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            message = err.decode(errors="replace").replace(self.git_token or "\0", "***").strip()
            raise RuntimeError(
                f"git {args[0]} failed: {message.splitlines()[-1] if message else proc.returncode}"
            )
        return out.decode()

    async def _out_of_sync(self, desired: list[Obj], tracked: list[Obj], live: dict[Any, Obj]) -> bool:
        keys = {(r["kind"], r.get("namespace"), r["name"]) for r in tracked}
        if keys - set(live):
            return True
        for obj in desired:
            current = await self.kube.get(
                obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]
            )
            if current is None or not _applied(current, obj):
                return True
        return False

    async def _sync(
        self,
        app: Obj,
        revision: str,
        desired: list[Obj],
        tracked: list[Obj],
        live: dict[Any, Obj],
        *,
        prune: bool,
    ) -> None:
        status = app["status"]
        results: list[Obj] = []
        phase, message = "Succeeded", "successfully synced (all tasks run)"
        status["operationState"] = {
            "phase": "Running",
            "startedAt": now(),
            "operation": {"sync": {"revision": revision}},
        }
        try:
            for obj in sorted(desired, key=lambda o: ORDER.index(o["kind"])):
                outcome = await self.kube.apply(obj)
                results.append(
                    _result(obj, "Synced", f"{obj['kind'].lower()}/{obj['metadata']['name']} {outcome}")
                )
            for gone in [r for r in tracked if (r["kind"], r.get("namespace"), r["name"]) not in live]:
                if prune:
                    await self.kube.delete(gone["kind"], gone.get("namespace"), gone["name"])
                    results.append({**gone, "status": "Pruned", "message": "pruned"})
                else:
                    results.append(
                        {**gone, "status": "PruneSkipped", "message": "ignored (requires pruning)"}
                    )
        except KubeError as exc:
            phase, message = "Failed", f"one or more objects failed to apply, reason: {exc}"
        status["operationState"] = {
            "phase": phase,
            "message": message,
            "startedAt": status["operationState"]["startedAt"],
            "finishedAt": now(),
            "operation": {"sync": {"revision": revision}},
            "syncResult": {"revision": revision, "resources": results, "source": app["spec"]["source"]},
        }
        kept = [r for r in tracked if (r["kind"], r.get("namespace"), r["name"]) not in live and not prune]
        status["resources"] = [_resource(o) for o in desired] + kept
        status["history"] = [
            *status.get("history", []),
            {"revision": revision, "deployedAt": now(), "id": len(status.get("history", []))},
        ][-10:]

    async def _assess(self, app: Obj) -> Callable[[], None]:
        """Health and sync of each managed resource, and the summary's images, all from the live state
        (as Argo CD's own: what runs, not what git asks for). Read now, written by the returned
        function, which does not await: the caller writes them together with the sync status."""
        resources = app["status"].get("resources", [])
        images: set[str] = set()
        found: list[tuple[Obj, Obj, str]] = []
        for res in resources:
            live = await self.kube.get(res["kind"], res.get("namespace"), res["name"])
            images |= {str(c.get("image") or "") for c in _pod_containers(live or {})}
            children = []
            if live is not None and res["kind"] in ("Deployment", "Job"):
                children = await self.children_of(live)
            synced = "Synced" if live is not None and _applied_any(live) else "OutOfSync"
            found.append((res, resource_health(res["kind"], live, children), synced))

        def write() -> None:
            for res, health, synced in found:
                res["health"], res["status"] = health, synced
            app["status"]["health"] = app_health([health for _, health, _ in found])
            app["status"]["summary"] = {"images": sorted(images - {""})}

        return write

    async def children_of(self, owner: Obj) -> list[Obj]:
        """The ReplicaSets and Pods a Deployment or Job owns (list items carry no kind: it is set here)."""
        ns = owner["metadata"].get("namespace")
        pods = [{**p, "kind": "Pod", "apiVersion": "v1"} for p in await self.kube.list("Pod", ns)]
        if owner["kind"] == "Job":
            return [p for p in pods if _owned_by(p, owner)]
        sets = [
            {**rs, "kind": "ReplicaSet", "apiVersion": "apps/v1"}
            for rs in await self.kube.list("ReplicaSet", ns)
        ]
        sets = [rs for rs in sets if _owned_by(rs, owner)]
        return sets + [p for p in pods if any(_owned_by(p, rs) for rs in sets)]

    async def _notify(self, app: Obj, before: tuple[Any, Any]) -> None:
        status = app["status"]
        after = (status.get("sync", {}).get("status"), status.get("health", {}).get("status"))
        op = status.get("operationState") or {}
        triggers = []
        if op.get("finishedAt") and op.get("finishedAt") != status.get("notifiedOperation"):
            status["notifiedOperation"] = op["finishedAt"]
            triggers.append("on-sync-succeeded" if op.get("phase") == "Succeeded" else "on-sync-failed")
        if after[1] == "Degraded" and before[1] != "Degraded":
            triggers.append("on-health-degraded")
        if after == ("Synced", "Healthy") and before != after and op.get("phase") == "Succeeded":
            triggers.append("on-deployed")
        if not self.notify_url:
            return
        for trigger in triggers:
            body = {
                "app": app["metadata"]["name"],
                "sync_status": after[0] or "",
                "health_status": after[1] or "",
                "revision": status.get("sync", {}).get("revision", ""),
                "images": (status.get("summary") or {}).get("images", []),
                "trigger": trigger,
                "message": op.get("message", ""),
            }
            headers = {"Authorization": f"Bearer {self.notify_token}"} if self.notify_token else {}
            await self.sender.send(self.notify_url, body=body, headers=headers)


def _compared(app: Obj) -> Obj:
    return {"source": app["spec"]["source"], "destination": app["spec"]["destination"]}


def _applied(current: Obj, desired: Obj) -> bool:
    return (current["metadata"].get("annotations") or {}).get(LAST_APPLIED) == json.dumps(
        desired, sort_keys=True
    )


def _applied_any(current: Obj) -> bool:
    return LAST_APPLIED in (current["metadata"].get("annotations") or {})


def _group(obj: Obj) -> str:
    api = str(obj.get("apiVersion", "v1"))
    return api.split("/")[0] if "/" in api else ""


def _resource(obj: Obj) -> Obj:
    return {
        "group": _group(obj),
        "version": str(obj.get("apiVersion", "v1")).split("/")[-1],
        "kind": obj["kind"],
        "namespace": obj["metadata"].get("namespace"),
        "name": obj["metadata"]["name"],
        "status": "Synced",
    }


def _result(obj: Obj, status: str, message: str) -> Obj:
    return {
        **_resource(obj),
        "status": status,
        "message": message,
        "hookPhase": "Succeeded",
        "syncPhase": "Sync",
    }


def _owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"].get("uid")
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def _pod_containers(res: Obj) -> list[Obj]:
    spec = res.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    return [c for c in pod.get("containers") or [] if isinstance(c, dict)]
