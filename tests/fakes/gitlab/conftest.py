"""A live GitLab fake per test (real HTTP on a loopback port), python-gitlab, git, a hook receiver."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import pytest

from fakes.common.asgi import read_body, send_json
from fakes.common.server import ThreadedServer
from tests.fakes.gitlab.support import Fake, Received, Receiver, fast, start


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Fake]:
    server = start(tmp_path / "gitlab")
    yield Fake(server.url, tmp_path / "gitlab", server)
    server.stop()


@pytest.fixture
def gl(fake: Fake) -> gitlab.Gitlab:
    return fake.client()


@pytest.fixture
def project(gl: gitlab.Gitlab) -> Any:
    group = gl.groups.create({"name": "shop", "path": "shop"})
    return gl.projects.create({"name": "shop-api", "namespace_id": group.id, "initialize_with_readme": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A tiny ASGI app on its own port that records the hooks it gets."""
    box: list[Receiver] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with box[0].lock:
            box[0].got.append(Received(headers, json.loads(body)))
        await send_json(send, 200, {"ok": True})

    with fast(ThreadedServer(app)) as url:
        box.append(Receiver(f"{url}/webhooks/gitlab"))
        yield box[0]


@pytest.fixture
def git(tmp_path: Path) -> Any:
    """Run git as a developer would: a temp HOME with user.name/email, never prompting."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": os.environ["PATH"],
    }

    def run(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30)
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
        return done

    run("config", "--global", "user.name", "Dev Eloper")
    run("config", "--global", "user.email", "dev@example.com")
    run("config", "--global", "init.defaultBranch", "main")
    return run
