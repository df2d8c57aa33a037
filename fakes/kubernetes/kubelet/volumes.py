"""Volumes, as directories in a container's root: `emptyDir` (shared by the pod's containers), `configMap`
and `secret` (their keys as files, refreshed at each start). Other kinds fail to mount, as a missing
object does: the container stays ContainerCreating with a FailedMount event."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

from fakes.kubernetes.registry import Registry
from fakes.kubernetes.resources import CONFIGMAPS, SECRETS
from fakes.kubernetes.store import Obj


class MountError(Exception):
    pass


def _files(registry: Registry, namespace: str, volume: dict[str, Any]) -> dict[str, bytes] | None:
    """The files of a configMap or secret volume (None for an optional object that is missing)."""
    kind = "configMap" if "configMap" in volume else "secret"
    source = volume[kind]
    name = source.get("name" if kind == "configMap" else "secretName", "")
    obj = registry.find(CONFIGMAPS if kind == "configMap" else SECRETS, namespace, name)
    if obj is None:
        if source.get("optional"):
            return None
        raise MountError(
            f'MountVolume.SetUp failed for volume "{volume["name"]}" : {kind.lower()} "{name}" not found'
        )
    if kind == "configMap":
        data = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
        data |= {k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()}
    else:
        data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    items = source.get("items")
    if items:
        return {item.get("path", item["key"]): data[item["key"]] for item in items if item["key"] in data}
    return data


def mount(registry: Registry, pod: Obj, container: dict[str, Any], root: Path, pod_dir: Path) -> None:
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    for mount_spec in container.get("volumeMounts") or []:
        volume = volumes.get(mount_spec.get("name", ""))
        if volume is None:
            raise MountError(f'volume "{mount_spec.get("name")}" not found in the pod')
        target = root / str(mount_spec["mountPath"]).lstrip("/")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir() and "emptyDir" in volume:
            shutil.rmtree(target)
        if "emptyDir" in volume:
            shared = pod_dir / "volumes" / volume["name"]
            shared.mkdir(parents=True, exist_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(shared, target_is_directory=True)
        elif "configMap" in volume or "secret" in volume:
            files = _files(registry, pod["metadata"]["namespace"], volume) or {}
            sub = mount_spec.get("subPath")
            if sub:
                if sub not in files:
                    raise MountError(f'subPath "{sub}" not found in volume "{volume["name"]}"')
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(files[sub])
                continue
            shutil.rmtree(target, ignore_errors=True)
            for name, content in files.items():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).write_bytes(content)
            target.mkdir(parents=True, exist_ok=True)
        else:
            kind = next((k for k in volume if k != "name"), "?")
            raise MountError(
                f'MountVolume.SetUp failed for volume "{volume["name"]}" : {kind} volumes are not supported by this node'
            )
