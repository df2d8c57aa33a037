"""The embedded target's systems as one child process: `python -m fakes up` on free loopback ports.

    stack = EmbeddedStack(data_dir, control_plane_url="http://127.0.0.1:8765", secrets=secrets)
    endpoints = await stack.start()      # once every fake answers /_fake/health
    ...
    await stack.stop()                   # SIGTERM to its process group, SIGKILL after `grace_s`

The fakes listen on consecutive loopback ports from a base chosen free on the first start and kept
in `<data_dir>/stack.json`, so that what the stack's state names (images pinned to the registry's
host:port, clone URLs, hook URLs) still holds after a restart. The child runs in its own session, with the venv's bin directory first on its PATH (the CI's builds
run `pathops-ci`) and `PATHOPS_CI_CONFIG=<data_dir>/ci.json` (written by the seed). Its output goes
to `<data_dir>/fakes.log`; the state of every fake stays in `<data_dir>/<fake>/` across restarts.

Configured for the project in `project_dir`: the node preloads `local/*` images (the agents' image
runs the host's Python) and creates every `<app>-{agents,preflight,production}` namespace; each
app gets a cluster identity `agent:<app>` and S3 an identity `agent`; Argo CD notifies
`<control plane>/webhooks/argocd` and Alertmanager `<control plane>/webhooks/alertmanager`, each
with the control plane's secret. Secrets reach the child in a 0600 options file, never in argv.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import httpx

from appliance.adapters.embedded.content import SHOP, ProjectSeed
from appliance.adapters.embedded.endpoints import ControlPlaneSecrets, Endpoints, Service
from appliance.ports.errors import PermanentError, TransientError

PORTS = 10  # consecutive ports kept for the fakes (python -m fakes up starts 8)
PORT_RANGE = (20000, 32000)  # below Linux's ephemeral ports, which free-port picks come from


def _write_private(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    partial.replace(path)


class EmbeddedStack:
    def __init__(
        self,
        data_dir: Path,
        *,
        control_plane_url: str,
        secrets: ControlPlaneSecrets,
        project_dir: Path = SHOP,
        options: Mapping[str, str] | None = None,
        start_timeout_s: float = 90.0,
        python: str = sys.executable,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.control_plane_url = control_plane_url.rstrip("/")
        self.secrets = secrets
        self.project = ProjectSeed.read(project_dir)
        self.extra_options = dict(options or {})
        self.start_timeout_s = start_timeout_s
        self.python = python
        self.proc: subprocess.Popen[bytes] | None = None
        self.adopted: int | None = None  # the pid of a stack started earlier and still running
        self.endpoints: Endpoints | None = None
        self._log: IO[bytes] | None = None

    @property
    def fakes_json(self) -> Path:
        return self.data_dir / "fakes.json"

    @property
    def ci_config(self) -> Path:
        return self.data_dir / "ci.json"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "fakes.log"

    def options(self) -> dict[str, str]:
        """Every fake option but the secrets (those go to the options file)."""
        return {
            "kubernetes.preloaded_images": "local/*",
            "kubernetes.namespaces": ",".join(self.project.namespaces()),
            "kubernetes.backoff_base_s": "2",
            "kubernetes.backoff_max_s": "20",
            "kubernetes.resync_s": "0.5",
            "argocd.notify_url": f"{self.control_plane_url}/webhooks/argocd",
            "argocd.period_s": "1",
            # production only: a failing preflight is judged by its own run (which opens the incident);
            # an alert for it as well would open a second incident for the same failure
            "monitor.namespaces": "*-production",
            "monitor.window_s": "60",
            "jenkins.executors": "2",
            "alertmanager.receiver": "pathops",
            "alertmanager.receiver_url": f"{self.control_plane_url}/webhooks/alertmanager",
            "alertmanager.group_by": "alertname,app,env",
            **self.extra_options,
        }

    def _state(self) -> dict[str, object]:
        """<data_dir>/stack.json: the Argo CD webhook secret (GitLab's hooks hold it) and the port base,
        chosen on the first start and kept for the next ones."""
        path = self.data_dir / "stack.json"
        state: dict[str, object] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text())
            state = loaded if isinstance(loaded, dict) else {}
        changed = False
        if not isinstance(state.get("argocd_webhook_secret"), str):
            state["argocd_webhook_secret"], changed = secrets.token_urlsafe(32), True
        base = state.get("port_base")
        if not isinstance(base, int):
            state["port_base"], changed = _free_base(), True
        elif _running(state.get("pid"), self.data_dir):
            pass  # adopted by start(): the stack outlived the appliance that started it
        else:
            taken = _taken(base)
            if taken:
                raise PermanentError(
                    f"port {taken} is taken: the embedded stack of {self.data_dir} uses ports {base}-{base + PORTS - 1}"
                    " (is it running already?)"
                )
        if changed:
            _write_private(path, state)
        return state

    def command(self, port_base: int = 0) -> list[str]:
        argv = [
            self.python,
            "-m",
            "fakes",
            "up",
            "--data-dir",
            str(self.data_dir),
            "--port-base",
            str(port_base),
        ]
        argv += ["--json", str(self.fakes_json), "--options-file", str(self.data_dir / "options.json")]
        for key, value in self.options().items():
            argv += ["--option", f"{key}={value}"]
        for app in self.project.apps:
            argv += ["--identity", f"kubernetes=agent:{app}"]
        return [*argv, "--identity", "s3=agent"]

    async def start(self) -> Endpoints:
        """Start the stack, or adopt the one still running from an earlier start (an appliance that was
        killed leaves its stack running: the restarted one carries on with it, state and all)."""
        if self.proc is not None and self.proc.poll() is None:
            raise PermanentError("the embedded stack is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        state = self._state()
        webhook_secret = str(state["argocd_webhook_secret"])
        pid = state.get("pid")
        if isinstance(pid, int) and _running(pid, self.data_dir):
            self.adopted = pid
            self.endpoints = await self._wait_ready(webhook_secret)
            return self.endpoints
        _write_private(
            self.data_dir / "options.json",
            {
                "argocd.notify_token": self.secrets.argocd,
                "argocd.webhook_secret": webhook_secret,
                "alertmanager.secret": self.secrets.alertmanager,
            },
        )
        self.fakes_json.unlink(missing_ok=True)
        bin_dir = str(Path(self.python).parent)
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PATHOPS_CI_CONFIG": str(self.ci_config),
            "PYTHONUNBUFFERED": "1",
        }
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (open for the child's whole life)
        self.proc = subprocess.Popen(
            self.command(int(str(state["port_base"]))),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
            env=env,
            start_new_session=True,
        )
        atexit.register(self._kill)
        _write_private(self.data_dir / "stack.json", {**state, "pid": self.proc.pid})
        try:
            self.endpoints = await self._wait_ready(webhook_secret)
        except BaseException:
            await self.stop()
            raise
        return self.endpoints

    async def _wait_ready(self, webhook_secret: str) -> Endpoints:
        deadline = time.monotonic() + self.start_timeout_s
        pending = ["fakes.json"]
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise PermanentError(
                        f"the embedded stack exited with {self.proc.returncode}: {self._last_line()}"
                    )
                endpoints = self._endpoints(webhook_secret)
                if endpoints is not None:
                    pending = [s.name for s in endpoints.services() if not await _healthy(client, s)]
                    if not pending:
                        return endpoints
                if time.monotonic() > deadline:
                    raise TransientError(
                        f"the embedded stack did not come up in {self.start_timeout_s:g}s: "
                        f"waiting for {', '.join(pending)} (log: {self.log_path})"
                    )
                await asyncio.sleep(0.1)

    def _endpoints(self, webhook_secret: str) -> Endpoints | None:
        """The child's fakes.json, once it is there and whole."""
        if not self.fakes_json.exists():
            return None
        try:
            return Endpoints.load(
                self.fakes_json, argocd_webhook_secret=webhook_secret, ci_config=str(self.ci_config)
            )
        except PermanentError:  # being written
            return None

    def _last_line(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
            return lines[-1] if lines else "no output"
        return "no output"

    async def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM to the stack's process group; SIGKILL to what is left after `grace_s`."""
        if self.adopted is not None:
            await _stop_group(self.adopted, grace_s)
            self.adopted = None
        proc = self.proc
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            self._kill()
            proc.wait()
            atexit.unregister(self._kill)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.proc = None

    def _kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    async def __aenter__(self) -> Endpoints:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _running(pid: object, data_dir: Path) -> bool:
    """Whether `pid` is a live `python -m fakes up` of this data directory."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"fakes" in argv and b"up" in argv and str(data_dir).encode() in argv


async def _stop_group(pid: int, grace_s: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        await asyncio.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _taken(base: int) -> int | None:
    """The first port of base..base+PORTS-1 that cannot be bound, None when all can."""
    for port in range(base, base + PORTS):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return port
    return None


def _free_base() -> int:
    for _ in range(100):
        base = PORT_RANGE[0] + secrets.randbelow((PORT_RANGE[1] - PORT_RANGE[0]) // PORTS) * PORTS
        if _taken(base) is None:
            return base
    raise TransientError(f"no {PORTS} consecutive free loopback ports in {PORT_RANGE[0]}-{PORT_RANGE[1]}")


async def _healthy(client: httpx.AsyncClient, service: Service) -> bool:
    ready = "/-/ready" if service.kind == "real" else "/_fake/health"
    try:
        response = await client.get(service.url + ready)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
