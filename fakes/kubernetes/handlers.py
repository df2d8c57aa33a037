"""The verbs on a target: list (selectors, pagination), get, create, update, patch, delete,
deletecollection, and the scale subresource (autoscaling/v1 Scale)."""

from __future__ import annotations

import base64
import json
from typing import Any

from fakes.kubernetes import deletion, errors
from fakes.kubernetes.patch import merge_patch
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.routes import Target
from fakes.kubernetes.selectors import parse_fields, parse_labels
from fakes.kubernetes.store import Obj


def flag(query: dict[str, str], key: str) -> bool:
    return query.get(key, "").lower() in ("true", "1")


def number(query: dict[str, str], key: str) -> int | None:
    if not query.get(key):
        return None
    try:
        return int(query[key])
    except ValueError:
        raise errors.bad_request(f"{key}: Invalid value: {query[key]!r}: must be an integer") from None


def decode(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"error decoding the request body: {exc}") from None


def list_objects(registry: Registry, t: Target, query: dict[str, str]) -> Obj:
    labels = parse_labels(query.get("labelSelector"))
    fields = parse_fields(query.get("fieldSelector"), t.res.key)
    items = registry.list(t.res, t.namespace, labels, fields)
    rv = str(registry.store.rv)
    start, limit = 0, number(query, "limit")
    if query.get("continue"):
        try:
            token = json.loads(base64.urlsafe_b64decode(query["continue"]))
            start, rv = int(token["start"]), str(token["rv"])
        except (ValueError, KeyError, TypeError):
            raise errors.bad_request("continue key is not valid") from None
    meta: dict[str, Any] = {"resourceVersion": rv}
    page = items[start:]
    if limit and limit > 0 and len(page) > limit:
        page = page[:limit]
        token = {"start": start + limit, "rv": rv}
        meta["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
        meta["remainingItemCount"] = len(items) - start - limit
    for item in page:
        item.pop("apiVersion", None)
        item.pop("kind", None)
    return {"kind": f"{t.res.kind}List", "apiVersion": t.res.api_version, "metadata": meta, "items": page}


def get(registry: Registry, t: Target) -> Obj:
    obj = registry.get(t.res, t.namespace, t.name)
    return scale_of(obj) if t.sub == "scale" else obj


def create(registry: Registry, t: Target, raw: bytes, query: dict[str, str]) -> Obj:
    return registry.create(t.res, t.namespace, decode(raw), dry_run=bool(query.get("dryRun")))


def update(registry: Registry, t: Target, raw: bytes) -> Obj:
    if t.sub == "scale":
        return _set_scale(registry, t, decode(raw))
    return registry.replace(t.res, t.namespace, t.name, decode(raw), subresource=t.sub)


def patch(registry: Registry, t: Target, raw: bytes, content_type: str, query: dict[str, str]) -> Obj:
    if t.sub == "scale":
        current = scale_of(registry.get(t.res, t.namespace, t.name))
        return _set_scale(registry, t, merge_patch(current, decode(raw)))
    return registry.patch(t.res, t.namespace, t.name, raw, content_type, subresource=t.sub,
                          field_manager=query.get("fieldManager", ""))  # fmt: skip


def delete(registry: Registry, t: Target, raw: bytes, query: dict[str, str]) -> Obj:
    options = decode(raw) if raw.strip() else {}
    if not isinstance(options, dict):
        raise errors.bad_request("DeleteOptions must be an object")
    propagation = query.get("propagationPolicy") or options.get("propagationPolicy")
    if propagation is None and options.get("orphanDependents") is not None:
        propagation = "Orphan" if options["orphanDependents"] else "Background"
    grace = number(query, "gracePeriodSeconds")
    if grace is None and options.get("gracePeriodSeconds") is not None:
        grace = int(options["gracePeriodSeconds"])
    if query.get("dryRun") or options.get("dryRun"):
        return registry.get(t.res, t.namespace, t.name)
    return deletion.delete(registry, t.res, t.namespace, t.name, propagation=propagation, grace=grace,
                           preconditions=options.get("preconditions"))  # fmt: skip


def delete_collection(registry: Registry, t: Target, raw: bytes, query: dict[str, str]) -> Obj:
    listed = list_objects(registry, t, query)
    items = []
    for item in listed["items"]:
        named = Target(t.res, item["metadata"].get("namespace", ""), item["metadata"]["name"], "", "delete")
        try:
            gone = delete(registry, named, raw, query)
        except errors.ApiError:
            continue
        if gone.get("kind") != "Status":
            items.append(gone)
    return {**listed, "items": items}


def scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    selector = obj["spec"].get("selector") or {}
    match = ",".join(f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items())
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        },
        "spec": {"replicas": obj["spec"].get("replicas", 1)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": match},
    }


def _set_scale(registry: Registry, t: Target, scale: Any) -> Obj:
    if not isinstance(scale, dict) or not isinstance((scale.get("spec") or {}).get("replicas"), int):
        raise errors.bad_request("a Scale needs spec.replicas")
    obj = registry.get(t.res, t.namespace, t.name)
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    if rv and rv != obj["metadata"]["resourceVersion"]:
        raise errors.conflict(t.res, t.name)
    obj["spec"]["replicas"] = scale["spec"]["replicas"]
    return scale_of(registry.replace(t.res, t.namespace, t.name, obj))
