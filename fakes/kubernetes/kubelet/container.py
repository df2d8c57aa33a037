"""One container of a pod, through its lives: pull, resolve config, start the process, watch memory and
probes, stop, and restart per restartPolicy with exponential back-off (CrashLoopBackOff)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakes.kubernetes.events import Recorder
from fakes.kubernetes.kubelet import envvars, probes, process, volumes
from fakes.kubernetes.kubelet.images import Image, ImageStore
from fakes.kubernetes.kubelet.pulling import prepare_image
from fakes.kubernetes.logs import LogStore
from fakes.kubernetes.meta import now, quantity
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.settings import NodeSettings

if TYPE_CHECKING:
    from fakes.kubernetes.kubelet.pod import PodWorker


@dataclass(frozen=True)
class NodeContext:
    registry: Registry
    recorder: Recorder
    logs: LogStore
    images: ImageStore
    settings: NodeSettings
    workdir: Path


class ContainerRunner:
    def __init__(
        self, ctx: NodeContext, worker: PodWorker, spec: dict[str, Any], *, init: bool = False
    ) -> None:
        self.ctx, self.worker, self.spec, self.init = ctx, worker, spec, init
        self.name: str = spec["name"]
        self.state: dict[str, Any] = {
            "waiting": {"reason": "PodInitializing" if init else "ContainerCreating"}
        }
        self.last_state: dict[str, Any] = {}
        self.restart_count = 0
        self.ready = self.started = False
        self.image_id = self.container_id = ""
        self.exit_code: int | None = None  # of the last run
        self.done = False  # terminated for good
        self.proc: asyncio.subprocess.Process | None = None
        self._stopping = self._changed = self._oom = False
        self._env: dict[str, str] = {}
        self._exe = ""
        self._cwd = ctx.workdir

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name, "image": self.spec["image"], "imageID": self.image_id,
            **({"containerID": self.container_id} if self.container_id else {}),
            "ready": self.ready, "started": self.started, "restartCount": self.restart_count,
            "state": self.state, "lastState": self.last_state,
        }  # fmt: skip

    def event(self, type_: str, reason: str, message: str) -> None:
        self.ctx.recorder.record(self.worker.pod, type_, reason, message, field_path=self.field_path)

    def waiting(self, reason: str, message: str = "") -> None:
        self.state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        self.worker.publish()

    async def run(self) -> None:
        crashes = failures = 0
        while not self._stopping:
            image = await prepare_image(self, failures)
            if image is None:
                failures += 1
                continue
            try:
                env, argv, cwd = self._launch(image)
            except envvars.ConfigError as exc:
                self.event("Warning", "Failed", f"Error: {exc}")
                self.waiting("CreateContainerConfigError", str(exc))
                await asyncio.sleep(self.ctx.settings.backoff(failures))
                failures += 1
                continue
            except volumes.MountError as exc:
                self.ctx.recorder.warning(self.worker.pod, "FailedMount", str(exc))
                self.waiting("ContainerCreating")
                await asyncio.sleep(self.ctx.settings.backoff(failures))
                failures += 1
                continue
            failures = 0
            started = time.monotonic()
            await self._run_once(argv, cwd, env)
            if self._stopping:
                break
            if self._changed:
                self._changed = False
            elif not self._restarts():
                self.done = True
                break
            else:
                # the first restart is immediate, and so is one after a long healthy run (the back-off resets)
                if (
                    self.restart_count == 0
                    or time.monotonic() - started > 2 * self.ctx.settings.backoff_max_s
                ):
                    delay, crashes = 0.0, 0
                else:
                    delay, crashes = self.ctx.settings.backoff(crashes), crashes + 1
                if delay > 0:
                    self.last_state, pod = self.state, self.worker.pod["metadata"]
                    who = f"{pod['name']}_{pod['namespace']}({pod['uid']})"
                    self.event(
                        "Warning", "BackOff", f"Back-off restarting failed container {self.name} in pod {who}"
                    )
                    self.waiting(
                        "CrashLoopBackOff",
                        f"back-off {delay:g}s restarting failed container={self.name} pod={who}",
                    )
                    await asyncio.sleep(delay)
            self.last_state = self.state if "terminated" in self.state else self.last_state
            self.restart_count += 1
        self.worker.publish()

    def _restarts(self) -> bool:
        policy = self.worker.pod["spec"].get("restartPolicy", "Always")
        if self.init:
            return policy != "Never" and self.exit_code != 0
        return policy == "Always" or (policy == "OnFailure" and self.exit_code != 0)

    def _launch(self, image: Image) -> tuple[dict[str, str], list[str], Path]:
        root = self.worker.root(self.name)
        pod = self.worker.pod
        base = {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                "HOSTNAME": pod["metadata"]["name"], "HOME": str(root), "LANG": os.environ.get("LANG", "C.UTF-8")}  # fmt: skip
        for entry in image.config.get("Env") or []:
            key, _, value = str(entry).partition("=")
            if key != "PATH":
                base[key] = value
        if self.ctx.settings.api_url:
            host, _, port = self.ctx.settings.api_url.split("://", 1)[-1].partition(":")
            base.update(KUBERNETES_SERVICE_HOST=host, KUBERNETES_SERVICE_PORT=port or "80")
        volumes.mount(self.ctx.registry, pod, self.spec, root, self.worker.dir)
        env = envvars.resolve(self.ctx.registry, pod, self.spec, base)
        argv = envvars.command_line(self.spec, image.config, env)
        workdir = self.spec.get("workingDir") or image.config.get("WorkingDir") or "/"
        cwd = root / str(workdir).lstrip("/")
        cwd.mkdir(parents=True, exist_ok=True)
        self._env, self._cwd = env, cwd
        return env, argv, cwd

    async def _run_once(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        root = self.worker.root(self.name)
        self.event("Normal", "Created", f"Created container {self.name}")
        self._oom = False
        started_at = now()
        self.container_id = "containerd://" + secrets.token_hex(32)
        try:
            if not argv:
                raise process.StartError("no command specified")
            exe = process.executable(argv[0], root, cwd, env.get("PATH", ""))
            self.proc = await process.spawn([exe, *(process.remap(a, root) for a in argv[1:])], cwd, env)
            self._exe = Path(exe).name
        except process.StartError as exc:
            message = f"failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: {exc}: unknown"
            self.event("Warning", "Failed", f"Error: {message}")
            self._terminated(128, "StartError", started_at, message)
            return
        self.event("Normal", "Started", f"Started container {self.name}")
        uid = self.worker.pod["metadata"]["uid"]
        self.ctx.logs.start(uid, self.name)
        self.state = {"running": {"startedAt": started_at}}
        self.started = "startupProbe" not in self.spec
        self.ready = self.started and "readinessProbe" not in self.spec and not self.init
        self.worker.publish()

        def sink(line: str) -> None:
            self.ctx.logs.append(uid, self.name, line)

        pumps = [asyncio.create_task(process.pump(s, sink)) for s in (self.proc.stdout, self.proc.stderr)]
        watchers = [asyncio.create_task(self._watch_memory())]
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            if kind in self.spec and not self.init:
                watchers.append(asyncio.create_task(self._probe(kind, self.spec[kind])))
        code = await self.proc.wait()
        process.kill_group(self.proc.pid, signal.SIGKILL)  # the rest of the container dies with its PID 1
        process.reaped(self.proc.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*pumps), 2)
        for task in watchers + pumps:
            task.cancel()
        self.ctx.logs.end(uid, self.name)
        exit_code = 128 - code if code < 0 else code
        reason = "OOMKilled" if self._oom else ("Completed" if exit_code == 0 else "Error")
        self._terminated(exit_code, reason, started_at)

    def _terminated(self, code: int, reason: str, started_at: str, message: str = "") -> None:
        self.exit_code, self.ready, self.started = code, False, False
        state = {"exitCode": code, "reason": reason, "startedAt": started_at, "finishedAt": now(),
                 "containerID": self.container_id, **({"message": message} if message else {})}  # fmt: skip
        self.state = {"terminated": state}
        self.worker.publish()

    async def _watch_memory(self) -> None:
        limit = ((self.spec.get("resources") or {}).get("limits") or {}).get("memory")
        if limit is None or self.proc is None:
            return
        pid, cap = self.proc.pid, quantity(limit)
        while True:
            await asyncio.sleep(self.ctx.settings.memory_poll_s)
            rss = process.rss_bytes(pid)
            if rss > cap:
                self._oom = True
                message = (f"Memory cgroup out of memory: Killed process {pid} ({self._exe}) "
                           f"anon-rss:{rss // 1024}kB, limit:{int(cap) // 1024}kB")  # fmt: skip
                self.ctx.recorder.warning(self.worker.pod, "OOMKilling", message, component="kernel-monitor")
                process.kill_group(pid, signal.SIGKILL)
                return

    async def _probe(self, kind: str, probe: dict[str, Any]) -> None:
        scale = self.ctx.settings.probe_scale
        label = {"startupProbe": "Startup", "readinessProbe": "Readiness", "livenessProbe": "Liveness"}[kind]
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)) * scale)
        period = max(float(probe.get("periodSeconds", 10)) * scale, 0.05)
        successes = failures = 0
        while True:
            if kind != "startupProbe" and not self.started:
                await asyncio.sleep(period)
                continue
            ok, message = await probes.attempt(probe, self.spec, "127.0.0.1", self._env, self._cwd)
            successes, failures = (successes + 1, 0) if ok else (0, failures + 1)
            if not ok:
                self.event("Warning", "Unhealthy", f"{label} probe failed: {message}")
            if kind == "readinessProbe":
                if ok and successes >= int(probe.get("successThreshold", 1)) and not self.ready:
                    self.ready = True
                    self.worker.publish()
                elif not ok and failures >= int(probe.get("failureThreshold", 3)) and self.ready:
                    self.ready = False
                    self.worker.publish()
            elif kind == "startupProbe" and ok:
                self.started = True
                self.ready = "readinessProbe" not in self.spec
                self.worker.publish()
                return
            elif not ok and failures >= int(probe.get("failureThreshold", 3)):
                what = "startup" if kind == "startupProbe" else "liveness"
                self.event(
                    "Normal", "Killing", f"Container {self.name} failed {what} probe, will be restarted"
                )
                await self.terminate(self._grace())
                return
            await asyncio.sleep(period)

    def _grace(self) -> float:
        seconds = self.worker.pod["metadata"].get("deletionGracePeriodSeconds")
        if seconds is None:
            seconds = self.worker.pod["spec"].get("terminationGracePeriodSeconds", 30)
        return float(seconds) * self.ctx.settings.grace_scale

    async def terminate(self, grace: float) -> None:
        """SIGTERM the container, SIGKILL it after `grace` seconds."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        process.kill_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), timeout=grace)
        except TimeoutError:
            process.kill_group(proc.pid, signal.SIGKILL)

    async def stop(self, grace: float | None = None) -> None:
        self._stopping = True
        if self.proc is not None and self.proc.returncode is None:
            self.event("Normal", "Killing", f"Stopping container {self.name}")
            await self.terminate(self._grace() if grace is None else grace)

    async def restart_for_change(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.worker.publish()
        if self.proc is None or self.proc.returncode is not None:
            return  # not running: the next start uses the new spec
        self.event("Normal", "Killing", f"Container {self.name} definition changed, will be restarted")
        self._changed = True
        await self.terminate(self._grace())
