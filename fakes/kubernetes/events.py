"""core/v1 Events as the kubelet and the controllers record them (deduplicated: count and lastTimestamp)."""

from __future__ import annotations

import time
from typing import Any

from fakes.kubernetes.errors import ApiError
from fakes.kubernetes.meta import now
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.resources import EVENTS
from fakes.kubernetes.store import Obj


class Recorder:
    def __init__(self, registry: Registry, node: str) -> None:
        self.registry, self.node = registry, node
        self._seen: dict[tuple[str, ...], str] = {}  # dedup key -> event name

    def normal(self, obj: Obj, reason: str, message: str, **kw: Any) -> None:
        self.record(obj, "Normal", reason, message, **kw)

    def warning(self, obj: Obj, reason: str, message: str, **kw: Any) -> None:
        self.record(obj, "Warning", reason, message, **kw)

    def record(
        self,
        obj: Obj,
        type_: str,
        reason: str,
        message: str,
        *,
        component: str = "kubelet",
        field_path: str = "",
    ) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (namespace, meta["uid"], type_, reason, message, field_path, component)
        at = now()
        name = self._seen.get(key)
        existing = self.registry.find(EVENTS, namespace, name) if name else None
        if existing is not None:
            existing["count"] = int(existing.get("count", 1)) + 1
            existing["lastTimestamp"] = at
            self.registry.store.put(EVENTS.key, existing)
            return
        involved = {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if field_path:
            involved["fieldPath"] = field_path
        source: dict[str, str] = {"component": component}
        if component == "kubelet":
            source["host"] = self.node
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": source,
            "firstTimestamp": at,
            "lastTimestamp": at,
            "count": 1,
            "reportingComponent": component,
            "reportingInstance": self.node if component == "kubelet" else "",
        }
        try:
            created = self.registry.create(EVENTS, namespace, event)
        except ApiError:  # the namespace is gone or terminating: the event is dropped, as the apiserver would
            return
        self._seen[key] = created["metadata"]["name"]
