"""Moto's S3 in a child process, and a snapshot of its buckets for `data_dir`.

One child per fake: moto keeps its backends in module globals and S3 bucket names are global
across its accounts, so two fakes in one process would share (and collide on) buckets.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
CHILD = Path(__file__).with_name("_moto_child.py")


class MotoProcess:
    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        if self._proc is not None:
            return self.url
        proc = subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            proc.kill()
            proc.wait()
            raise RuntimeError(f"moto's S3 server did not start (said {line!r})")
        self._proc, self.url = proc, f"http://127.0.0.1:{line}"
        log.info("moto S3 backend pid %s at %s", proc.pid, self.url)
        return self.url

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()  # the child exits at EOF
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _client(url: str) -> Any:
    import boto3  # moto's own dependency; only needed for snapshots

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="snapshot",
        aws_secret_access_key="snapshot",
    )


def save_snapshot(url: str, directory: Path) -> None:
    """Write every bucket's current objects (body, content type, user metadata) to `directory`."""
    s3 = _client(url)
    staging = directory.with_name(directory.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "objects").mkdir(parents=True)
    buckets: list[dict[str, Any]] = []
    n = 0
    for bucket in s3.list_buckets().get("Buckets", []):
        objects = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for item in page.get("Contents", []):
                got = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])
                n += 1
                (staging / "objects" / f"{n:08d}").write_bytes(got["Body"].read())
                objects.append(
                    {
                        "key": item["Key"],
                        "file": f"{n:08d}",
                        "content_type": got.get("ContentType", "binary/octet-stream"),
                        "metadata": got.get("Metadata", {}),
                    }
                )
        buckets.append({"name": bucket["Name"], "objects": objects})
    (staging / "buckets.json").write_text(json.dumps(buckets, indent=1))
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)


def load_snapshot(url: str, directory: Path) -> None:
    index = directory / "buckets.json"
    if not index.exists():
        return
    s3 = _client(url)
    for bucket in json.loads(index.read_text()):
        s3.create_bucket(Bucket=bucket["name"])
        for obj in bucket["objects"]:
            s3.put_object(
                Bucket=bucket["name"],
                Key=obj["key"],
                Body=(directory / "objects" / obj["file"]).read_bytes(),
                ContentType=obj["content_type"],
                Metadata=obj["metadata"],
            )
