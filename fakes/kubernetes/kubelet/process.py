"""A container as a local process: its own session (killed as a group), stdout and stderr read line by line,
resident memory read from /proc (the process and its descendants), a parent-death signal so that nothing
outlives the fake, and a last-resort kill of every live group at interpreter exit."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1
_LIVE: set[int] = set()  # process group ids still running
_prctl: Any = None
with contextlib.suppress(OSError, AttributeError):  # not Linux: no parent-death signal
    _prctl = ctypes.CDLL(None, use_errno=True).prctl


def _child_setup() -> None:  # runs in the child between fork and exec: keep it minimal
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@atexit.register
def _kill_all() -> None:
    for pgid in list(_LIVE):
        kill_group(pgid, signal.SIGKILL)


class StartError(Exception):
    """The runtime could not start the command (exit code 128, reason StartError)."""


def executable(argv0: str, root: Path, cwd: Path, path: str) -> str:
    """An absolute argv[0] inside the image wins over the host's; a bare name is looked up on PATH."""
    if argv0.startswith("/"):
        inside = root / argv0.lstrip("/")
        if inside.is_file() and os.access(inside, os.X_OK):
            return str(inside)
        if os.access(argv0, os.X_OK):
            return argv0
    elif "/" in argv0:
        if os.access(cwd / argv0, os.X_OK):
            return str(cwd / argv0)
    elif found := shutil.which(argv0, path=path):
        return found
    raise StartError(f'exec: "{argv0}": executable file not found in $PATH')


def remap(arg: str, root: Path) -> str:
    """Absolute paths that exist in the image's root point there (`python /app/main.py`)."""
    if arg.startswith("/") and len(arg) > 1:
        inside = root / arg.lstrip("/")
        if inside.exists():
            return str(inside)
    return arg


async def spawn(argv: list[str], cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=str(cwd), env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True, preexec_fn=_child_setup, limit=1 << 20,
        )  # fmt: skip
    except OSError as exc:
        raise StartError(f"exec: {argv[0]!r}: {exc.strerror}") from None
    _LIVE.add(proc.pid)
    return proc


def reaped(pid: int) -> None:
    _LIVE.discard(pid)


async def pump(stream: asyncio.StreamReader | None, sink: Callable[[str], None]) -> None:
    if stream is None:
        return
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # a line longer than the limit: take what is there
            line = await stream.read(1 << 20)
        if not line:
            return
        sink(line.decode(errors="replace").rstrip("\n"))


def kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    return found


def rss_bytes(pid: int) -> int:
    """VmRSS of `pid` and its descendants, in bytes (0 when gone)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        with contextlib.suppress(OSError), open(f"/proc/{current}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        todo += _children(current)
    return total
