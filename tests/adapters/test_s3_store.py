"""The S3 adapter over real HTTP against the S3 fake (moto behind SigV4 checks), as MinIO would answer."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest

from appliance.adapters.s3.store import S3ObjectStore
from appliance.ports.errors import PermanentError, TransientError
from appliance.ports.objectstore import ObjectInfo, ObjectStore
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.s3 import build
from tests.support.world import free_port

SECRET = "Pathops-S3cret-Key-9f8e7d"
AGENT_SECRET = "Agent-S3cret-Key-1a2b3c"
CONFIG = FakeConfig(
    tokens={"AKPATHOPS": "pathops", "AKAGENT": "agent"},
    options={
        "secret_key:AKPATHOPS": SECRET,
        "secret_key:AKAGENT": AGENT_SECRET,
        "buckets:agent": "evidence*",
    },
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with ThreadedServer(build(CONFIG)) as base:
        yield base


@pytest.fixture
async def store(url: str) -> AsyncIterator[S3ObjectStore]:
    s3 = S3ObjectStore(url=url, access_key="AKPATHOPS", secret_key=SECRET, timeout=5)
    yield s3
    await s3.aclose()
    httpx.delete(f"{url}/_fake/faults")


def _as_port(store: S3ObjectStore) -> ObjectStore:
    return store  # mypy checks that the adapter implements the port


async def test_an_evidence_bundle_round_trip(store: S3ObjectStore, url: str) -> None:
    s3 = _as_port(store)
    bundle = b"\x1f\x8b evidence tarball" * 100
    key = f"evidence/{hashlib.sha256(bundle).hexdigest()}.tar.gz"
    assert await s3.ensure_bucket(bucket="evidence") is True
    assert await s3.ensure_bucket(bucket="evidence") is False

    stored = await s3.put(
        bucket="evidence",
        key=key,
        data=bundle,
        content_type="application/gzip",
        metadata={"Incident": "inc-7", "snapshot": "snap-1"},
    )
    assert stored.key == key and stored.size == len(bundle) and stored.etag
    assert await s3.get(bucket="evidence", key=key) == bundle

    stat = await s3.stat(bucket="evidence", key=key)
    assert stat is not None
    assert (stat.size, stat.etag, stat.content_type) == (len(bundle), stored.etag, "application/gzip")
    assert stat.metadata == {"incident": "inc-7", "snapshot": "snap-1"}
    assert stat.last_modified is not None

    link = await s3.presigned_get(bucket="evidence", key=key, expires=timedelta(minutes=5))
    assert "X-Amz-Signature=" in link and SECRET not in link
    fetched = httpx.get(link)
    assert fetched.status_code == 200 and fetched.content == bundle

    log = httpx.get(f"{url}/_fake/access-log").json()
    assert any(e["identity"] == "pathops" and e["object"] == f"evidence/{key}" for e in log)


async def test_listing_by_prefix_recursive_or_by_directory(store: S3ObjectStore) -> None:
    await store.ensure_bucket(bucket="patches")
    for key in ("patches/p-2/diff.patch", "patches/p-1/diff.patch", "patches/p-1/summary.json", "other"):
        await store.put(bucket="patches", key=key, data=key.encode())

    deep = await store.list(bucket="patches", prefix="patches/")
    assert [(o.key, o.size) for o in deep] == [
        ("patches/p-1/diff.patch", len(b"patches/p-1/diff.patch")),
        ("patches/p-1/summary.json", len(b"patches/p-1/summary.json")),
        ("patches/p-2/diff.patch", len(b"patches/p-2/diff.patch")),
    ]
    assert all(o.etag and not o.is_prefix for o in deep)
    top = await store.list(bucket="patches", prefix="patches/", recursive=False)
    assert top == [
        ObjectInfo(key="patches/p-1/", size=0, is_prefix=True),
        ObjectInfo(key="patches/p-2/", size=0, is_prefix=True),
    ]
    assert [o.key for o in await store.list(bucket="patches")][-1] == "patches/p-2/diff.patch"
    assert await store.list(bucket="patches", prefix="nothing/") == []


async def test_delete_is_idempotent_and_absence_is_none(store: S3ObjectStore) -> None:
    await store.ensure_bucket(bucket="scratch")
    await store.put(bucket="scratch", key="a.txt", data=b"a", content_type="text/plain")
    await store.delete(bucket="scratch", key="a.txt")
    await store.delete(bucket="scratch", key="a.txt")
    assert await store.get(bucket="scratch", key="a.txt") is None
    assert await store.stat(bucket="scratch", key="a.txt") is None
    assert await store.list(bucket="scratch") == []


async def test_a_missing_bucket_is_permanent(store: S3ObjectStore) -> None:
    with pytest.raises(PermanentError, match="NoSuchBucket"):
        await store.get(bucket="no-such-bucket", key="k")
    with pytest.raises(PermanentError, match="NoSuchBucket"):
        await store.stat(bucket="no-such-bucket", key="k")
    with pytest.raises(PermanentError, match="NoSuchBucket"):
        await store.list(bucket="no-such-bucket")
    with pytest.raises(PermanentError, match="NoSuchBucket"):
        await store.put(bucket="no-such-bucket", key="k", data=b"x")


@pytest.mark.parametrize(
    ("access_key", "secret", "code"),
    [
        ("AKNOBODY", SECRET, "InvalidAccessKeyId"),
        ("AKPATHOPS", "Wrong-S3cret-Key-000", "SignatureDoesNotMatch"),
    ],
)
async def test_wrong_credentials_are_permanent_and_never_leak_the_secret(
    url: str, access_key: str, secret: str, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s3 = S3ObjectStore(url=url, access_key=access_key, secret_key=secret, timeout=5)
    with pytest.raises(PermanentError, match=f"put evidence/k: S3 answered 403 {code}") as refused:
        await s3.put(bucket="evidence", key="k", data=b"x")
    messages = [str(refused.value)]
    for call in (  # HEAD answers carry no error body: those read as 403 AccessDenied
        s3.ensure_bucket(bucket="evidence"),
        s3.get(bucket="evidence", key="k"),
        s3.stat(bucket="evidence", key="k"),
        s3.list(bucket="evidence"),
        s3.delete(bucket="evidence", key="k"),
    ):
        with pytest.raises(PermanentError, match="403") as refused:
            await call
        messages.append(str(refused.value))
    await s3.aclose()
    assert all(secret not in m for m in messages)
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_an_identity_without_the_bucket_is_denied(store: S3ObjectStore, url: str) -> None:
    await store.ensure_bucket(bucket="private")
    agent = S3ObjectStore(url=url, access_key="AKAGENT", secret_key=AGENT_SECRET, timeout=5)
    await agent.ensure_bucket(bucket="evidence-agent")
    await agent.put(bucket="evidence-agent", key="snap.json", data=b"{}")
    with pytest.raises(PermanentError, match="AccessDenied") as denied:
        await agent.put(bucket="private", key="x", data=b"x")
    await agent.aclose()
    assert AGENT_SECRET not in str(denied.value)


async def test_a_failing_server_is_transient_and_short_outages_are_retried(
    store: S3ObjectStore, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await store.ensure_bucket(bucket="flaky")
    fault = {"kind": "error", "path": "/flaky/*", "status": 503}
    assert httpx.post(f"{url}/_fake/faults", json={**fault, "count": 1}).status_code == 201
    await store.put(bucket="flaky", key="once", data=b"1")  # one 503, retried by the HTTP client

    assert httpx.post(f"{url}/_fake/faults", json={**fault, "count": 10}).status_code == 201
    with pytest.raises(TransientError, match="503") as failed:
        await store.get(bucket="flaky", key="once")
    assert failed.value.system == "s3" and SECRET not in str(failed.value)
    httpx.delete(f"{url}/_fake/faults")
    assert await store.get(bucket="flaky", key="once") == b"1"
    assert all(SECRET not in r.getMessage() for r in caplog.records)


async def test_an_unreachable_server_is_transient() -> None:
    s3 = S3ObjectStore(url=f"http://127.0.0.1:{free_port()}", access_key="AK", secret_key=SECRET, timeout=2)
    with pytest.raises(TransientError, match="get bundles/k") as failed:
        await s3.get(bucket="bundles", key="k")
    await s3.aclose()
    assert SECRET not in str(failed.value)
