"""The ReplicaSet controller: keep `spec.replicas` live pods from the template; report their readiness."""

from __future__ import annotations

import time
from typing import Any

from fakes.kubernetes import deletion
from fakes.kubernetes.errors import ApiError
from fakes.kubernetes.events import Recorder
from fakes.kubernetes.meta import condition, controlled_by, owner_ref, parse_time
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.resources import PODS, REPLICASETS
from fakes.kubernetes.store import Obj

COMPONENT = "replicaset-controller"


def active(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and pod.get("status", {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


def ready(pod: Obj) -> bool:
    c = condition(pod, "Ready")
    return c is not None and c["status"] == "True"


def available(pod: Obj, min_ready_s: int) -> bool:
    c = condition(pod, "Ready")
    if c is None or c["status"] != "True":
        return False
    return min_ready_s <= 0 or time.time() - parse_time(c["lastTransitionTime"]) >= min_ready_s


def pod_from_template(owner: Obj, template: dict[str, Any], prefix: str) -> Obj:
    meta = template.get("metadata") or {}
    return {
        "metadata": {
            "generateName": prefix,
            "labels": dict(meta.get("labels") or {}),
            **({"annotations": dict(meta["annotations"])} if meta.get("annotations") else {}),
            "ownerReferences": [owner_ref(owner)],
        },
        "spec": template.get("spec") or {},
    }


def reconcile(registry: Registry, recorder: Recorder) -> None:
    for rs in registry.store.list(REPLICASETS.key):
        if not rs["metadata"].get("deletionTimestamp"):
            sync(registry, recorder, rs)


def sync(registry: Registry, recorder: Recorder, rs: Obj) -> None:
    meta, spec = rs["metadata"], rs["spec"]
    pods = [p for p in registry.store.list(PODS.key, meta["namespace"]) if controlled_by(p, meta["uid"])]
    live = [p for p in pods if active(p)]
    diff = int(spec.get("replicas", 1)) - len(live)
    if diff > 0:
        for _ in range(min(diff, 100)):
            try:
                pod = registry.create(
                    PODS, meta["namespace"], pod_from_template(rs, spec["template"], f"{meta['name']}-")
                )
            except ApiError as exc:
                recorder.warning(rs, "FailedCreate", f"Error creating: {exc.message}", component=COMPONENT)
                break
            recorder.normal(
                rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", component=COMPONENT
            )
            live.append(pod)
    elif diff < 0:
        # as the controller ranks them: unscheduled, pending, not ready, then the newest first
        ranked = sorted(live, key=lambda p: (p["status"].get("phase") == "Running", ready(p),
                                             -parse_time(p["metadata"]["creationTimestamp"])))  # fmt: skip
        for pod in ranked[:-diff]:
            try:
                deletion.delete(registry, PODS, meta["namespace"], pod["metadata"]["name"])
            except ApiError:
                continue
            recorder.normal(
                rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component=COMPONENT
            )
            live.remove(pod)
    labels = spec["template"].get("metadata", {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds", 0))
    status: dict[str, Any] = {
        "replicas": len(live),
        "fullyLabeledReplicas": sum(
            all((p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items()) for p in live
        ),
        "readyReplicas": sum(ready(p) for p in live),
        "availableReplicas": sum(available(p, min_ready) for p in live),
        "observedGeneration": meta.get("generation", 1),
    }
    status = {k: v for k, v in status.items() if v or k == "replicas"}
    registry.write_status(REPLICASETS, rs, status)
