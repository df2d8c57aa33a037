"""The Deployment controller: one ReplicaSet per pod template (label `pod-template-hash`), rolling updates
within maxSurge / maxUnavailable (old ReplicaSets shrink as new pods become available), Recreate, status
and the Available / Progressing conditions (ProgressDeadlineExceeded after progressDeadlineSeconds)."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from typing import Any

from fakes.kubernetes import deletion
from fakes.kubernetes.errors import ApiError
from fakes.kubernetes.events import Recorder
from fakes.kubernetes.meta import ALNUM, condition, controlled_by, now, owner_ref, parse_time, set_condition
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.resources import DEPLOYMENTS, PODS, REPLICASETS
from fakes.kubernetes.store import Obj

COMPONENT = "deployment-controller"
REVISION = "deployment.kubernetes.io/revision"


def template_hash(template: dict[str, Any]) -> str:
    number = int.from_bytes(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()[:8], "big")
    out = ""
    while len(out) < 10:
        number, rest = divmod(number, len(ALNUM))
        out += ALNUM[rest]
    return out


def _resolve(value: Any, total: int, *, up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = total * int(value[:-1]) / 100
        return math.ceil(exact) if up else math.floor(exact)
    return int(value)


def reconcile(registry: Registry, recorder: Recorder) -> None:
    for d in registry.store.list(DEPLOYMENTS.key):
        if not d["metadata"].get("deletionTimestamp"):
            sync(registry, recorder, d)


def sync(registry: Registry, recorder: Recorder, d: Obj) -> None:
    meta, spec = d["metadata"], d["spec"]
    ns = meta["namespace"]
    owned = [rs for rs in registry.store.list(REPLICASETS.key, ns) if controlled_by(rs, meta["uid"])]
    owned.sort(key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REVISION, "0")))
    h = template_hash(spec["template"])
    new = next((rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == h), None)
    olds = [rs for rs in owned if rs is not new]
    desired = int(spec.get("replicas", 1))
    created = False
    if spec.get("paused"):
        _status(registry, d, new, owned, desired, created)
        return
    if new is None:
        revision = (
            max([int(rs["metadata"].get("annotations", {}).get(REVISION, "0")) for rs in owned] + [0]) + 1
        )
        new = _create_rs(registry, recorder, d, h, revision)
        if new is None:
            return
        owned.append(new)
        created = True
    if spec.get("strategy", {}).get("type") == "Recreate":
        _recreate(registry, recorder, d, new, olds, desired)
    else:
        _rolling(registry, recorder, d, new, olds, desired)
    _cleanup(registry, d, olds)
    _status(registry, d, new, owned, desired, created)


def _create_rs(registry: Registry, recorder: Recorder, d: Obj, h: str, revision: int) -> Obj | None:
    meta, spec = d["metadata"], d["spec"]
    template = copy.deepcopy(spec["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
    selector = copy.deepcopy(spec["selector"])
    selector.setdefault("matchLabels", {})["pod-template-hash"] = h
    rs = {
        "metadata": {
            "name": f"{meta['name']}-{h}", "labels": dict(template["metadata"]["labels"]),
            "annotations": {REVISION: str(revision), "deployment.kubernetes.io/desired-replicas": str(spec["replicas"])},
            "ownerReferences": [owner_ref(d)],
        },
        "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds", 0), "selector": selector,
                 "template": template},
    }  # fmt: skip
    try:
        created = registry.create(REPLICASETS, meta["namespace"], rs)
    except ApiError as exc:
        recorder.warning(
            d,
            "ReplicaSetCreateError",
            f"Failed to create new replica set: {exc.message}",
            component=COMPONENT,
        )
        return None
    if meta.get("annotations", {}).get(REVISION) != str(revision):
        d["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
        d.update(registry.write(DEPLOYMENTS, d))
    return created


def _scale(registry: Registry, recorder: Recorder, d: Obj, rs: Obj, replicas: int) -> None:
    current = int(rs["spec"].get("replicas", 0))
    if current == replicas:
        return
    rs["spec"]["replicas"] = replicas
    rs["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(
        d["spec"]["replicas"]
    )
    rs.update(registry.write(REPLICASETS, rs))
    way = "up" if replicas > current else "down"
    recorder.normal(d, "ScalingReplicaSet", f"Scaled {way} replica set {rs['metadata']['name']} from {current} to {replicas}",
                    component=COMPONENT)  # fmt: skip


def _avail(rs: Obj) -> int:
    return int(rs.get("status", {}).get("availableReplicas", 0))


def _rolling(registry: Registry, recorder: Recorder, d: Obj, new: Obj, olds: list[Obj], desired: int) -> None:
    rolling = d["spec"].get("strategy", {}).get("rollingUpdate") or {}
    surge = _resolve(rolling.get("maxSurge", "25%"), desired, up=True)
    unavailable = _resolve(rolling.get("maxUnavailable", "25%"), desired, up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    total = sum(int(rs["spec"].get("replicas", 0)) for rs in [new, *olds])
    current = int(new["spec"].get("replicas", 0))
    if current < desired:
        allowed = max(0, desired + surge - total)
        _scale(registry, recorder, d, new, current + min(desired - current, allowed))
    elif current > desired:
        _scale(registry, recorder, d, new, desired)
    total = sum(int(rs["spec"].get("replicas", 0)) for rs in [new, *olds])
    new_unavailable = int(new["spec"]["replicas"]) - _avail(new)
    budget = total - (desired - unavailable) - new_unavailable
    for old in olds:  # the oldest first; unhealthy replicas of old sets go at no cost
        replicas = int(old["spec"].get("replicas", 0))
        if replicas == 0:
            continue
        unhealthy = max(0, replicas - _avail(old))
        cut = min(replicas, unhealthy + max(0, budget))
        budget -= max(0, cut - unhealthy)
        if cut > 0:
            _scale(registry, recorder, d, old, replicas - cut)


def _recreate(
    registry: Registry, recorder: Recorder, d: Obj, new: Obj, olds: list[Obj], desired: int
) -> None:
    for old in olds:
        _scale(registry, recorder, d, old, 0)
    ns = d["metadata"]["namespace"]
    old_uids = {rs["metadata"]["uid"] for rs in olds}
    old_pods = [p for p in registry.store.list(PODS.key, ns) if any(controlled_by(p, u) for u in old_uids)]
    if not old_pods:
        _scale(registry, recorder, d, new, desired)


def _cleanup(registry: Registry, d: Obj, olds: list[Obj]) -> None:
    limit = int(d["spec"].get("revisionHistoryLimit", 10))
    idle = [rs for rs in olds if not rs["spec"].get("replicas") and not rs.get("status", {}).get("replicas")]
    for rs in idle[: max(0, len(idle) - limit)]:
        deletion.delete(registry, REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"])


def _status(
    registry: Registry, d: Obj, new: Obj | None, owned: list[Obj], desired: int, created: bool
) -> None:
    def total(field: str) -> int:
        return sum(int(rs.get("status", {}).get(field, 0)) for rs in owned)

    available = total("availableReplicas")
    spec_total = sum(int(rs["spec"].get("replicas", 0)) for rs in owned)
    updated = int((new or {}).get("status", {}).get("replicas", 0))
    status: dict[str, Any] = copy.deepcopy(d.get("status") or {})
    counts = {
        "observedGeneration": d["metadata"].get("generation", 1),
        "replicas": total("replicas"),
        "updatedReplicas": updated,
        "readyReplicas": total("readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, spec_total - available),
    }
    progressed = any(status.get(k, 0) != v for k, v in counts.items() if k != "observedGeneration")
    for key, value in counts.items():
        if value or key == "observedGeneration":
            status[key] = value
        else:
            status.pop(key, None)
    rolling = d["spec"].get("strategy", {}).get("rollingUpdate") or {}
    floor = desired - _resolve(rolling.get("maxUnavailable", "25%"), desired, up=False)
    if available >= floor:
        set_condition(status, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
                      touch="lastUpdateTime")  # fmt: skip
    else:
        set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.", touch="lastUpdateTime")  # fmt: skip
    name = (new or {}).get("metadata", {}).get("name", "")
    complete = (
        new is not None and updated == desired and available >= desired and total("replicas") == desired
    )
    _progressing(d, status, name, complete=complete, created=created, progressed=progressed)
    order = ("Available", "Progressing")
    status["conditions"].sort(key=lambda c: order.index(c["type"]) if c["type"] in order else 9)
    registry.write_status(DEPLOYMENTS, d, status)


def _progressing(
    d: Obj, status: dict[str, Any], name: str, *, complete: bool, created: bool, progressed: bool
) -> None:
    """The Progressing condition; its lastUpdateTime moves with progress, and the deadline runs from it."""
    previous = condition(d, "Progressing")
    deadline = int(d["spec"].get("progressDeadlineSeconds", 600))
    if d["spec"].get("paused"):
        wanted = ("Unknown", "DeploymentPaused", "Deployment is paused")
    elif complete:
        wanted = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{name}" has successfully progressed.')
    elif created:
        wanted = ("True", "NewReplicaSetCreated", f'Created new replica set "{name}"')
    elif progressed or previous is None or previous.get("reason") == "NewReplicaSetAvailable":
        wanted = ("True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.')
    elif previous.get("status") == "True" and time.time() - parse_time(previous["lastUpdateTime"]) > deadline:
        wanted = ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{name}" has timed out progressing.')
    else:
        return
    set_condition(status, "Progressing", *wanted, touch="lastUpdateTime")
    if progressed:
        for c in status["conditions"]:
            if c["type"] == "Progressing":
                c["lastUpdateTime"] = now()
