"""The real Alertmanager (Debian's `prometheus-alertmanager`, 0.25) as a subprocess, or else the fake.

    with start_alertmanager(receiver_url=url, secret="s", group_by=("alertname", "service")) as am:
        httpx.post(f"{am.url}/api/v2/alerts", json=[...])

`kind="auto"` runs the real one when its binary is installed and the fake otherwise; `"real"`
insists (AlertmanagerMissing says how to install it); `"fake"` always serves the fake. The real
one gets the same alertmanager.yml the fake describes (settings.to_yaml), a temporary
`--storage.path`, a free loopback port and `--cluster.listen-address=` (no clustering), and is
stopped (SIGTERM, then SIGKILL) with `.stop()`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from fakes.alertmanager import build
from fakes.alertmanager.settings import from_options, to_yaml
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer, bind

BINARY = Path("/usr/bin/prometheus-alertmanager")
APT_PACKAGE = "prometheus-alertmanager"


class AlertmanagerMissing(RuntimeError):
    pass


@dataclass
class Running:
    url: str
    kind: str  # "real" or "fake"
    _stop: Callable[[], None]

    def stop(self) -> None:
        self._stop()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RealAlertmanager:
    def __init__(self, config_yaml: str, *, binary: Path = BINARY) -> None:
        if not binary.exists():
            raise AlertmanagerMissing(
                f"{binary} is not installed: `apt-get install {APT_PACKAGE}` (Debian/Ubuntu) provides it"
            )
        self.binary, self.config_yaml = binary, config_yaml
        self.dir = Path(tempfile.mkdtemp(prefix="alertmanager-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, *, timeout: float = 20.0, attempts: int = 3, port: int = 0) -> RealAlertmanager:
        """Serve on `port` (0: a free one; a taken `port` is given up for free ones)."""
        (self.dir / "alertmanager.yml").write_text(self.config_yaml)
        for _ in range(attempts):  # a free port may be taken before the process binds it
            if not port:
                with bind() as sock:
                    port = sock.getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            if self._launch(port, timeout):
                return self
            port = 0
        self.stop()
        raise RuntimeError(f"Alertmanager did not become ready:\n{self.output()[-2000:]}")

    def _launch(self, port: int, timeout: float) -> bool:
        log = (self.dir / "alertmanager.log").open("ab")
        self.proc = subprocess.Popen(
            [str(self.binary), f"--config.file={self.dir / 'alertmanager.yml'}",
             f"--storage.path={self.dir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
             f"--web.external-url={self.url}", "--cluster.listen-address=", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=0.5).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self._terminate()
        return False

    def output(self) -> str:
        path = self.dir / "alertmanager.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_alertmanager(
    *,
    receiver_url: str,
    secret: str = "",
    group_by: tuple[str, ...] = ("alertname",),
    group_wait: float = 0.5,
    group_interval: float = 1.0,
    repeat_interval: float = 3600.0,
    resolve_timeout: float = 300.0,
    receiver: str = "webhook",
    send_resolved: bool = True,
    kind: str = "auto",
    binary: Path = BINARY,
) -> Running:
    if kind not in ("auto", "real", "fake"):
        raise ValueError(f"kind is auto, real or fake, not {kind!r}")
    options = {
        "receiver_url": receiver_url, "secret": secret, "receiver": receiver, "group_by": ",".join(group_by),
        "group_wait": str(group_wait), "group_interval": str(group_interval),
        "repeat_interval": str(repeat_interval), "resolve_timeout": str(resolve_timeout),
        "send_resolved": str(send_resolved).lower(),
    }  # fmt: skip
    if kind == "real" or (kind == "auto" and binary.exists()):
        real = RealAlertmanager(to_yaml(from_options(options)), binary=binary).start()
        return Running(real.url, "real", real.stop)
    server = ThreadedServer(build(FakeConfig(options=options))).start()
    return Running(server.url, "fake", server.stop)
