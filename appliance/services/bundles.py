"""What the agents left in object storage, read back for people: an evidence snapshot (the tar.gz
bundle: `manifest.json` first, then logs, events and object descriptions), a patch bundle (the fix
agent's diff, summary and risk) and a verification report.

Pointers are `s3://<bucket>/<key>` (an evidence row's `pointers["bundle"]`); patches and reports are
found by their content id (`patches/<id>.json` in `pathops-patches`, `reports/<id>.json` in
`pathops-reports`). Texts pass through the same redaction as the evidence agent's, so nothing that
looks like a credential reaches a screen even if a bundle carried one.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

from appliance.logic.redact import redact_object, redact_text
from appliance.ports.errors import PortError
from appliance.ports.objectstore import ObjectStore
from appliance.services.errors import Invalid, NotFound, ServiceError

MANIFEST = "manifest.json"
PATCH_BUCKET = "pathops-patches"
REPORT_BUCKET = "pathops-reports"
MAX_FILES = 200


class Unavailable(ServiceError):
    """Object storage is not configured or does not answer (503)."""

    status = 503


@dataclass(frozen=True)
class Snapshot:
    manifest: dict[str, Any]
    files: dict[str, str]  # path -> text, redacted


def parse_pointer(pointer: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    scheme, _, rest = pointer.partition("://")
    bucket, _, key = rest.partition("/")
    if scheme != "s3" or not bucket or not key:
        raise Invalid(f"not an object pointer (s3://bucket/key): {pointer!r}")
    return bucket, key


async def _get(objects: ObjectStore | None, bucket: str, key: str) -> bytes:
    if objects is None:
        raise Unavailable("no object storage configured (set PATHOPS_S3_URL)")
    try:
        data = await objects.get(bucket=bucket, key=key)
    except PortError as exc:
        raise Unavailable(f"object storage: {exc}") from None
    if data is None:
        raise NotFound(f"no object s3://{bucket}/{key}")
    return data


def unpack(data: bytes) -> Snapshot:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile()][: MAX_FILES + 1]
            raw = {m.name: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise Invalid(f"the snapshot is not a tar.gz bundle: {exc}") from None
    if not members or members[0].name != MANIFEST:
        raise Invalid("the snapshot's first file is not manifest.json")
    manifest = redact_object(json.loads(raw.pop(MANIFEST)))
    files = {path: redact_text(data.decode(errors="replace")) for path, data in sorted(raw.items())}
    return Snapshot(manifest=manifest, files=files)


async def snapshot(objects: ObjectStore | None, pointer: str) -> Snapshot:
    bucket, key = parse_pointer(pointer)
    return unpack(await _get(objects, bucket, key))


async def _document(objects: ObjectStore | None, bucket: str, key: str) -> dict[str, Any]:
    data = await _get(objects, bucket, key)
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise Invalid(f"s3://{bucket}/{key} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Invalid(f"s3://{bucket}/{key} is not a JSON object")
    redacted: dict[str, Any] = redact_object(doc)
    if isinstance(doc.get("diff"), str):  # a diff is text: redact it as text, keep its lines intact
        redacted["diff"] = redact_text(doc["diff"])
    return redacted


async def document(objects: ObjectStore | None, pointer: str) -> dict[str, Any]:
    """A JSON document a pointer names (a patch bundle or a report)."""
    return await _document(objects, *parse_pointer(pointer))


async def patch(objects: ObjectStore | None, patch_id: str) -> dict[str, Any]:
    """The fix agent's patch bundle: diff, base_sha, summary, risk, recommended_checks..."""
    return await _document(objects, PATCH_BUCKET, f"patches/{patch_id}.json")


async def report(objects: ObjectStore | None, report_id: str) -> dict[str, Any]:
    """A verification report: status, summary, checks."""
    return await _document(objects, REPORT_BUCKET, f"reports/{report_id}.json")
