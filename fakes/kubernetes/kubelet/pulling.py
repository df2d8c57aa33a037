"""The kubelet's image step for one container: imagePullPolicy, Pulling / Pulled / Failed / BackOff events,
ErrImagePull then ImagePullBackOff, and the container's root directory unpacked from the layers."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import time
from typing import TYPE_CHECKING

from fakes.kubernetes.kubelet import rootfs
from fakes.kubernetes.kubelet.images import Image, PullError
from fakes.kubernetes.resources import SECRETS

if TYPE_CHECKING:
    from fakes.kubernetes.kubelet.container import ContainerRunner


def credentials(runner: ContainerRunner) -> dict[str, tuple[str, str]]:
    """Registry host -> (user, password) from the pod's imagePullSecrets (dockerconfigjson or dockercfg)."""
    pod = runner.worker.pod
    found: dict[str, tuple[str, str]] = {}
    for ref in pod["spec"].get("imagePullSecrets") or []:
        secret = runner.ctx.registry.find(SECRETS, pod["metadata"]["namespace"], ref.get("name", ""))
        data = (secret or {}).get("data") or {}
        raw = data.get(".dockerconfigjson") or data.get(".dockercfg")
        if not raw:
            continue
        try:
            config = json.loads(base64.b64decode(raw))
        except ValueError:
            continue
        for host, entry in (config.get("auths", config) or {}).items():
            user, password = entry.get("username"), entry.get("password")
            if (not user or password is None) and entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            if user:
                host = host.split("://", 1)[-1].rstrip("/")
                found[host] = (user, password or "")
    return found


async def prepare_image(runner: ContainerRunner, failures: int) -> Image | None:
    """The image, present and unpacked into the container's root; None after a failure (backed off)."""
    image, spec, ctx = runner.spec["image"], runner.spec, runner.ctx
    policy = spec.get("imagePullPolicy", "IfNotPresent")
    present = ctx.images.present(image)
    if present is not None and (policy != "Always" or ctx.images.is_preloaded(image)):
        runner.event("Normal", "Pulled", f'Container image "{image}" already present on machine')
        pulled = present
    elif policy == "Never":
        message = f'Container image "{image}" is not present with pull policy of Never'
        runner.event("Warning", "ErrImageNeverPull", message)
        runner.waiting("ErrImageNeverPull", message)
        await asyncio.sleep(ctx.settings.backoff(failures))
        return None
    else:
        runner.event("Normal", "Pulling", f'Pulling image "{image}"')
        started = time.monotonic()
        try:
            pulled = await ctx.images.pull(image, credentials(runner))
        except PullError as exc:
            await _back_off(runner, image, str(exc), failures)
            return None
        took = f"{time.monotonic() - started:.3f}s"
        runner.event(
            "Normal",
            "Pulled",
            f'Successfully pulled image "{image}" in {took} ({took} including waiting). Image size: {pulled.size} bytes.',
        )
    try:
        await _unpack(runner, pulled)
    except PullError as exc:
        await _back_off(runner, image, str(exc), failures)
        return None
    runner.image_id = pulled.image_id
    return pulled


async def _back_off(runner: ContainerRunner, image: str, error: str, failures: int) -> None:
    settings = runner.ctx.settings
    runner.event("Warning", "Failed", f'Failed to pull image "{image}": {error}')
    runner.event("Warning", "Failed", "Error: ErrImagePull")
    runner.waiting("ErrImagePull", error)
    await asyncio.sleep(min(settings.backoff_base_s, 2.0))
    runner.event("Normal", "BackOff", f'Back-off pulling image "{image}"')
    runner.event("Warning", "Failed", "Error: ImagePullBackOff")
    runner.waiting("ImagePullBackOff", f'Back-off pulling image "{image}": ErrImagePull: {error}')
    await asyncio.sleep(settings.backoff(failures))


async def _unpack(runner: ContainerRunner, image: Image) -> None:
    root = runner.worker.root(runner.name)
    marker = root.with_name(f"{runner.name}.image")
    if root.is_dir() and marker.exists() and marker.read_text() == image.digest:
        return
    shutil.rmtree(root, ignore_errors=True)
    blobs = {digest: runner.ctx.images.blob_path(digest) for digest, _ in image.layers}
    await asyncio.to_thread(rootfs.unpack, image, blobs, root)
    marker.write_text(image.digest)
