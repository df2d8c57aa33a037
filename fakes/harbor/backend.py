"""The real registry behind the fake: Debian's `docker-registry` (distribution 2.8), on a unix socket.

It runs without auth (the fake checks every request first) and with deletes enabled. A small
shell wrapper kills it (and removes its working directory) when the fake's end of its stdin pipe
closes, so it never outlives the fake, even one killed with SIGKILL.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

log = logging.getLogger(__name__)
DEFAULT_BINARY = "/usr/bin/docker-registry"
CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  net: unix
  addr: {socket}
  secret: {secret}
"""
_WRAPPER = (
    'trap "" INT; "$0" serve "$1" & r=$!; cat >/dev/null; kill "$r" 2>/dev/null; wait "$r"; rm -rf "$2"'
)


def find_binary(configured: str | None) -> str | None:
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("docker-registry") or (DEFAULT_BINARY if Path(DEFAULT_BINARY).exists() else None)


class RegistryProcess:
    def __init__(self, binary: str | None, storage: Path | None) -> None:
        self.binary = binary
        self._storage = storage
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.socket = ""

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self._proc is not None or self.binary is None:
            return
        self._workdir = Path(tempfile.mkdtemp(prefix="harbor-registry-"))
        root = self._storage or self._workdir / "storage"
        root.mkdir(parents=True, exist_ok=True)
        self.socket = str(self._workdir / "registry.sock")
        config = self._workdir / "config.yml"
        config.write_text(CONFIG.format(root=root, socket=self.socket, secret=secrets.token_hex(16)))
        errors = (self._workdir / "registry.log").open("wb")
        self._proc = subprocess.Popen(
            ["sh", "-c", _WRAPPER, self.binary, str(config), str(self._workdir)],
            stdin=subprocess.PIPE,
            stdout=errors,
            stderr=errors,
        )
        errors.close()
        deadline = time.monotonic() + 15
        with httpx.Client(transport=httpx.HTTPTransport(uds=self.socket), timeout=1) as client:
            while True:
                try:
                    if client.get("http://registry/v2/").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    said = (self._workdir / "registry.log").read_text(errors="replace")[-2000:]
                    self.stop()
                    raise RuntimeError(f"docker-registry did not start: {said}")
                time.sleep(0.05)
        log.info("docker-registry (wrapper pid %s) on %s", self._proc.pid, self.socket)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            assert proc.stdin is not None
            proc.stdin.close()  # the wrapper kills the registry at EOF
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
