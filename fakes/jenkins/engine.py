"""The queue and the executors: a trigger becomes a queue item, waits out its quiet period and a free
executor, then becomes a build whose steps run as local processes, one after the other.

The build gets the parameters as environment variables (each under its name and, as Jenkins does,
its upper-cased name) plus BUILD_NUMBER, BUILD_ID, BUILD_URL, BUILD_TAG, JOB_NAME, JOB_URL,
JENKINS_URL, NODE_NAME and WORKSPACE (a fresh directory per build). stdout and stderr stream into
the console while the build runs; exit 0 of every step is SUCCESS, any other FAILURE; a build that
outlives its job's timeout is killed and ABORTED, as the build-timeout plugin does by default.
State survives restarts when a data directory is given (JENKINS_HOME-like: jobs/<name>/...).
A `drop` or `duplicate` fault (fakes/common/faults.py) on path `job/<name>` sets PATHOPS_CALLBACK_FAULT
in the environment of that job's next build(s): the build's callback is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import IO, Any

from fakes.common.faults import Faults
from fakes.jenkins.model import FREESTYLE, Build, Job, JobError, QueueItem, job_from_xml, now_ms

log = logging.getLogger(__name__)
CALLBACK_FAULT = "PATHOPS_CALLBACK_FAULT"


class Engine:
    def __init__(
        self,
        *,
        faults: Faults | None = None,
        data_dir: Path | None = None,
        executors: int = 2,
        quiet_period: float = 0.0,
        keep_undefined: bool = False,
        default_timeout: float = 600.0,
    ) -> None:
        self.jobs: dict[str, Job] = {}
        self.faults = faults or Faults()
        self.queue: dict[int, QueueItem] = {}
        self.data_dir = data_dir
        self.quiet_period = quiet_period
        self.keep_undefined = keep_undefined
        self.default_timeout = default_timeout
        self._executors = asyncio.Semaphore(executors)
        self._next_queue_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._procs: dict[tuple[str, int], asyncio.subprocess.Process] = {}
        self._logs: dict[tuple[str, int], IO[bytes]] = {}
        self._temp_workspaces: list[str] = []
        if data_dir is not None:
            self._load(data_dir)

    # --- jobs ------------------------------------------------------------------------------------
    def put_job(self, job: Job) -> None:
        """Create or redefine a job; a redefined job keeps its builds and next build number."""
        old = self.jobs.get(job.name)
        if old is not None:
            job.builds, job.next_build_number = old.builds, old.next_build_number
        self.jobs[job.name] = job
        self._save_job(job)

    def delete_job(self, name: str) -> None:
        self.jobs.pop(name, None)
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir / "jobs" / name, ignore_errors=True)

    # --- queue -----------------------------------------------------------------------------------
    def trigger(
        self,
        job: Job,
        submitted: dict[str, list[str]],
        *,
        user: str,
        root_url: str,
        delay: float | None = None,
    ) -> QueueItem:
        """Queue a build; an identical item already waiting is returned instead (Queue.schedule2)."""
        params = job.resolve(submitted, keep_undefined=self.keep_undefined)
        for item in self.queue.values():
            if item.job == job.name and item.state != "left" and item.params == params:
                return item
        item = QueueItem(id=self._next_queue_id, job=job.name, params=params, user=user, root_url=root_url)
        self._next_queue_id += 1
        quiet = self.quiet_period if delay is None else delay
        item.buildable_at = item.in_queue_since + int(quiet * 1000)
        self.queue[item.id] = item
        self._spawn(self._run(item))
        return item

    def cancel(self, item: QueueItem) -> bool:
        if item.state == "left":
            return False
        item.state, item.cancelled = "left", True
        return True

    def waiting(self) -> list[QueueItem]:
        return [i for i in self.queue.values() if i.state != "left"]

    def stop(self, build: Build, *, user: str) -> None:
        if not build.building or build.aborted_by:
            return
        build.aborted_by = user
        proc = self._procs.get((build.job, build.number))
        if proc is not None:
            _kill(proc)

    # --- running ---------------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, item: QueueItem) -> None:
        delay = (item.buildable_at - now_ms()) / 1000
        if delay > 0:
            await asyncio.sleep(delay)
        if item.cancelled:
            return
        item.state = "buildable"
        async with self._executors:
            job = self.jobs.get(item.job)
            if item.cancelled or job is None:
                item.state, item.cancelled = "left", True
                return
            build = self._start(job, item)
            await self._execute(job, build, item.root_url)

    def _start(self, job: Job, item: QueueItem) -> Build:
        """Leave the queue and become build #n in one step, so a search never misses the trigger."""
        number = job.next_build_number
        job.next_build_number += 1
        build = Build(job=job.name, number=number, queue_id=item.id, params=item.params, user=item.user)
        job.builds[number] = build
        item.state, item.build_number = "left", number
        if self.data_dir is not None:
            build.workspace = str(self.data_dir / "workspace" / f"{job.name}@{number}")
            Path(build.workspace).mkdir(parents=True, exist_ok=True)
            path = self._build_dir(job.name, number)
            path.mkdir(parents=True, exist_ok=True)
            self._logs[(job.name, number)] = (path / "log").open("ab")
        else:
            build.workspace = tempfile.mkdtemp(prefix=f"jenkins-{job.name}-{number}-")
            self._temp_workspaces.append(build.workspace)
        self._save_job(job)
        self._save_build(build)
        return build

    def _env(self, job: Job, build: Build, root_url: str) -> dict[str, str]:
        job_url = f"{root_url}job/{job.name}/"
        env = dict(os.environ)
        for name, value in build.params:
            env[name] = value
            env[name.upper()] = value
        env.update(
            BUILD_NUMBER=str(build.number), BUILD_ID=str(build.number), BUILD_DISPLAY_NAME=f"#{build.number}",
            BUILD_TAG=f"jenkins-{job.name}-{build.number}", BUILD_URL=f"{job_url}{build.number}/",
            JOB_NAME=job.name, JOB_BASE_NAME=job.name, JOB_URL=job_url, JENKINS_URL=root_url,
            NODE_NAME="built-in", EXECUTOR_NUMBER="0", WORKSPACE=build.workspace,
        )  # fmt: skip
        # a `drop` or `duplicate` fault on `job/<name>` is the network losing or repeating this build's
        # callback to the control plane: the build is told so, and its callback step acts it out
        fault = self.faults.take("POST", f"job/{job.name}", ("drop", "duplicate"))
        if fault is not None:
            env[CALLBACK_FAULT] = fault.kind
        return env

    async def _execute(self, job: Job, build: Build, root_url: str) -> None:
        pipeline = job.kind != FREESTYLE
        env = self._env(job, build, root_url)
        self._write(build, f"Started by user {build.user}\n")
        if pipeline:
            self._write(
                build,
                f"[Pipeline] Start of Pipeline\n[Pipeline] node\nRunning on Jenkins in {build.workspace}\n[Pipeline] {{\n",
            )
        else:
            self._write(build, f"Running as SYSTEM\nBuilding in workspace {build.workspace}\n")
        result, error = "SUCCESS", ""
        deadline = asyncio.get_running_loop().time() + job.timeout_s
        try:
            for step in job.steps:
                if build.aborted_by:
                    result, error = "ABORTED", f"Aborted by {build.aborted_by}\n"
                    break
                if not pipeline:
                    self._write(build, f"[{job.name}] $ {shlex.join(step)}\n")
                elif step[:3] == ["/bin/sh", "-xe", "-c"]:
                    self._write(build, "[Pipeline] sh\n")  # the shell traces its own commands
                else:
                    self._write(build, f"[Pipeline] sh\n+ {shlex.join(step)}\n")
                result, error = await self._step(job, build, step, env, deadline)
                if result != "SUCCESS":
                    break
        except asyncio.CancelledError:
            self._write(build, "Jenkins is shutting down\n")
            self._finish(build, "ABORTED")
            raise
        if pipeline:
            self._write(build, "[Pipeline] }\n[Pipeline] // node\n[Pipeline] End of Pipeline\n")
        self._write(build, error)
        self._finish(build, result)

    async def _step(
        self, job: Job, build: Build, step: list[str], env: dict[str, str], deadline: float
    ) -> tuple[str, str]:
        """Run one step; (result, closing console line)."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *step, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, cwd=build.workspace, env=env, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            return "FAILURE", f'java.io.IOException: Cannot run program "{step[0]}": {exc.strerror}\n'
        key = (build.job, build.number)
        self._procs[key] = proc
        try:
            async with asyncio.timeout_at(deadline):
                assert proc.stdout is not None
                while chunk := await proc.stdout.read(65536):
                    self._write(build, chunk)
                code = await proc.wait()
        except TimeoutError:
            _kill(proc)
            await proc.wait()
            return (
                "ABORTED",
                f"Build timed out (after {job.timeout_s:g} seconds). Marking the build as aborted.\n",
            )
        except asyncio.CancelledError:  # shutting down: reap the process before the loop closes
            _kill(proc)
            await asyncio.shield(proc.wait())
            raise
        finally:
            self._procs.pop(key, None)
        if build.aborted_by:
            return "ABORTED", f"Aborted by {build.aborted_by}\n"
        if code != 0:
            if job.kind == FREESTYLE:
                return "FAILURE", "Build step 'Execute shell' marked build as failure\n"
            return "FAILURE", f"ERROR: script returned exit code {code}\n"
        return "SUCCESS", ""

    def _write(self, build: Build, data: str | bytes) -> None:
        chunk = data.encode() if isinstance(data, str) else data
        build.console.extend(chunk)
        handle = self._logs.get((build.job, build.number))
        if handle is not None:
            handle.write(chunk)
            handle.flush()

    def _finish(self, build: Build, result: str) -> None:
        self._write(build, f"Finished: {result}\n")
        build.result, build.building = result, False
        build.duration = max(now_ms() - build.timestamp, 1)
        handle = self._logs.pop((build.job, build.number), None)
        if handle is not None:
            handle.close()
        self._save_build(build)
        log.info("%s #%d finished: %s", build.job, build.number, result)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for path in self._temp_workspaces:
            shutil.rmtree(path, ignore_errors=True)

    # --- persistence (data_dir) ------------------------------------------------------------------
    def _build_dir(self, job: str, number: int) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "jobs" / job / "builds" / str(number)

    def _save_job(self, job: Job) -> None:
        if self.data_dir is None:
            return
        path = self.data_dir / "jobs" / job.name
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.xml").write_text(job.config_xml)
        (path / "job.json").write_text(json.dumps(job.record()))

    def _save_build(self, build: Build) -> None:
        if self.data_dir is None:
            return
        path = self._build_dir(build.job, build.number)
        path.mkdir(parents=True, exist_ok=True)
        (path / "build.json").write_text(json.dumps(build.record()))

    def _load(self, data_dir: Path) -> None:
        for path in sorted((data_dir / "jobs").glob("*/job.json")):
            record = json.loads(path.read_text())
            try:
                job = job_from_xml(record["name"], (path.parent / "config.xml").read_text(),
                                   default_timeout=self.default_timeout)  # fmt: skip
            except JobError:
                log.warning("skipping unreadable job %s", path.parent.name)
                continue
            job.steps, job.timeout_s = record["steps"], float(record["timeout_s"])
            job.next_build_number = int(record["next_build_number"])
            for build_json in (path.parent / "builds").glob("*/build.json"):
                log_path = build_json.parent / "log"
                build = Build.from_record(json.loads(build_json.read_text()),
                                          log_path.read_bytes() if log_path.exists() else b"")  # fmt: skip
                if build.building:  # the fake stopped while it ran
                    build.console.extend(b"Jenkins restarted; the build was lost\nFinished: ABORTED\n")
                    build.result, build.building = "ABORTED", False
                job.builds[build.number] = build
                self._next_queue_id = max(self._next_queue_id, build.queue_id + 1)
            self.jobs[job.name] = job


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
