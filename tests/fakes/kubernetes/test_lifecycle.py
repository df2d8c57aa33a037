"""The fake as a process: shutdown stops every container even with a watch open, state survives a restart
with a data dir, and `python -m fakes.kubernetes` serves the API."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import urllib3
from kubernetes import client, watch

from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.kubernetes import build
from tests.fakes.kubernetes.support import OPTIONS, free_port, processes_with, sleeper, wait_for


def _core(url: str) -> client.CoreV1Api:
    return client.CoreV1Api(
        client.ApiClient(client.Configuration(host=url, api_key={"authorization": "Bearer t"}))
    )


def test_shutdown_stops_containers_and_open_watches(tmp_path: Path) -> None:
    marker = f"shutdown-{time.time_ns()}"
    config = FakeConfig(data_dir=tmp_path, tokens={"t": "admin"}, options={**OPTIONS, "namespaces": "work"})
    server = ThreadedServer(build(config))
    core = _core(server.start().url)
    core.create_namespaced_pod("work", sleeper("sleepy", marker))
    wait_for(lambda: processes_with(marker), "the container to run")
    watched: list[str] = []

    def follow() -> None:
        """No timeoutSeconds: only the server's shutdown ends the stream (the client then reconnects, and fails)."""
        with contextlib.suppress(urllib3.exceptions.HTTPError):
            for event in watch.Watch().stream(core.list_namespaced_pod, "work"):
                watched.append(event["type"])

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    wait_for(lambda: watched, "the watch to start")
    started = time.monotonic()
    server.stop()
    assert not server.thread.is_alive() and time.monotonic() - started < 8
    assert processes_with(marker) == []
    follower.join(timeout=5)

    again = ThreadedServer(build(config))  # the same data dir: the pod is still there, and runs again
    core = _core(again.start().url)
    try:
        pod = core.read_namespaced_pod("sleepy", "work")
        assert pod.metadata.labels == {"marker": marker}
        wait_for(lambda: processes_with(marker), "the container to run again")
        wait_for(
            lambda: core.read_namespaced_pod("sleepy", "work").status.phase == "Running", "Running again"
        )
    finally:
        again.stop()
    assert processes_with(marker) == []
    assert (tmp_path / "access-log.jsonl").read_text().count('"identity": "admin"') >= 3


def test_command_line_serves_the_api_and_stops_its_containers() -> None:
    port, marker = free_port(), f"cli-{time.time_ns()}"
    proc = subprocess.Popen([sys.executable, "-m", "fakes.kubernetes", "--port", str(port), "--token", "t=admin",
                             "--option", "namespaces=cli-made", "--option", "preloaded_images=local/*"])  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/version", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, "the CLI server")
        names = {n.metadata.name for n in _core(url).list_namespace().items}
        assert {"default", "cli-made"} <= names
        _core(url).create_namespaced_pod("cli-made", sleeper("sleepy", marker))
        wait_for(lambda: processes_with(marker), "the container to run")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) in (0, -15)  # uvicorn re-raises SIGTERM once it has shut down
    assert processes_with(marker) == []
