"""The Evidence Collector: reads the target namespace (only it, read-only), packs a redacted,
content-addressed bundle, uploads it and calls back `POST /api/evidence/callback`.

What it reads of TARGET_NAMESPACE within TIME_WINDOW seconds: pods (states, restarts, last
termination), every container's log (and the previous run's, after a restart), events, and the
deployments, replicasets, jobs, services and configmaps (never secrets). A kind the agent may not
read (403) is left out and named under `signals.skipped`; pods and events are required.

A security incident's advisories (ADVISORIES: what a registry scan of COMMIT_SHA found) go into
`signals.advisories` and lead the summary; the bundle's `commit_sha` is then COMMIT_SHA, the scanned
commit, whatever release the namespace runs.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
import yaml

from appliance.adapters.kubernetes.cluster import KubernetesCluster
from appliance.adapters.s3.store import S3ObjectStore
from appliance.agents import bundle
from appliance.agents.callback import callback_token, post_callback
from appliance.agents.kube import CoreKind, RawObjects, connect
from appliance.agents.settings import EvidenceSettings, secrets
from appliance.contracts.webhooks import EvidenceCallback
from appliance.logic import vulnerabilities
from appliance.logic.redact import redact_object, redact_text
from appliance.ports.cluster import ContainerStatus, Pod, WorkloadKind
from appliance.ports.errors import PermanentError

log = logging.getLogger(__name__)
T = TypeVar("T")
COMMIT_KEY = "pathops.dev/commit-sha"
SHA = re.compile(r"[0-9a-f]{7,64}")
LOG_LIMIT_BYTES = 512 * 1024
WORKLOADS: tuple[WorkloadKind, ...] = ("Deployment", "ReplicaSet", "Job")


@dataclass
class Collected:
    manifest: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


def _yaml(value: Any, known: tuple[str, ...]) -> bytes:
    data = redact_object(value, known)
    return yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False).encode()


def _trim(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": meta}


def _commit(*objects: Mapping[str, Any]) -> str | None:
    """The first `pathops.dev/commit-sha` annotation or label (of the object or its pod template)."""
    for obj in objects:
        for meta in (
            obj.get("metadata") or {},
            ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {},
        ):
            for group in ("annotations", "labels"):
                value = str((meta.get(group) or {}).get(COMMIT_KEY) or "")
                if SHA.fullmatch(value):  # not an unrendered "${COMMIT_SHA}"
                    return value
    return None


class Collector:
    def __init__(
        self, cluster: KubernetesCluster, raw: RawObjects, settings: EvidenceSettings, known: tuple[str, ...]
    ) -> None:
        self.cluster, self.raw, self.settings, self.known = cluster, raw, settings, known
        self.namespace = settings.namespace
        self.skipped: list[str] = []

    async def optional(self, work: Awaitable[T], default: T, *, quiet: str = "") -> T:
        """`work`'s result, or `default` when the apiserver refuses it for good (noted as skipped,
        unless the refusal says `quiet`: a log a container does not have yet is no news)."""
        try:
            return await work
        except PermanentError as exc:
            if not (quiet and quiet in str(exc)):
                self.skipped.append(redact_text(str(exc), self.known))
            return default

    async def logs(self, pod: Pod, container: ContainerStatus) -> dict[str, bytes]:
        ns, out = self.namespace, {}
        current = await self.optional(
            self.cluster.pod_logs(namespace=ns, pod=pod.name, container=container.name,
                                  since_seconds=self.settings.window_s, limit_bytes=LOG_LIMIT_BYTES),
            None, quiet=": 400 ",
        )  # fmt: skip
        if current is not None:
            out[f"logs/{pod.name}/{container.name}.log"] = redact_text(current, self.known).encode()
        if container.restart_count > 0 or container.last_state is not None:
            previous = await self.optional(
                self.cluster.pod_logs(namespace=ns, pod=pod.name, container=container.name, previous=True,
                                      limit_bytes=LOG_LIMIT_BYTES),
                None, quiet=": 400 ",
            )  # fmt: skip
            if previous is not None:
                out[f"logs/{pod.name}/{container.name}.previous.log"] = redact_text(
                    previous, self.known
                ).encode()
        return out

    async def collect(self, now: datetime) -> Collected:
        ns, known = self.namespace, self.known
        pods = await self.cluster.list_pods(namespace=ns)
        raw_pods = {
            str(p["metadata"]["name"]): _trim(p) for p in await self.raw.list(namespace=ns, kind="pods")
        }
        events = await self.cluster.events(
            namespace=ns, since=now - timedelta(seconds=self.settings.window_s)
        )
        files: dict[str, bytes] = {}
        for pod_logs in await asyncio.gather(*(self.logs(p, c) for p in pods for c in p.containers)):
            files.update(pod_logs)
        for pod in pods:
            files[f"pods/{pod.name}.yaml"] = _yaml(raw_pods.get(pod.name) or msgspec.to_builtins(pod), known)
        files["events.yaml"] = _yaml(msgspec.to_builtins(events), known)
        deployments: list[dict[str, Any]] = []
        for kind in WORKLOADS:
            for d in await self.optional(self.cluster.describe(namespace=ns, kind=kind), []):
                obj = msgspec.to_builtins(d)
                deployments += [obj] if kind == "Deployment" else []
                files[f"objects/{kind.lower()}/{d.name}.yaml"] = _yaml(obj, known)
        core: tuple[tuple[CoreKind, str], ...] = (("services", "service"), ("configmaps", "configmap"))
        for plural, folder in core:
            for obj in await self.optional(self.raw.list(namespace=ns, kind=plural), []):
                files[f"objects/{folder}/{obj['metadata']['name']}.yaml"] = _yaml(_trim(obj), known)

        found = bundle.signals(pods, raw_pods, events)
        found["skipped"] = self.skipped
        advisories = self.settings.advisories
        if advisories:
            found["advisories"] = vulnerabilities.as_json(advisories)
        logs = {p: d.decode(errors="replace") for p, d in files.items() if p.startswith("logs/")}
        text = redact_text(bundle.summary(ns, found, logs), known)
        if advisories:
            text = (
                f"vulnerable dependency: {vulnerabilities.describe(advisories, fixes=True)}; in {ns}: {text}"
            )
        worst = bundle.worst_pod(found)
        first = [raw_pods[worst[0]]] if worst and worst[0] in raw_pods else []
        manifest = {
            "schema": bundle.SCHEMA,
            "incident_id": self.settings.common.incident_id,
            "app": self.settings.common.app_id,
            "namespace": ns,
            "window_s": self.settings.window_s,
            "collected_at": now.isoformat(timespec="seconds"),
            "commit_sha": (self.settings.commit_sha if advisories else "")
            or _commit(*first, *deployments, *raw_pods.values())
            or self.settings.commit_sha
            or None,
            "image": worst[1]["image"] if worst else "",
            "summary": text,
            "signals": found,
        }
        return Collected(manifest, files)


async def run(env: Mapping[str, str]) -> str:
    settings = EvidenceSettings.from_env(env)
    common, known = settings.common, secrets(env)
    store = S3ObjectStore(
        url=common.s3_endpoint, access_key=common.s3_access_key, secret_key=common.s3_secret_key
    )
    cluster, raw = connect(settings.kube), RawObjects(settings.kube)
    try:
        token = await callback_token(common, store)
        collected = await Collector(cluster, raw, settings, (*known, token)).collect(datetime.now(UTC))
        data = bundle.pack(collected.manifest, collected.files)
        snapshot_id = bundle.content_id("snap", data)
        key = f"snapshots/{snapshot_id}.tar.gz"
        await store.put(bucket=common.bucket, key=key, data=data, content_type="application/gzip",
                        metadata={"incident": common.incident_id, "app": common.app_id})  # fmt: skip
        log.info(
            "uploaded s3://%s/%s (%d bytes, %d files)", common.bucket, key, len(data), len(collected.files)
        )
        payload = EvidenceCallback(
            incident_id=common.incident_id,
            snapshot_id=snapshot_id,
            summary=collected.manifest["summary"],
            pointers={"bundle": f"s3://{common.bucket}/{key}"},
            commit_sha=collected.manifest["commit_sha"],
        )
        outcome = await post_callback(common.callback_url, "/api/evidence/callback", payload, token=token)
        return f"{snapshot_id} {outcome}: {payload.summary}"
    finally:
        await asyncio.gather(cluster.aclose(), raw.aclose(), store.aclose())
