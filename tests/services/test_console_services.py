"""What the console reads and needs beyond the API's services: bundles from object storage (evidence
snapshots, patches, reports), the demo's users with roles, and the sessions' token check."""

from __future__ import annotations

import io
import json
import re
import tarfile

import pytest

from appliance.agents import bundle
from appliance.bootstrap import Appliance
from appliance.contracts.entities import Role
from appliance.services import access, bundles
from appliance.services.errors import Invalid, NotFound
from appliance.services.tokens import digest
from tests.support.doubles import MemoryObjects


async def test_a_snapshot_is_read_by_its_pointer_with_credentials_redacted() -> None:
    objects = MemoryObjects()
    data = bundle.pack(
        {"schema": bundle.SCHEMA, "summary": "crash", "env": {"API_TOKEN": "tok-123"}},
        {"logs/a.log": b"boom\nAuthorization: Bearer abcdef123456\n", "events.yaml": b"- reason: BackOff\n"},
    )
    await objects.put(bucket="pathops-evidence", key="snapshots/snap-1.tar.gz", data=data)
    snap = await bundles.snapshot(objects, "s3://pathops-evidence/snapshots/snap-1.tar.gz")  # type: ignore[arg-type]
    assert snap.manifest["summary"] == "crash" and snap.manifest["env"]["API_TOKEN"] == "***"
    assert list(snap.files) == ["events.yaml", "logs/a.log"]
    assert "abcdef123456" not in snap.files["logs/a.log"] and snap.files["logs/a.log"].startswith("boom\n")


async def test_patches_and_reports_are_read_by_id_and_their_diff_stays_a_diff() -> None:
    objects = MemoryObjects()
    diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    patch = {"patch_id": "patch-1", "diff": diff, "risk": 5}
    await objects.put(bucket="pathops-patches", key="patches/patch-1.json", data=json.dumps(patch).encode())
    report = {"status": "passed", "checks": []}
    await objects.put(bucket="pathops-reports", key="reports/rep-1.json", data=json.dumps(report).encode())
    assert (await bundles.patch(objects, "patch-1"))["diff"] == diff  # type: ignore[arg-type]
    assert (await bundles.report(objects, "rep-1"))["status"] == "passed"  # type: ignore[arg-type]
    assert (await bundles.document(objects, "s3://pathops-reports/reports/rep-1.json"))["checks"] == []  # type: ignore[arg-type]


@pytest.mark.parametrize("pointer", ["", "http://x/y", "s3://bucket-only", "s3:///key"])
def test_a_pointer_must_name_a_bucket_and_a_key(pointer: str) -> None:
    with pytest.raises(Invalid):
        bundles.parse_pointer(pointer)


async def test_missing_objects_and_missing_storage_say_so() -> None:
    with pytest.raises(NotFound, match=re.escape("no object s3://pathops-patches/patches/patch-9.json")):
        await bundles.patch(MemoryObjects(), "patch-9")  # type: ignore[arg-type]
    with pytest.raises(bundles.Unavailable, match="no object storage configured"):
        await bundles.report(None, "rep-1")


def test_a_bundle_must_be_a_tarball_with_its_manifest_first() -> None:
    with pytest.raises(Invalid, match=re.escape("not a tar.gz bundle")):
        bundles.unpack(b"not a tarball")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("logs/a.log")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(Invalid, match=re.escape("first file is not manifest.json")):
        bundles.unpack(buffer.getvalue())


async def test_demo_users_are_made_once_with_their_role(appliance: Appliance) -> None:
    ctx = appliance.ctx
    token = await access.ensure_user(ctx, name="reviewer", role=Role.REVIEWER)
    assert token is not None
    assert await access.ensure_user(ctx, name="reviewer", role=Role.REVIEWER) is None
    assert await access.known(ctx, digest(token)) == access.Principal(name="reviewer", role=Role.REVIEWER)
    assert await access.known(ctx, digest("pat-unknown")) is None
    owner = await access.ensure_owner(ctx, name="admin")
    assert owner is not None
    assert await access.authenticate(ctx, f"Bearer {owner}", action="t") == access.Principal(
        name="admin", role=Role.OWNER
    )
