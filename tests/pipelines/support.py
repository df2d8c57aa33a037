"""The world of the pipeline tests: the GitLab, Harbor and S3 fakes, a callback receiver standing in
for the control plane, the CI credentials file, and `Stack.run(job, ...)` running `pathops-ci` for real."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import gitlab
import httpx

from fakes.common.asgi import read_body, send_json

ADMIN = ("admin", "Harbor12345")
GITLAB_TOKENS = {"glpat-ci": "ci", "glpat-seed": "root"}
S3_KEYS = ("AKCI", "Ci-S3cret-Key-77aa")
PROJECT, APP = "shop", "shop-api"
PREFLIGHT_PORT, PRODUCTION_PORT = 18080, 18081
CALLBACK_TOKEN = "cb-secret-token-0123456789"
APP_PY = 'import os\n\nPORT = int(os.environ.get("PORT", "8080"))\n\n\ndef greeting():\n    return "hello"\n'
TEST_PY = (
    "import unittest\n\nimport app\n\n\nclass Greeting(unittest.TestCase):\n"
    "    def test_greeting(self):\n        self.assertEqual(app.greeting(), 'hello')\n"
)
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-api
spec:
  replicas: 1
  selector:
    matchLabels: {app: shop-api}
  template:
    metadata:
      labels: {app: shop-api}
      annotations: {pathops.dev/commit-sha: "${COMMIT_SHA}"}
    spec:
      containers:
        - name: api
          image: ${IMAGE}
          env:
            - {name: PORT, value: "${PORT}"}
"""
SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: shop-api\nspec:\n  ports:\n    - port: ${PORT}\n"
CONTRACT = "openapi: 3.0.3\ninfo: {title: shop-api, version: '1'}\npaths:\n  /health: {get: {responses: {'200': {description: ok}}}}\n"


def project(harbor: str, name: str) -> None:
    """A Harbor project (private), created once."""
    created = httpx.post(f"{harbor}/api/v2.0/projects", json={"project_name": name}, auth=ADMIN)
    assert created.status_code in (201, 409), created.text


def unified_diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


@dataclass
class Receiver:
    """The control plane's /webhooks/jenkins: 202 for a token's first report, 409 after (tokens are single-use)."""

    url: str = ""
    got: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (authorization, body)
    fail_next: int = 0  # answer this many requests with 503 first
    spent: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                status = 503
            else:
                self.got.append((auth, json.loads(body)))
                status = 409 if auth in self.spent else 202
                self.spent.add(auth)
        await send_json(send, status, {"status": status})

    def bodies(self, job: str, **match: str) -> list[dict[str, Any]]:
        with self.lock:
            return [b for _, b in self.got if b.get("job") == job and match.items() <= b.items()]


@dataclass
class Stack:
    gitlab_url: str
    harbor_url: str
    s3_url: str
    receiver: Receiver
    config_path: Path
    home: Path
    source_sha: str = ""

    @property
    def gl(self) -> gitlab.Gitlab:
        return gitlab.Gitlab(self.gitlab_url, private_token="glpat-seed")

    def s3(self) -> Any:
        return boto3.client(
            "s3", endpoint_url=self.s3_url, aws_access_key_id=S3_KEYS[0], aws_secret_access_key=S3_KEYS[1],
            region_name="us-east-1",
        )  # fmt: skip

    def env(self, job: str, key: str, params: dict[str, str], token: str = CALLBACK_TOKEN) -> dict[str, str]:
        env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.home),
            "PATHOPS_CI_CONFIG": str(self.config_path),
            "PATHOPS_CI_CALLBACK_BACKOFF": "0.05",
            "PATHOPS_IDEMPOTENCY_KEY": key,
            "CALLBACK_URL": self.receiver.url,
            "CALLBACK_TOKEN": token,
        }
        for name, value in params.items():  # as Jenkins does: the name, and upper-cased
            env[name] = env[name.upper()] = value
        return env

    def run(
        self, job: str, key: str, token: str = CALLBACK_TOKEN, **params: str
    ) -> subprocess.CompletedProcess[str]:
        """`python -m appliance.pipelines <job>` with the parameters in its environment."""
        return subprocess.run(
            [sys.executable, "-m", "appliance.pipelines", job], env=self.env(job, key, params, token),
            capture_output=True, text=True, timeout=120, cwd=self.home,
        )  # fmt: skip

    def file(self, repo: str, path: str, ref: str = "main") -> str:
        return self.gl.projects.get(repo).files.get(path, ref=ref).decode().decode()

    def commits(self, repo: str, ref: str = "main") -> list[Any]:
        return self.gl.projects.get(repo).commits.list(ref_name=ref, all=True)


def seed(stack: Stack) -> None:
    """The shop project as the seed leaves it: app code with ci/ and deploy/, gitops and meta repos."""
    gl = stack.gl
    group = gl.groups.create({"name": PROJECT, "path": PROJECT})

    def repo(name: str, files: dict[str, str]) -> Any:
        created = gl.projects.create({"name": name, "namespace_id": group.id})
        actions = [{"action": "create", "file_path": p, "content": c} for p, c in files.items()]
        created.commits.create({"branch": "main", "commit_message": "seed", "actions": actions})
        return created

    app = repo(APP, {"app.py": APP_PY, "ci/test_app.py": TEST_PY, "deploy/deployment.yaml": DEPLOYMENT,
                     "deploy/service.yaml": SERVICE, ".env.example": "PORT=8080\n"})  # fmt: skip
    stack.source_sha = app.commits.list(ref_name="main")[0].id
    repo(f"{APP}-gitops", {"preflight/params.yaml": f"port: {PREFLIGHT_PORT}\n",
                           "production/params.yaml": f"port: {PRODUCTION_PORT}\n", "agents/README.md": "agent Jobs\n"})  # fmt: skip
    repo(f"{PROJECT}-meta", {"project.yaml": "name: shop\napps: [{name: shop-api}]\n",
                             f"contracts/{APP}.openapi.yaml": CONTRACT})  # fmt: skip


def patch_bundle(
    stack: Stack, *, incident: str, after: str, base_sha: str | None = None, repo: str = f"{PROJECT}/{APP}"
) -> str:
    """A Fix Agent's patch bundle against app.py, stored as the agent would; its patch id."""
    bundle = {
        "schema": "pathops.patch/v1", "incident_id": incident, "repo": repo,
        "base_sha": base_sha or stack.source_sha, "diff": unified_diff("app.py", APP_PY, after),
        "summary": "greet politely", "slug": "greeting", "rule": "missing-env", "snapshot_id": "snap-" + "1" * 24,
        "recommended_checks": ["python -m unittest discover -s ci"], "risk": 20, "evidence": ["logs/api-0/api.log"],
    }  # fmt: skip
    patch_id = "patch-" + hashlib.sha256(json.dumps(bundle, sort_keys=True).encode()).hexdigest()[:24]
    bundle["patch_id"] = patch_id
    stack.s3().put_object(
        Bucket="pathops-patches", Key=f"patches/{patch_id}.json", Body=json.dumps(bundle).encode()
    )
    return patch_id
