"""Helpers for the GitLab fake tests: the server handle, golden files, a hook receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gitlab

from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.gitlab import build

FIXTURES = Path(__file__).parents[2] / "fixtures" / "gitlab"
TOKENS = {"glpat-ci": "ci", "glpat-owner": "owner", "glpat-viewer": "viewer"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Fake:
    url: str
    data_dir: Path
    server: ThreadedServer

    def client(self, token: str = "glpat-ci") -> gitlab.Gitlab:
        return gitlab.Gitlab(self.url, private_token=token)

    def git_url(self, path: str, token: str = "glpat-ci") -> str:
        return f"{self.url.replace('http://', f'http://oauth2:{token}@')}/{path}.git"


def fast(server: ThreadedServer) -> ThreadedServer:
    """Disable Nagle on the listening socket (accepted sockets inherit it on Linux).

    `fakes.common.server.bind()` makes `socket.socket()` with proto 0, so asyncio does not set
    TCP_NODELAY on accepted connections and every keep-alive response waits ~40 ms for a delayed ACK.
    """
    server.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server


def start(data_dir: Path) -> ThreadedServer:
    return fast(ThreadedServer(build(FakeConfig(data_dir=data_dir, tokens=dict(TOKENS))))).start()


@dataclass
class Received:
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    url: str
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= count:
                    return list(self.got)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} hooks, got {len(self.got)}")

    def events(self, kind: str) -> list[Received]:
        with self.lock:
            return [r for r in self.got if r.headers.get("x-gitlab-event") == kind]
