"""The object store: objects by (resource, namespace, name), one global resourceVersion counter, a bounded
history of changes for watches that resume, and listeners (watch streams, controllers).

Used from the server's event loop only. With a `path` it persists as one JSON file (`flush()`).
"""

from __future__ import annotations

import builtins
import copy
import json
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Change:
    type: str  # ADDED | MODIFIED | DELETED
    resource: str  # Resource.key, e.g. "pods", "apps/deployments"
    namespace: str
    obj: Obj
    old: Obj | None
    rv: int


Listener = Callable[[Change], None]


class Store:
    def __init__(self, path: Path | None = None, *, history: int = 20000) -> None:
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._history: deque[Change] = deque(maxlen=history)
        self._listeners: list[Listener] = []
        self._rv = 1000
        self._path = path
        self._dirty = False
        if path is not None and path.exists():
            saved = json.loads(path.read_text())
            self._rv = saved["resourceVersion"]
            for key, items in saved["objects"].items():
                bucket = self._objects.setdefault(key, {})
                for obj in items:
                    bucket[(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj
        self._floor = self._rv  # no history from before a restart

    @property
    def rv(self) -> int:
        return self._rv

    @property
    def oldest(self) -> int:
        """Watches may resume from this resourceVersion on; older ones are expired."""
        if len(self._history) == self._history.maxlen:
            return self._history[0].rv - 1
        return self._floor

    def get(self, key: str, namespace: str, name: str) -> Obj | None:
        obj = self._objects.get(key, {}).get((namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, key: str, namespace: str | None = None) -> builtins.list[Obj]:
        bucket = self._objects.get(key, {})
        found = [o for (ns, _), o in sorted(bucket.items()) if namespace is None or ns == namespace]
        return copy.deepcopy(found)

    def put(self, key: str, obj: Obj) -> Obj:
        """Create or replace `obj`, stamping the next resourceVersion; returns a copy of what is stored."""
        meta = obj["metadata"]
        ident = (meta.get("namespace", ""), meta["name"])
        bucket = self._objects.setdefault(key, {})
        old = bucket.get(ident)
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        stored = copy.deepcopy(obj)
        bucket[ident] = stored
        self._emit(Change("MODIFIED" if old else "ADDED", key, ident[0], stored, old, self._rv))
        return copy.deepcopy(stored)

    def remove(self, key: str, namespace: str, name: str) -> Obj | None:
        old = self._objects.get(key, {}).pop((namespace, name), None)
        if old is None:
            return None
        self._rv += 1
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = str(self._rv)
        self._emit(Change("DELETED", key, namespace, gone, old, self._rv))
        return copy.deepcopy(gone)

    def since(self, rv: int) -> builtins.list[Change] | None:
        """Changes after `rv`, or None when the history no longer reaches back that far."""
        if rv < self.oldest:
            return None
        return [c for c in self._history if c.rv > rv]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, change: Change) -> None:
        self._history.append(change)
        self._dirty = True
        for listener in list(self._listeners):
            listener(change)

    def flush(self) -> None:
        if self._path is None or not self._dirty:
            return
        self._dirty = False
        data = {
            "resourceVersion": self._rv,
            "objects": {k: list(v.values()) for k, v in self._objects.items()},
        }
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self._path)
