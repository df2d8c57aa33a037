"""A container's root directory: the image's layers extracted in order, OCI whiteouts applied."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path, PurePosixPath

from fakes.kubernetes.kubelet.images import Image, PullError

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


def unpack(image: Image, blobs: dict[str, Path], dest: Path) -> None:
    """Blocking: run it in a thread. `blobs` maps each layer digest to its cached file."""
    dest.mkdir(parents=True, exist_ok=True)
    for digest, media_type in image.layers:
        if "zstd" in media_type:
            raise PullError(f"layer {digest}: zstd-compressed layers are not supported")
        try:
            with tarfile.open(blobs[digest], "r:*") as layer:
                _extract(layer, dest)
        except (tarfile.TarError, OSError) as exc:
            raise PullError(f"failed to extract layer {digest}: {exc}") from None


def _extract(layer: tarfile.TarFile, dest: Path) -> None:
    for member in layer:
        path = PurePosixPath(member.name.lstrip("/"))
        if ".." in path.parts:
            continue
        base = path.name
        if base == OPAQUE:
            target = dest / path.parent
            if target.is_dir():
                for child in target.iterdir():
                    _remove(child)
            continue
        if base.startswith(WHITEOUT):
            _remove(dest / path.parent / base[len(WHITEOUT) :])
            continue
        existing = dest / path
        if existing.is_symlink() or (existing.exists() and not (existing.is_dir() and member.isdir())):
            _remove(existing)
        try:
            layer.extract(member, dest, filter="tar")
        except (tarfile.FilterError, OSError):
            continue  # a link pointing outside the root, a device node: skipped, as rootless runtimes do


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
