"""Deletion: graceful pod deletion, finalizers, namespace termination and the garbage collector
(ownerReferences; propagation Background / Foreground delete dependents, Orphan strips the references).

As in batch/v1, deleting a Job without a propagationPolicy orphans its pods.
"""

from __future__ import annotations

from typing import Any

from fakes.kubernetes import errors
from fakes.kubernetes.meta import now
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.resources import NAMESPACES, PODS, RESOURCES, Resource
from fakes.kubernetes.store import Obj

POLICIES = ("Background", "Foreground", "Orphan")


def delete(
    registry: Registry,
    res: Resource,
    namespace: str,
    name: str,
    *,
    propagation: str | None = None,
    grace: int | None = None,
    preconditions: dict[str, Any] | None = None,
) -> Obj:
    """Delete one object; returns what the apiserver answers (the object while it lingers, else a Status)."""
    current = registry.get(res, namespace, name)
    meta = current["metadata"]
    for field, actual in (("uid", meta["uid"]), ("resourceVersion", meta["resourceVersion"])):
        wanted = (preconditions or {}).get(field)
        if wanted and wanted != actual:
            label = "UID" if field == "uid" else "ResourceVersion"
            raise errors.conflict(
                res,
                name,
                f"Precondition failed: {label} in precondition: {wanted}, {label} in object meta: {actual}",
            )
    if propagation is not None and propagation not in POLICIES:
        raise errors.invalid(res, name, [("FieldValueNotSupported", "propagationPolicy",
                                          f'Unsupported value: "{propagation}": supported values: "Foreground", "Background", "Orphan"')])  # fmt: skip
    policy = propagation or ("Orphan" if res.plural == "jobs" else "Background")
    if res is NAMESPACES:
        return _terminate_namespace(registry, current)
    if res is PODS and _graceful(current, grace):
        if not meta.get("deletionTimestamp"):
            seconds = current["spec"].get("terminationGracePeriodSeconds", 30) if grace is None else grace
            meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"] = now(), int(seconds)
            current = registry.store.put(res.key, current)
        _cascade(registry, current, policy)
        return current
    if meta.get("finalizers"):
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"] = now(), 0
            current = registry.store.put(res.key, current)
        return current
    gone = registry.store.remove(res.key, namespace, name) or current
    _cascade(registry, gone, policy)
    return errors.success(res, gone) if res is not PODS else gone


def _graceful(pod: Obj, grace: int | None) -> bool:
    """Pods on the node that still run go through the kubelet; others are removed at once."""
    bound = bool(pod["spec"].get("nodeName"))
    finished = pod.get("status", {}).get("phase") in ("Succeeded", "Failed")
    return bound and not finished and grace != 0


def _cascade(registry: Registry, owner: Obj, policy: str) -> None:
    uid = owner["metadata"]["uid"]
    namespace = owner["metadata"].get("namespace", "")
    for res in RESOURCES:
        if not res.namespaced:
            continue
        for dep in registry.store.list(res.key, namespace or None):
            refs = dep["metadata"].get("ownerReferences") or []
            if not any(r.get("uid") == uid for r in refs):
                continue
            if policy == "Orphan":
                dep["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                if not dep["metadata"]["ownerReferences"]:
                    del dep["metadata"]["ownerReferences"]
                registry.store.put(res.key, dep)
            else:
                delete(
                    registry,
                    res,
                    dep["metadata"]["namespace"],
                    dep["metadata"]["name"],
                    propagation="Background",
                )


def _terminate_namespace(registry: Registry, ns: Obj) -> Obj:
    if not ns["metadata"].get("deletionTimestamp"):
        ns["metadata"]["deletionTimestamp"] = now()
        ns["metadata"]["deletionGracePeriodSeconds"] = 0
        ns.setdefault("status", {})["phase"] = "Terminating"
        ns = registry.store.put(NAMESPACES.key, ns)
    return ns


def sweep_namespace(registry: Registry, ns: Obj) -> None:
    """The namespace controller: delete everything in a terminating namespace, then the namespace."""
    name = ns["metadata"]["name"]
    for res in RESOURCES:
        if res.namespaced:
            for obj in registry.store.list(res.key, name):
                if not obj["metadata"].get("deletionTimestamp"):
                    delete(registry, res, name, obj["metadata"]["name"], propagation="Background")
    if not any(registry.store.list(r.key, name) for r in RESOURCES if r.namespaced):
        registry.store.remove(NAMESPACES.key, "", name)


def finish_pod(registry: Registry, pod: Obj) -> None:
    """The kubelet: a terminating pod's containers are gone, remove it."""
    meta = pod["metadata"]
    current = registry.find(PODS, meta["namespace"], meta["name"])
    if current is not None and current["metadata"]["uid"] == meta["uid"]:
        registry.store.remove(PODS.key, meta["namespace"], meta["name"])
