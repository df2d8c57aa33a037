"""The Fix Agent as a subprocess: the session's evidence snapshot (KeyError: 'SHOP_DB_URL') against a
source checkout in a temp git repository; the patch must `git apply` on the base commit."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.agents import bundle
from appliance.agents.source import unified_diff
from fakes.common.asgi import read_body, send_json
from fakes.common.server import ThreadedServer
from tests.agents.conftest import Collected, ControlPlane, World, run_agent

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-api
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: shop-api
    spec:
      containers:
        - name: api
          image: ${IMAGE}
          env:
            - name: LOG_LEVEL
              value: info
          resources:
            limits:
              memory: 256Mi
"""
MAIN = 'import os\n\nDB_URL = os.environ["SHOP_DB_URL"]\n'


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def checkout(root: Path, files: dict[str, str]) -> str:
    """A repository holding `files`, committed; its commit SHA."""
    root.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-q", "-m", "base")
    return git(root, "rev-parse", "HEAD")


def base_files(**extra: str) -> dict[str, str]:
    return {
        "deploy/deployment.yaml": DEPLOYMENT,
        "app/main.py": MAIN,
        "requirements.txt": "flask==3.0.0\n",
        **extra,
    }


def snapshot_id(collected: Collected) -> str:
    return str(collected.calls[0].body["snapshot_id"])


def patch_of(world: World, patch_id: str) -> dict[str, Any]:
    data = world.get_object("pathops-patches", f"patches/{patch_id}.json")
    assert data is not None
    patch: dict[str, Any] = json.loads(data)
    body = {k: v for k, v in patch.items() if k != "patch_id"}
    assert bundle.content_id("patch", bundle.canonical(body)) == patch_id
    return patch


def test_a_missing_env_var_becomes_a_patch_that_git_applies(
    world: World, collected: Collected, control: ControlPlane, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    example = "# documented configuration\nSHOP_DB_URL=postgres://shop@db:5432/shop\nLOG_LEVEL=info\n"
    sha = checkout(src, base_files(**{".env.example": example}))
    env = world.env(SNAPSHOT_ID=snapshot_id(collected), COMMIT_SHA=sha, PROJECT="shop")
    result = run_agent("fix", env, cwd=src)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""

    [call] = control.calls
    assert call.path == "/api/fix/callback" and call.authorization == "Bearer cb-token-1"
    assert re.fullmatch(r"patch-[0-9a-f]{24}", call.body["patch_id"]) and call.body["incident_id"] == "inc-1"
    assert "SHOP_DB_URL" in call.body["summary"] and call.body["recommended_checks"]
    assert call.body["slug"] == "add-env-shop-db-url"  # the MR branch's name
    patch = patch_of(world, call.body["patch_id"])
    assert patch["schema"] == "pathops.patch/v1" and patch["snapshot_id"] == snapshot_id(collected)
    assert (patch["repo"], patch["base_sha"], patch["rule"]) == ("shop/shop-api", sha, "missing-env")
    assert patch["slug"] == "add-env-shop-db-url" and patch["risk"] == 20
    assert patch["risk"] == call.body["risk"] and patch["summary"] == call.body["summary"]
    assert any(p.endswith("api.previous.log") for p in patch["evidence"])
    added = [
        line for line in patch["diff"].splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    assert added == [
        "+            - name: SHOP_DB_URL",
        '+              value: "postgres://shop@db:5432/shop"',
    ]
    assert patch["diff"].startswith("diff --git a/deploy/deployment.yaml b/deploy/deployment.yaml\n")

    applied = subprocess.run(
        ["git", "apply", "-"], cwd=src, input=patch["diff"], text=True, capture_output=True
    )
    assert applied.returncode == 0, applied.stderr
    manifest = yaml.safe_load((src / "deploy/deployment.yaml").read_text())
    env_list = manifest["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env_list == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "SHOP_DB_URL", "value": "postgres://shop@db:5432/shop"},
    ]
    assert git(src, "diff", "--stat").endswith("1 file changed, 2 insertions(+)")


def test_the_commit_can_come_from_the_image_and_the_value_from_the_code(
    world: World, collected: Collected, control: ControlPlane, tmp_path: Path
) -> None:
    settings = 'import os\n\nDEFAULT_DB = os.getenv("SHOP_DB_URL", "sqlite:///shop.db")\n'
    sha = checkout(tmp_path / "src", base_files(**{"app/settings.py": settings}))
    (tmp_path / "src" / ".pathops-commit").write_text(sha + "\n")
    env = world.env(SNAPSHOT_ID=snapshot_id(collected), SOURCE_DIR=str(tmp_path / "src"))
    result = run_agent("fix", env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    patch = patch_of(world, control.calls[0].body["patch_id"])
    assert patch["base_sha"] == sha and patch["repo"] == "shop-api"
    assert '+              value: "sqlite:///shop.db"' in patch["diff"].splitlines()
    assert "value from app/settings.py" in patch["summary"]


def test_a_scans_advisories_become_a_dependency_bump_even_beside_a_crash(
    world: World, control: ControlPlane, tmp_path: Path
) -> None:
    """The evidence of a security incident: the namespace crash-loops (KeyError: 'SHOP_DB_URL'), but the
    advisories are why the incident opened, so the fix is the bump."""
    src = tmp_path / "src"
    sha = checkout(src, base_files(**{"requirements.txt": "flask==0.12  # web\nrequests==2.31.0\n"}))
    advisory = {"id": "CVE-2018-1000656", "package": "flask", "version": "0.12", "fixed": "0.12.3",
                "severity": "High"}  # fmt: skip
    collected = run_agent("evidence", world.env(INCIDENT_ID="inc-bump", COMMIT_SHA=sha,
                                                ADVISORIES=json.dumps([advisory])))  # fmt: skip
    assert collected.returncode == 0, collected.stderr
    snapshot = str(control.calls[0].body["snapshot_id"])
    control.reset()
    result = run_agent("fix", world.env(INCIDENT_ID="inc-bump", SNAPSHOT_ID=snapshot, COMMIT_SHA=sha,
                                        PROJECT="shop"), cwd=src)  # fmt: skip
    assert result.returncode == 0, result.stderr
    [call] = control.calls
    assert call.body["slug"] == "bump-flask"
    assert call.body["summary"] == "vulnerable dependency: flask 0.12 -> 0.12.3 (CVE-2018-1000656)"
    patch = patch_of(world, call.body["patch_id"])
    assert (patch["rule"], patch["base_sha"]) == ("vulnerable-dependency", sha)
    applied = subprocess.run(
        ["git", "apply", "-"], cwd=src, input=patch["diff"], text=True, capture_output=True
    )
    assert applied.returncode == 0, applied.stderr
    assert (src / "requirements.txt").read_text() == "flask==0.12.3  # web\nrequests==2.31.0\n"


def test_no_rule_and_no_llm_is_reported_as_no_fix(
    world: World, collected: Collected, control: ControlPlane, tmp_path: Path
) -> None:
    """The agent did its work and found nothing: it says so (the incident stalls with the reason) and
    exits 0, so the Job is not retried for an answer that cannot change."""
    sha = checkout(tmp_path / "src", base_files())
    result = run_agent(
        "fix", world.env(SNAPSHOT_ID=snapshot_id(collected), COMMIT_SHA=sha), cwd=tmp_path / "src"
    )
    assert result.returncode == 0, result.stderr
    [call] = control.calls
    assert call.path == "/api/fix/callback" and call.body["status"] == "no_fix"
    assert call.body["reason"].startswith("no diagnosis: no rule matched ") and not call.body["patch_id"]
    assert "no LLM is configured" in call.body["reason"]
    control.reset()

    result = run_agent(
        "fix", world.env(SNAPSHOT_ID="snap-000000000000000000000000", COMMIT_SHA=sha), cwd=tmp_path
    )
    assert result.returncode == 1
    assert (
        result.stderr == "fix: snapshot snap-000000000000000000000000 not found in bucket pathops-evidence\n"
    )


class ChatServer:
    """An OpenAI-compatible chat-completions endpoint answering the queued texts."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.prompts: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_body(receive) or b"{}")
        self.prompts.append(next(m["content"] for m in body["messages"] if m["role"] == "user"))
        message = {"role": "assistant", "content": self.answers.pop(0)}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        await send_json(
            send, 200, {"id": "c1", "object": "chat.completion", "model": body["model"], "choices": [choice]}
        )


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[str, ChatServer]]:
    server = ChatServer()
    with ThreadedServer(server) as url:
        yield url, server


def test_the_llm_diff_is_used_when_it_applies_and_refused_when_not(
    world: World, collected: Collected, control: ControlPlane, tmp_path: Path, chat: tuple[str, ChatServer]
) -> None:
    url, server = chat
    files = base_files()
    sha = checkout(tmp_path / "src", files)
    fixed = DEPLOYMENT.replace("              value: info\n", '              value: info\n            - name: SHOP_DB_URL\n              value: "postgres://db/shop"\n')  # fmt: skip
    diff = unified_diff(files, {"deploy/deployment.yaml": fixed})
    llm = {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-llm-secret", "OPENAI_MODEL": "m1"}
    env = world.env(SNAPSHOT_ID=snapshot_id(collected), COMMIT_SHA=sha, **llm)

    server.answers.append(f"SUMMARY: set SHOP_DB_URL for the api container\n\n```diff\n{diff}```\n")
    result = run_agent("fix", env, cwd=tmp_path / "src")
    assert result.returncode == 0, result.stderr
    patch = patch_of(world, control.calls[0].body["patch_id"])
    assert (patch["rule"], patch["diff"], patch["summary"]) == (
        "llm",
        diff,
        "set SHOP_DB_URL for the api container",
    )
    assert patch["risk"] >= 50 and patch["slug"] == "set-shop-db-url-for-the-api-container"
    assert (
        "KeyError: 'SHOP_DB_URL'" in server.prompts[0] and "=== deploy/deployment.yaml" in server.prompts[0]
    )

    control.reset()
    server.answers.append(
        "SUMMARY: nonsense\n```diff\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-a\n+b\n```"
    )
    result = run_agent("fix", env, cwd=tmp_path / "src")
    assert result.returncode == 0, result.stderr
    [call] = control.calls
    assert call.body["status"] == "no_fix"
    assert call.body["reason"].startswith("no diagnosis: no rule matched and the LLM's diff does not apply: ")
    assert "sk-llm-secret" not in result.stderr + result.stdout + json.dumps(call.body)
