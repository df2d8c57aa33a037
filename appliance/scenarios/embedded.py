"""The embedded target of a scenario: its own `pathops demo` (the fakes, the seed, the appliance) in a
directory of its own, on ports of its own, so scenarios run side by side without meeting.

The demo runs as a child process, so a scenario can SIGKILL it and start it again (the stack outlives
it and the new demo adopts it, as after a real crash). A crash point (`PATHOPS_CRASHPOINT`) makes the
demo kill itself at the n-th hit of a point; `supervise()` restarts a demo that died.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

SEEDED = re.compile(r"^  \S+: (seeded|already seeded)", re.MULTILINE)


class TargetError(RuntimeError):
    """The target could not be brought up or reached: no scenario can run on it."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedTarget:
    name = "embedded"
    outlives = False  # True: the appliance runs on after the scenario, which must undo its setup

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        startup_s: float = 300.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir, self.port = data_dir, port or _free_port()
        self.env = env or {}  # more of the appliance's environment (PATHOPS_* settings)
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_s = startup_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    # -- the demo process

    def start(self, crashpoint: str = "") -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        env = os.environ | {"PATHOPS_CRASHPOINT": crashpoint, "PATHOPS_RECONCILE_S": "2",
                            "PATHOPS_LOG_LEVEL": "WARNING"} | self.env  # fmt: skip
        cmd = [sys.executable, "-m", "appliance.entrypoints.cli", "demo", "--port", str(self.port),
               "--data-dir", str(self.data_dir)]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def up(self) -> None:
        """Start the demo and wait until the project is seeded and the API answers."""
        self.start()
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise TargetError(f"pathops demo exited with {self.proc.returncode}: {self.log_tail()}")
            if SEEDED.search(self.log()) and self.token_path.exists() and self.healthy():
                return
            time.sleep(0.5)
        raise TargetError(f"pathops demo was not seeded within {self.startup_s:.0f} s: {self.log_tail()}")

    def supervise(self) -> None:
        """Start the demo again if it died (a crash point, a kill), as a supervisor would."""
        if self.proc is not None and self.proc.poll() is not None:
            self.start()

    def kill(self, *, crashpoint: str = "", restart_after: float = 1.0) -> None:
        """SIGKILL the appliance now; start it again after `restart_after` seconds (with `crashpoint`
        set, the new one kills itself at that point, and `supervise()` starts the next)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        time.sleep(restart_after)
        self.start(crashpoint)

    def down(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        state = self.data_dir / "embedded" / "stack.json"  # a stack left by a demo that died for good
        pid = json.loads(state.read_text()).get("pid") if state.exists() else None
        if isinstance(pid, int):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    # -- what it offers

    @property
    def log_path(self) -> Path:
        return self.data_dir / "demo.log"

    @property
    def token_path(self) -> Path:
        return self.data_dir / "owner.token"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 2000) -> str:
        return " ".join(self.log()[-chars:].split())

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def owner_token(self) -> str:
        return self.token_path.read_text().strip()

    def endpoints(self) -> dict[str, Any]:
        """The fakes: {name: {url, tokens, ...}} (embedded/fakes.json)."""
        return dict(json.loads((self.data_dir / "embedded" / "fakes.json").read_text()))

    def has_access_log(self, system: str) -> bool:
        return True  # every system of the embedded target is a fake that keeps one

    def access_log(self, system: str) -> list[dict[str, Any]]:
        url = self.endpoints()[system]["url"]
        return list(httpx.get(f"{url}/_fake/access-log", timeout=30).json())

    def add_fault(self, system: str, spec: dict[str, Any]) -> None:
        url = self.endpoints()[system]["url"]
        response = httpx.post(f"{url}/_fake/faults", json=spec, timeout=30)
        if response.status_code >= 300:
            raise TargetError(f"{system} refused the fault {spec}: {response.text}")
