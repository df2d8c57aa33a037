from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jenkins
import pytest

from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.jenkins import build

TOKENS = {"ci-token": "ci", "viewer-token": "viewer"}
JOBS = """
build-fix-agent:
  description: builds the fix agent image
  parameters:
    - app
    - {name: snapshot_id, default: none}
    - {name: dry_run, type: boolean, default: false}
    - PATHOPS_IDEMPOTENCY_KEY
  command: [sh, -c, 'echo "app=$app snapshot=$snapshot_id dry=$DRY_RUN build=$BUILD_NUMBER job=$JOB_NAME"; echo "url=$BUILD_URL"; echo "fault=$PATHOPS_CALLBACK_FAULT"; pwd']
failing:
  parameters: [PATHOPS_IDEMPOTENCY_KEY]
  command: [sh, -c, 'echo about to fail; echo "no such image" >&2; exit 3']
slow:
  command: [sh, -c, 'echo started; sleep 30; echo never']
timing-out:
  timeout: 0.5
  command: [sh, -c, 'echo waiting; sleep 30']
"""


@pytest.fixture
def jobs_file(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.yaml"
    path.write_text(JOBS)
    return path


def config(jobs_file: Path, **options: str) -> FakeConfig:
    return FakeConfig(tokens=TOKENS, options={"jobs": str(jobs_file), **options})


@pytest.fixture
def url(jobs_file: Path) -> Iterator[str]:
    with ThreadedServer(build(config(jobs_file))) as base:
        yield base


@pytest.fixture
def server(url: str) -> jenkins.Jenkins:
    return jenkins.Jenkins(url, username="ci", password="ci-token", timeout=10)


def wait_for(probe: Any, *, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {probe}")


def run_to_end(server: jenkins.Jenkins, job: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    """The python-jenkins flow: build_job, poll the queue item, poll the build until it has a result."""
    queue_id = server.build_job(job, params)
    number = wait_for(lambda: (server.get_queue_item(queue_id).get("executable") or {}).get("number"))
    return wait_for(lambda: (info := server.get_build_info(job, number))["result"] and info)
