"""The S3 / MinIO fake: moto's S3 behind a SigV4-checking, access-logging ASGI front.

What was chosen, and why:

- **S3 itself is moto's** (server mode, `create_backend_app("s3")`), a well-kept implementation of
  buckets, objects, listings (prefix, delimiter, v1/v2), multipart uploads, copy, tagging and
  versioning. Writing S3 again would be a worse copy.
- **One moto child process per fake** (`fakes/s3/_moto_child.py`, Werkzeug's threaded server on a
  free loopback port), reached over HTTP with streaming in both directions. Not in-process through
  a WSGI-to-ASGI bridge: moto keeps its backends in module globals and S3 bucket names are global
  across moto accounts, so two fakes in one process (two users' stacks) would share buckets. The
  child exits when its stdin closes, so it never outlives its fake.
- **Authentication is ours**, in the ASGI front, because moto's own (`INITIAL_NO_AUTH_ACTION_COUNT`
  with IAM users) is process-global and cannot take chosen access keys. Every request must carry a
  valid AWS signature, V4 or V2 (boto3 still presigns with V2 by default), in the `Authorization`
  header or presigned in the query (`signing.py`); otherwise S3's answers: 403 `InvalidAccessKeyId`, `SignatureDoesNotMatch`,
  `RequestTimeTooSkewed`, `AccessDenied` ("Request has expired", anonymous requests), 400
  `AuthorizationHeaderMalformed` (wrong region). Path-style addressing only, region `us-east-1`
  (option `region`).
- **State**: in moto's memory. moto offers no persistence, so with `data_dir` set the fake takes a
  snapshot of every bucket's current objects (body, content type, user metadata) to
  `data_dir/s3-snapshot/` at a clean shutdown and loads it at startup. Versions, tags, policies and
  multipart uploads in flight are not kept, nor anything after a crash.

Configuration (`FakeConfig`):

    tokens                 access key -> identity (default: MinIO's `minioadmin` -> "minioadmin")
    options["secret_key:<access key>"]   that key's secret; else options["secret_key"]
                                         (default for minioadmin: "minioadmin")
    options["buckets:<identity>"]        comma-separated bucket globs the identity may touch
                                         (default: every bucket); others -> 403 AccessDenied
    options["region"]                    default "us-east-1"

The access log records identity, method, path and `bucket/key`. MinIO's `/minio/health/live` and
`/minio/health/ready` answer 200 without credentials.
"""

from __future__ import annotations

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import FakeApp
from fakes.common.config import FakeConfig
from fakes.common.faults import Faults
from fakes.s3.app import Key, S3App

DEFAULT_KEY = "minioadmin"


def keys_from(config: FakeConfig) -> dict[str, Key]:
    tokens = config.tokens or {DEFAULT_KEY: DEFAULT_KEY}
    keys = {}
    for access_key, identity in tokens.items():
        secret = config.options.get(f"secret_key:{access_key}", config.options.get("secret_key"))
        if secret is None and access_key == DEFAULT_KEY:
            secret = DEFAULT_KEY
        if secret is None:
            raise ValueError(
                f"no secret for access key {access_key!r}: set options['secret_key:{access_key}']"
            )
        grants = config.options.get(f"buckets:{identity}")
        buckets = tuple(p.strip() for p in grants.split(",") if p.strip()) if grants is not None else None
        keys[access_key] = Key(identity=identity, secret=secret, buckets=buckets)
    return keys


def build(config: FakeConfig) -> FakeApp:
    log = AccessLog(config.data_dir / "access-log.jsonl" if config.data_dir is not None else None)
    app = S3App(
        keys_from(config), region=config.options.get("region", "us-east-1"), log=log, data_dir=config.data_dir
    )
    return FakeApp("s3", app, faults=Faults(), log=log)
