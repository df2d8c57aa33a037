"""The S3 fake over real HTTP, driven by the clients the appliance uses: minio SDK and boto3."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.client import Config
from botocore.exceptions import ClientError
from minio import Minio
from minio.error import S3Error

from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.s3 import build

CONFIG = FakeConfig(
    tokens={"AKCI": "ci", "AKAGENT": "agent"},
    options={
        "secret_key:AKCI": "ci-secret",
        "secret_key:AKAGENT": "agent-secret",
        "buckets:agent": "evidence*",
    },
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with ThreadedServer(build(CONFIG)) as base:
        yield base


def _minio(url: str, access: str = "AKCI", secret: str = "ci-secret") -> Minio:
    return Minio(
        url.removeprefix("http://"), access_key=access, secret_key=secret, secure=False, region="us-east-1"
    )


def _boto(url: str, access: str = "AKCI", secret: str = "ci-secret") -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


def test_minio_sdk_bucket_and_object_lifecycle(url: str) -> None:
    mc = _minio(url)
    mc.make_bucket("evidence")
    assert mc.bucket_exists("evidence")
    for name in ("inc-1/logs.txt", "inc-1/events.json", "inc-2/logs.txt"):
        data = f"content of {name}".encode()
        mc.put_object("evidence", name, io.BytesIO(data), len(data), content_type="text/plain")
    stat = mc.stat_object("evidence", "inc-1/logs.txt")
    assert stat.size == len(b"content of inc-1/logs.txt") and stat.content_type == "text/plain"
    got = mc.get_object("evidence", "inc-1/logs.txt")
    try:
        assert got.read() == b"content of inc-1/logs.txt"
    finally:
        got.close()
        got.release_conn()
    top = [o.object_name for o in mc.list_objects("evidence")]
    assert top == ["inc-1/", "inc-2/"]
    deep = sorted(o.object_name for o in mc.list_objects("evidence", prefix="inc-1/", recursive=True))
    assert deep == ["inc-1/events.json", "inc-1/logs.txt"]
    link = mc.presigned_get_object("evidence", "inc-2/logs.txt", expires=timedelta(minutes=5))
    fetched = httpx.get(link)
    assert fetched.status_code == 200 and fetched.content == b"content of inc-2/logs.txt"
    upload = mc.presigned_put_object("evidence", "inc-3/bundle.tgz", expires=timedelta(minutes=5))
    assert httpx.put(upload, content=b"bundle").status_code == 200
    assert mc.stat_object("evidence", "inc-3/bundle.tgz").size == len(b"bundle")
    mc.remove_object("evidence", "inc-1/events.json")
    assert [o.object_name for o in mc.list_objects("evidence", prefix="inc-1/")] == ["inc-1/logs.txt"]
    with pytest.raises(S3Error) as missing:
        mc.stat_object("evidence", "inc-1/events.json")
    assert missing.value.code in ("NoSuchKey", "ResponseError")

    log = httpx.get(f"{url}/_fake/access-log").json()
    puts = [e for e in log if e["method"] == "PUT" and e["object"] == "evidence/inc-1/logs.txt"]
    assert puts and puts[0]["identity"] == "ci" and puts[0]["outcome"] == 200


def test_boto3_bucket_and_object_lifecycle(url: str) -> None:
    s3 = _boto(url)
    s3.create_bucket(Bucket="patches")
    s3.put_object(Bucket="patches", Key="p-1/diff.patch", Body=b"--- a\n+++ b\n", ContentType="text/x-diff")
    s3.put_object(Bucket="patches", Key="p-2/diff.patch", Body=b"x", Metadata={"incident": "inc-7"})
    head = s3.head_object(Bucket="patches", Key="p-2/diff.patch")
    assert head["ContentLength"] == 1 and head["Metadata"] == {"incident": "inc-7"}
    assert s3.get_object(Bucket="patches", Key="p-1/diff.patch")["Body"].read() == b"--- a\n+++ b\n"
    listed = s3.list_objects_v2(Bucket="patches", Prefix="p-1/")
    assert [o["Key"] for o in listed["Contents"]] == ["p-1/diff.patch"]
    link = s3.generate_presigned_url("get_object", Params={"Bucket": "patches", "Key": "p-2/diff.patch"})
    assert httpx.get(link).content == b"x"
    s3.delete_object(Bucket="patches", Key="p-2/diff.patch")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="patches")["Contents"]] == ["p-1/diff.patch"]
    assert "patches" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_wrong_credentials_are_refused_the_way_s3_refuses_them(url: str) -> None:
    _boto(url).create_bucket(Bucket="guarded")
    with pytest.raises(S3Error) as unknown:
        _minio(url, access="AKNOBODY").list_buckets()
    assert unknown.value.code == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as bad_secret:
        _boto(url, secret="wrong").list_objects_v2(Bucket="guarded")
    assert bad_secret.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert bad_secret.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    anonymous = httpx.get(f"{url}/guarded")
    assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text
    link = _boto(url).generate_presigned_url("get_object", Params={"Bucket": "guarded", "Key": "k"})
    tampered = httpx.get(link.replace("Signature=", "Signature=0"))
    assert tampered.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in tampered.text
    v4_link = _minio(url).presigned_get_object("guarded", "k")
    v4_tampered = httpx.get(v4_link.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
    assert v4_tampered.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in v4_tampered.text
    log = httpx.get(f"{url}/_fake/access-log").json()
    assert any(e["identity"] == "anonymous" and e["outcome"] == 403 for e in log)


def test_an_identity_limited_to_some_buckets_is_denied_the_others(url: str) -> None:
    _boto(url).create_bucket(Bucket="evidence-agent")
    _boto(url).create_bucket(Bucket="private")
    agent = _boto(url, access="AKAGENT", secret="agent-secret")
    agent.put_object(Bucket="evidence-agent", Key="snap.json", Body=b"{}")
    with pytest.raises(ClientError) as denied:
        agent.put_object(Bucket="private", Key="x", Body=b"x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    log = httpx.get(f"{url}/_fake/access-log").json()
    assert {"identity": "agent", "object": "private/x", "outcome": 403}.items() <= log[-1].items()


def test_two_fakes_do_not_share_buckets_and_data_dir_keeps_objects(url: str, tmp_path: Path) -> None:
    _boto(url).create_bucket(Bucket="shared-name")
    config = FakeConfig(data_dir=tmp_path, tokens={"AK": "me"}, options={"secret_key": "sk"})
    with ThreadedServer(build(config)) as other:
        s3 = _boto(other, access="AK", secret="sk")
        assert s3.list_buckets()["Buckets"] == []
        s3.create_bucket(Bucket="shared-name")
        s3.put_object(Bucket="shared-name", Key="a/b.txt", Body=b"kept", ContentType="text/plain")
    with ThreadedServer(build(config)) as again:
        got = _boto(again, access="AK", secret="sk").get_object(Bucket="shared-name", Key="a/b.txt")
        assert got["Body"].read() == b"kept" and got["ContentType"] == "text/plain"
        assert httpx.get(f"{again}/minio/health/live").status_code == 200


def test_injected_faults_reach_the_client(url: str) -> None:
    httpx.post(f"{url}/_fake/faults", json={"kind": "error", "path": "/flaky*", "status": 503, "count": 1})
    with pytest.raises(ClientError) as failed:
        _boto(url).create_bucket(Bucket="flaky")
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    _boto(url).create_bucket(Bucket="flaky")


def test_multipart_uploads_stream_through(url: str) -> None:
    big = bytes(range(256)) * (6 * 1024 * 1024 // 256 + 1)  # a little over 6 MiB: two parts
    mc = _minio(url)
    mc.make_bucket("bundles")
    mc.put_object("bundles", "minio/big.bin", io.BytesIO(big), -1, part_size=5 * 1024 * 1024)
    assert mc.stat_object("bundles", "minio/big.bin").size == len(big)
    s3 = _boto(url)
    s3.upload_fileobj(io.BytesIO(big), "bundles", "boto/big.bin")
    assert s3.get_object(Bucket="bundles", Key="boto/big.bin")["Body"].read() == big
