"""Shared by the kubernetes fake's tests: tokens, options, the test programs, clients, polling."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from kubernetes import client
from kubernetes.client import AppsV1Api, BatchV1Api, CoreV1Api
from kubernetes.client.exceptions import ApiException

from tests.fakes.kubernetes import oci
from tests.fakes.kubernetes.schemas import validate

T = TypeVar("T")
TOKENS = {
    "t-admin": "admin",
    "t-argocd": "argocd",
    "t-pathops": "pathops",
    "t-agent": "agent:shop",
    "t-nobody": "nobody",
}
OPTIONS = {
    "backoff_base_s": "0.2",
    "backoff_max_s": "2",
    "probe_scale": "0.1",
    "grace_scale": "0.1",
    "resync_s": "0.2",
    "namespaces": "shop-agents,shop-preflight,shop-production",
    "preloaded_images": "local/*",  # "already present on machine": an empty root, host commands
}
# The HTTP server of the Deployment tests: `python3 -c SERVER PORT`, in the image's working dir /app.
SERVER = """
import http.server, os, sys
port = int(sys.argv[1])
body = (os.environ.get("GREETING", "hello") + " " + open("message.txt").read().strip()).encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        print("served", self.path, flush=True)
print("listening on", port, "with", body.decode(), flush=True)
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""
JOB = """
import os, sys
for i in range(int(sys.argv[1])):
    print("step", i, os.environ.get("TARGET", "?"))
print("done", file=sys.stderr)
"""


@dataclass
class Images:
    host: str

    def ref(self, name: str) -> str:
        return f"{self.host}/{name}"


@dataclass
class Fake:
    url: str
    app: Any

    def client(self, token: str = "t-admin") -> client.ApiClient:
        return client.ApiClient(
            client.Configuration(host=self.url, api_key={"authorization": f"Bearer {token}"})
        )

    def core(self, token: str = "t-admin") -> CoreV1Api:
        return client.CoreV1Api(self.client(token))

    def apps(self, token: str = "t-admin") -> AppsV1Api:
        return client.AppsV1Api(self.client(token))

    def batch(self, token: str = "t-admin") -> BatchV1Api:
        return client.BatchV1Api(self.client(token))


def wait_for(probe: Callable[[], T], what: str, timeout: float = 20.0) -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
        time.sleep(0.05)
        last = probe()
    return last


def raw(fake: Fake, method: str, path: str, token: str = "t-admin", **kw: Any) -> Any:
    """A request by hand, for what the client hides (status bodies, headers)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, fake.url + path, headers=headers, timeout=10, **kw)


def pod_log(core: client.CoreV1Api, name: str, namespace: str, **kw: Any) -> str:
    """The client decodes text/plain logs with str(bytes) (kubernetes 36): read the raw body instead."""
    response = core.read_namespaced_pod_log(name, namespace, _preload_content=False, **kw)
    return str(response.data.decode())


def free_port() -> int:
    return oci.free_port()


def status_of(exc: ApiException) -> dict[str, Any]:
    """The `Status` body of a failed call, checked against the official schema."""
    body: dict[str, Any] = json.loads(exc.body)
    validate(body)
    assert body["code"] == exc.status
    return body


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line holds `marker` (to check that nothing outlives its pod)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def sleeper(name: str, marker: str, **spec: Any) -> client.V1Pod:
    """A pod that runs on the host python (a preloaded image) and sleeps, tagged with `marker`."""
    command = ["python3", "-c", f"import time  # {marker}\nprint('up', flush=True)\ntime.sleep(120)"]
    container = client.V1Container(name="main", image="local/python", command=command)
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels={"marker": marker}),
                        spec=client.V1PodSpec(containers=[container], **spec))  # fmt: skip
