"""The evidence bundle (docs/golden-paths.md): a tar.gz with `manifest.json` first, then the files it
lists in path order, byte-for-byte the same for the same content (no times, owners or gzip name in
the archive), so its sha256 is a content address: `snap-<24 hex>`.

Also what the manifest says about the pods: `signals` (per pod: phase, ready, restarts,
waiting_reason, last_exit_code, last_reason, memory_limit, container, image, message; warning
events counted by reason) and the one-line `summary` a person reads first, e.g.
`shop-api-7d9 CrashLoopBackOff, 4 restarts, last exit 1: KeyError: 'SHOP_DB_URL'`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from appliance.ports.cluster import ContainerStatus, Event, Pod
from appliance.ports.errors import PermanentError

SCHEMA = "pathops.evidence/v1"
MANIFEST = "manifest.json"
_ERROR_LINE = re.compile(r"(Error|Exception|error|fatal|FATAL|panic|missing|failed|refused)")


def content_id(prefix: str, data: bytes) -> str:
    return f"{prefix}-{hashlib.sha256(data).hexdigest()[:24]}"


def canonical(value: Any) -> bytes:
    """The JSON a content address is computed from: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pack(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> bytes:
    """The bundle's bytes; `files` are listed in the manifest with their sha256 and size."""
    entries = sorted(files.items())
    listed = [{"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in entries]
    head = json.dumps({**manifest, "files": listed}, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9, filename="") as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path, data in [(MANIFEST, head.encode()), *entries]:
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass(frozen=True)
class Snapshot:
    manifest: dict[str, Any]
    files: dict[str, bytes]

    def text(self, path: str) -> str:
        return self.files[path].decode(errors="replace") if path in self.files else ""


def unpack(data: bytes) -> Snapshot:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            files = {m.name: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PermanentError(f"the snapshot is not a tar.gz bundle: {exc}") from None
    if not members or members[0].name != MANIFEST:
        raise PermanentError("the snapshot's first file is not manifest.json")
    manifest = json.loads(files.pop(MANIFEST))
    if manifest.get("schema") != SCHEMA:
        raise PermanentError(f"unknown snapshot schema {manifest.get('schema')!r}")
    return Snapshot(manifest, files)


# --- signals and summary -------------------------------------------------------------------------


def _worst(containers: Iterable[ContainerStatus]) -> ContainerStatus | None:
    ranked = sorted(
        containers,
        key=lambda c: (c.init, c.ready, c.state.state != "waiting", -c.restart_count, c.name),
    )
    return ranked[0] if ranked else None


def _memory_limit(raw: Mapping[str, Any] | None, container: str) -> str | None:
    spec = (raw or {}).get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if c.get("name") == container:
            limit = ((c.get("resources") or {}).get("limits") or {}).get("memory")
            return str(limit) if limit is not None else None
    return None


def pod_signal(pod: Pod, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    worst = _worst(pod.containers)
    last = worst.last_state if worst else None
    waiting = worst.state if worst and worst.state.state == "waiting" else None
    return {
        "phase": pod.phase,
        "ready": pod.ready,
        "restarts": sum(c.restart_count for c in pod.containers),
        "container": worst.name if worst else "",
        "image": worst.image if worst else "",
        "waiting_reason": waiting.reason if waiting else "",
        "message": (waiting.message if waiting else "") or (last.message if last else "") or pod.message,
        "last_exit_code": last.exit_code if last else None,
        "last_reason": last.reason if last else "",
        "oom_killed": any(
            "OOMKilled" in (c.state.reason, c.last_state.reason if c.last_state else "")
            for c in pod.containers
        ),
        "memory_limit": _memory_limit(raw, worst.name) if worst else None,
    }


def signals(
    pods: Iterable[Pod], raw: Mapping[str, Mapping[str, Any]], events: Iterable[Event]
) -> dict[str, Any]:
    warnings: Counter[str] = Counter()
    for e in events:
        if e.type == "Warning":
            warnings[e.reason] += e.count
    return {
        "pods": {p.name: pod_signal(p, raw.get(p.name)) for p in pods},
        "warnings": dict(sorted(warnings.items())),
    }


def error_line(log: str) -> str:
    """The line of a log that says best what went wrong: the last error-looking one, else the last."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    chosen = next((line for line in reversed(lines) if _ERROR_LINE.search(line)), lines[-1] if lines else "")
    return chosen if len(chosen) <= 160 else chosen[:157] + "..."


def worst_pod(found: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The pod of `signals` that is worst off: waiting or not ready first, then the most restarts."""
    pods: dict[str, dict[str, Any]] = dict(found.get("pods") or {})
    return max(
        pods.items(),
        key=lambda kv: (bool(kv[1]["waiting_reason"]) or not kv[1]["ready"], kv[1]["restarts"], kv[0]),
        default=None,
    )


def summary(namespace: str, found: Mapping[str, Any], logs: Mapping[str, str]) -> str:
    pods: dict[str, dict[str, Any]] = dict(found.get("pods") or {})
    worst = worst_pod(found)
    if worst is None:
        warnings = found.get("warnings") or {}
        return f"no pods in {namespace}" + (f"; warnings: {', '.join(warnings)}" if warnings else "")
    name, s = worst
    restarts = int(s["restarts"])
    text = f"{name} {s['waiting_reason'] or s['phase']}, {restarts} restart{'' if restarts == 1 else 's'}"
    if s["last_exit_code"] is not None:
        text += f", last exit {s['last_exit_code']}"
        if s["last_reason"] not in ("", "Error"):
            text += f" ({s['last_reason']})"
    prefix = f"logs/{name}/{s['container']}"
    line = error_line(logs.get(f"{prefix}.previous.log", "")) or error_line(logs.get(f"{prefix}.log", ""))
    line = line or error_line(str(s.get("message") or ""))
    unready = sum(1 for p in pods.values() if not p["ready"]) - (0 if s["ready"] else 1)
    return (
        text + (f": {line}" if line else "") + (f" (+{unready} more pods not ready)" if unready > 0 else "")
    )
