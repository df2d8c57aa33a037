"""The apiserver's generic registry: create, replace, patch and read objects with real metadata semantics
(uid, resourceVersion, creationTimestamp, generation), defaulting, validation, immutable fields and the
status subresource. Deletion and garbage collection live in `deletion.py`.
"""

from __future__ import annotations

import builtins
import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import yaml

from fakes.kubernetes import defaults, errors
from fakes.kubernetes.meta import now, random_suffix
from fakes.kubernetes.patch import json_patch, merge_patch, strategic_merge
from fakes.kubernetes.resources import NAMESPACES, Resource
from fakes.kubernetes.selectors import Selector, labels_match
from fakes.kubernetes.store import Obj, Store
from fakes.kubernetes.validation import Cause, validate

POD_MUTABLE = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)


class Registry:
    def __init__(self, store: Store) -> None:
        self.store = store

    # reads

    def get(self, res: Resource, namespace: str, name: str) -> Obj:
        obj = self.store.get(res.key, namespace, name)
        if obj is None:
            raise errors.not_found(res, name)
        return obj

    def find(self, res: Resource, namespace: str, name: str) -> Obj | None:
        return self.store.get(res.key, namespace, name)

    def list(
        self,
        res: Resource,
        namespace: str | None,
        labels: Selector = (),
        fields: Callable[[Obj], bool] | None = None,
    ) -> builtins.list[Obj]:
        items = self.store.list(res.key, namespace or None)
        return [o for o in items if labels_match(labels, o) and (fields is None or fields(o))]

    # writes

    def create(self, res: Resource, namespace: str, body: Any, *, dry_run: bool = False) -> Obj:
        obj = self._decode(res, body)
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
            self.require_namespace(res, namespace, meta.get("name") or meta.get("generateName", ""))
        else:
            meta.pop("namespace", None)
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            for _ in range(10):
                meta["name"] = f"{meta['generateName']}{random_suffix()}"
                if self.find(res, namespace, meta["name"]) is None:
                    break
        name = meta.get("name", "")
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now())
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"):
            meta.pop(field, None)
        if res.generation:
            meta["generation"] = 1
        if res.has_status and res.plural != "services":
            obj["status"] = {"phase": "Pending"} if res.plural == "pods" else {}
        defaults.apply(res, obj)
        self._check(res, obj, validate(res, obj))
        if self.find(res, namespace, name) is not None:
            raise errors.already_exists(res, name)
        if res.plural == "pods":
            obj["status"]["qosClass"] = qos_class(obj["spec"])
        return obj if dry_run else self.store.put(res.key, obj)

    def replace(
        self,
        res: Resource,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str = "",
        internal: bool = False,
    ) -> Obj:
        current = self.get(res, namespace, name)
        obj = self._decode(res, body)
        meta = obj.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        rv = meta.get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(res, name)
        if subresource == "status":
            updated = copy.deepcopy(current)
            updated["status"] = obj.get("status", {})
        else:
            updated = obj
            kept = (
                "uid",
                "creationTimestamp",
                "generation",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            )
            for field in kept:
                if field in current["metadata"]:
                    meta[field] = current["metadata"][field]
            meta["name"] = name
            if res.namespaced:
                meta["namespace"] = namespace
            if res.has_status and not internal:
                updated["status"] = current.get("status", {})
            defaults.apply(res, updated)
            self._check(res, updated, validate(res, updated) + immutable(res, current, updated))
            if res.generation and _spec(current) != _spec(updated):
                meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
        if _same(current, updated):
            return current
        lingering = updated["metadata"].get("deletionTimestamp") and not updated["metadata"].get("finalizers")
        if lingering and res.plural != "pods" and res is not NAMESPACES:
            return self.store.remove(res.key, namespace, name) or updated
        return self.store.put(res.key, updated)

    def patch(
        self, res: Resource, namespace: str, name: str, raw: bytes, content_type: str, *, subresource: str = "",
        field_manager: str = "",
    ) -> Obj:  # fmt: skip
        kind = content_type.split(";")[0].strip().lower()
        if kind not in PATCH_TYPES:
            raise errors.ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES)}",
            )
        try:
            body = yaml.safe_load(raw) if kind.endswith("yaml") else json.loads(raw or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from None
        current = self.find(res, namespace, name)
        if kind == "application/apply-patch+yaml":
            if not field_manager:
                raise errors.bad_request(
                    "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests"
                )
            if current is None:
                return self.create(res, namespace, body)
        if current is None:
            raise errors.not_found(res, name)
        if kind == "application/json-patch+json":
            patched = json_patch(current, body)
        elif kind == "application/merge-patch+json":
            patched = merge_patch(current, body)
        else:
            if not isinstance(body, dict):
                raise errors.bad_request("a strategic merge patch is a JSON object")
            patched = strategic_merge(current, body)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch did not produce an object")
        wanted_rv = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
        patched.setdefault("metadata", {})["resourceVersion"] = (
            wanted_rv or current["metadata"]["resourceVersion"]
        )
        return self.replace(res, namespace, name, patched, subresource=subresource)

    def write_status(self, res: Resource, obj: Obj, status: dict[str, Any]) -> Obj | None:
        """Controllers and the kubelet: set the status of the stored object if it changed (None if gone)."""
        meta = obj["metadata"]
        current = self.find(res, meta.get("namespace", ""), meta["name"])
        if current is None or current["metadata"]["uid"] != meta["uid"]:
            return None
        if current.get("status") == status:
            return current
        current["status"] = copy.deepcopy(status)
        return self.store.put(res.key, current)

    def write(self, res: Resource, obj: Obj) -> Obj:
        """Controllers: replace an object (spec and metadata) they own, without a resourceVersion check."""
        obj = copy.deepcopy(obj)
        obj["metadata"].pop("resourceVersion", None)
        return self.replace(
            res, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], obj, internal=True
        )

    # helpers

    def require_namespace(self, res: Resource, namespace: str, name: str) -> None:
        ns = self.store.get(NAMESPACES.key, "", namespace)
        if ns is None:
            raise errors.namespace_not_found(namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.terminating(res, name, namespace)

    def _decode(self, res: Resource, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was not a JSON object")
        obj = copy.deepcopy(body)
        if obj.get("apiVersion", res.api_version) != res.api_version:
            raise errors.bad_request(
                f"the API version in the data ({obj['apiVersion']}) does not match the expected API version ({res.api_version})"
            )
        if obj.get("kind", res.kind) != res.kind:
            raise errors.bad_request(
                f"the kind in the data ({obj['kind']}) does not match the expected kind ({res.kind})"
            )
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.bad_request("metadata must be an object")
        return obj

    def _check(self, res: Resource, obj: Obj, causes: builtins.list[Cause]) -> None:
        if causes:
            raise errors.invalid(res, obj.get("metadata", {}).get("name", ""), causes)


def _spec(obj: Obj) -> Any:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _same(a: Obj, b: Obj) -> bool:
    def strip(o: Obj) -> Obj:
        return {**o, "metadata": {k: v for k, v in o["metadata"].items() if k != "resourceVersion"}}

    return strip(a) == strip(b)


def _without_images(spec: dict[str, Any]) -> dict[str, Any]:
    mutable = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")
    blanked = {k: [{**c, "image": ""} for c in spec.get(k) or []] for k in ("containers", "initContainers")}
    return {k: v for k, v in {**spec, **blanked}.items() if k not in mutable}


def immutable(res: Resource, old: Obj, new: Obj) -> list[Cause]:
    causes: list[Cause] = []
    if res.plural == "pods" and _without_images(old["spec"]) != _without_images(new["spec"]):
        message = f"Forbidden: pod updates may not change fields other than {POD_MUTABLE}"
        causes.append(("FieldValueForbidden", "spec", message))
    fields = {
        "jobs": ("selector", "template", "completions"),
        "deployments": ("selector",),
        "replicasets": (),
    }
    for field in fields.get(res.plural, ()):
        if old["spec"].get(field) != new["spec"].get(field):
            shown = json.dumps(new["spec"].get(field))
            causes.append(
                ("FieldValueInvalid", f"spec.{field}", f"Invalid value: {shown}: field is immutable")
            )
    return causes


def qos_class(spec: dict[str, Any]) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("limits") or r.get("requests") for r in resources):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get(k)
        and (r.get("requests") or r.get("limits") or {}).get(k) == r["limits"][k]
        for r in resources
        for k in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"
