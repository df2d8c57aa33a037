"""Image content, built deterministically: layers from a directory, the OCI config and manifest.

- `build_layer(root, prefix=...)`: a tar.gz of the files under `root`, placed under `/<prefix>/`:
  sorted entries, mtime 0, uid/gid 0, no `.git`, gzip without a name or time; the same files give
  the same bytes, so the same digest.
- `image_documents(...)`: the image config (Cmd, WorkingDir, Env, Labels, the layers' diff ids, a
  fixed creation time) and the OCI image manifest, as canonical JSON: they depend on their inputs alone.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from appliance.ports.errors import PermanentError

SYSTEM = "registry"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
SKIPPED = frozenset({".git"})


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build_layer(root: Path, *, prefix: str) -> bytes:
    """A deterministic tar.gz of the files under `root`, placed under `/<prefix>/` (no `.git`)."""
    base = PurePosixPath("/", prefix.strip("/")) if prefix.strip("/") else PurePosixPath("/")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        parents = [p for p in reversed(base.parents) if str(p) != "/"] + ([base] if str(base) != "/" else [])
        for directory in parents:
            tar.addfile(_info(str(directory).lstrip("/"), tarfile.DIRTYPE, 0o755))
        for path in _walk(root):
            name = str(base / path.relative_to(root).as_posix()).lstrip("/")
            if path.is_symlink():
                info = _info(name, tarfile.SYMTYPE, 0o777)
                info.linkname = str(path.readlink())
                tar.addfile(info)
            elif path.is_dir():
                tar.addfile(_info(name, tarfile.DIRTYPE, 0o755))
            elif path.is_file():
                data = path.read_bytes()
                mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
                info = _info(name, tarfile.REGTYPE, mode)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name in SKIPPED:
            continue
        found.append(entry)
        if entry.is_dir() and not entry.is_symlink():
            found.extend(_walk(entry))
    return found


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _diff_id(layer: bytes) -> tuple[str, str]:
    """The layer's media type and diff id (the digest of the uncompressed tar)."""
    if layer[:2] == b"\x1f\x8b":
        try:
            return OCI_LAYER_GZIP, digest_of(gzip.decompress(layer))
        except (OSError, EOFError) as exc:
            raise PermanentError(f"a layer is not valid gzip: {exc}", system=SYSTEM) from None
    return OCI_LAYER_TAR, digest_of(layer)


def image_documents(
    *, layers: list[bytes], cmd: list[str], workdir: str, env: dict[str, str], labels: dict[str, str]
) -> tuple[bytes, bytes]:
    """The image config and the manifest (bytes, as pushed); both depend on their inputs alone."""
    kinds = [_diff_id(layer) for layer in layers]
    config = _canonical(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": {
                "Cmd": list(cmd),
                "WorkingDir": workdir,
                "Env": [f"{k}={v}" for k, v in env.items()],
                "Labels": dict(labels),
            },
            "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in kinds]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "pathops-ci"} for _ in layers],
        }
    )
    manifest = _canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": [
                {"mediaType": media, "digest": digest_of(layer), "size": len(layer)}
                for layer, (media, _) in zip(layers, kinds, strict=True)
            ],
        }
    )
    return config, manifest


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
