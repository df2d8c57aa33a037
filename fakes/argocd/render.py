"""Render an application's manifests from a checked-out path, as Argo CD does for plain YAML and
Kustomize. The Kustomize subset: `resources` (files, directories with their own kustomization or
plain YAML), `patches` / `patchesStrategicMerge` (strategic-merge-style: maps merge, lists of named
items merge by `name`, other lists replace), `images` (newName/newTag/digest), `namespace`,
`namePrefix`/`nameSuffix`, `commonLabels`/`labels`, `commonAnnotations`, and `replicas`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class RenderError(ValueError):
    """The manifests cannot be rendered (Argo CD reports it as a ComparisonError)."""


def render(path: Path) -> list[Obj]:
    if not path.is_dir():
        raise RenderError(f"app path {path.name!r} does not exist in the repository")
    kustomization = next((path / k for k in KUSTOMIZATIONS if (path / k).is_file()), None)
    if kustomization is not None:
        return _kustomize(path, kustomization, depth=0)
    objects: list[Obj] = []
    for file in sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]):
        objects.extend(_load(file))
    return objects


def _load(file: Path) -> list[Obj]:
    try:
        docs = list(yaml.safe_load_all(file.read_text()))
    except yaml.YAMLError as exc:
        raise RenderError(f"{file.name}: not valid YAML: {exc}") from None
    objects = [d for d in docs if d]
    for obj in objects:
        if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
            raise RenderError(f"{file.name}: every document needs apiVersion and kind")
        if not (obj.get("metadata") or {}).get("name"):
            raise RenderError(f"{file.name}: a {obj['kind']} has no metadata.name")
    return objects


def _kustomize(base: Path, file: Path, *, depth: int) -> list[Obj]:
    if depth > 10:
        raise RenderError("kustomization resources nest more than 10 deep")
    spec = yaml.safe_load(file.read_text()) or {}
    if not isinstance(spec, dict):
        raise RenderError(f"{file.name}: a kustomization is a mapping")
    objects: list[Obj] = []
    for ref in spec.get("resources") or []:
        target = (base / str(ref)).resolve()
        if target.is_dir():
            inner = next((target / k for k in KUSTOMIZATIONS if (target / k).is_file()), None)
            objects.extend(_kustomize(target, inner, depth=depth + 1) if inner else render(target))
        elif target.is_file():
            objects.extend(_load(target))
        else:
            raise RenderError(f"{file.name}: resource {ref!r} not found")
    for patch in [*(spec.get("patchesStrategicMerge") or []), *(spec.get("patches") or [])]:
        patch_obj = _patch_object(base, patch)
        matches = [o for o in objects if _same(o, patch_obj, spec.get("namespace"))]
        if not matches:
            raise RenderError(
                f"patch for {patch_obj.get('kind')}/{patch_obj['metadata'].get('name')} matches nothing"
            )
        for obj in matches:
            merged = merge(obj, patch_obj)
            obj.clear()
            obj.update(merged)
    for obj in objects:
        _transform(obj, spec)
    return objects


def _patch_object(base: Path, patch: Any) -> Obj:
    if isinstance(patch, str):
        (obj,) = _load(base / patch) if (base / patch).is_file() else [yaml.safe_load(patch)]
        return obj
    if isinstance(patch, dict) and patch.get("path"):
        (obj,) = _load(base / str(patch["path"]))
        return obj
    if isinstance(patch, dict) and patch.get("patch"):
        loaded = yaml.safe_load(str(patch["patch"]))
        if isinstance(loaded, dict):
            return loaded
    raise RenderError(f"unsupported patch {patch!r}")


def _same(obj: Obj, patch: Obj, namespace: str | None) -> bool:
    return obj.get("kind") == patch.get("kind") and obj["metadata"].get("name") == patch.get(
        "metadata", {}
    ).get("name")


def merge(base: Any, patch: Any) -> Any:
    """Strategic-merge-like: maps merge key by key, lists of items with `name` merge by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in patch)
    ):
        out_list = [copy.deepcopy(i) for i in base]
        for item in patch:
            index = next(
                (n for n, b in enumerate(out_list) if isinstance(b, dict) and b.get("name") == item["name"]),
                None,
            )
            if index is None:
                out_list.append(copy.deepcopy(item))
            else:
                out_list[index] = merge(out_list[index], item)
        return out_list
    return copy.deepcopy(patch)


def _transform(obj: Obj, spec: Obj) -> None:
    meta = obj.setdefault("metadata", {})
    if spec.get("namespace") and obj.get("kind") != "Namespace":
        meta["namespace"] = spec["namespace"]
    meta["name"] = f"{spec.get('namePrefix', '')}{meta['name']}{spec.get('nameSuffix', '')}"
    labels = {**(spec.get("commonLabels") or {})}
    for entry in spec.get("labels") or []:
        labels |= entry.get("pairs") or {}
    if labels:
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
        template = (obj.get("spec") or {}).get("template")
        if isinstance(template, dict):
            template.setdefault("metadata", {})
            template["metadata"]["labels"] = {**(template["metadata"].get("labels") or {}), **labels}
    if spec.get("commonAnnotations"):
        meta["annotations"] = {**(meta.get("annotations") or {}), **spec["commonAnnotations"]}
    for replica in spec.get("replicas") or []:
        if replica.get("name") == meta["name"] and isinstance(obj.get("spec"), dict):
            obj["spec"]["replicas"] = int(replica["count"])
    for image in spec.get("images") or []:
        for container in _containers(obj):
            container["image"] = _retag(str(container.get("image", "")), image)


def _containers(obj: Obj) -> list[Obj]:
    spec = obj.get("spec") or {}
    pod = spec.get("template", {}).get("spec") if "template" in spec else spec
    if obj.get("kind") == "CronJob":
        pod = spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if not isinstance(pod, dict):
        return []
    return [
        c for c in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])] if isinstance(c, dict)
    ]


def _retag(image: str, rule: Obj) -> str:
    name, tag, _digest = split_image(image)
    if name != rule.get("name"):
        return image
    name = str(rule.get("newName") or name)
    if rule.get("digest"):
        return f"{name}@{rule['digest']}"
    return f"{name}:{rule.get('newTag') or tag or 'latest'}"


def split_image(image: str) -> tuple[str, str, str]:
    """`host:port/repo:tag@digest` -> (name, tag, digest)."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest
