"""The Fix Agent's view of the failing commit's source: its text files, unified diffs of edits to them,
and a `git apply --check` of a diff in a throw-away copy.

Diffs are git-style (`diff --git a/p b/p`, `--- a/p`, `+++ b/p`, three lines of context, and the
"\\ No newline at end of file" marker), so `git apply` in a checkout of the base commit takes them.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from appliance.ports.errors import PermanentError

SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".pytest_cache",
                       ".ruff_cache", ".tox", "dist", "build"})  # fmt: skip
MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 2000


def read_source(root: Path) -> dict[str, str]:
    """Every UTF-8 text file under `root` (relative POSIX path -> text), dot-files included."""
    found: dict[str, str] = {}
    try:
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(names):
                path = Path(folder, name)
                if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                    continue
                data = path.read_bytes()
                if b"\0" in data:
                    continue
                try:
                    found[path.relative_to(root).as_posix()] = data.decode()
                except UnicodeDecodeError:
                    continue
                if len(found) >= MAX_FILES:
                    return found
    except OSError as exc:
        raise PermanentError(f"cannot read the source in {root}: {exc.strerror or exc}") from None
    return found


def unified_diff(before: Mapping[str, str], edits: Mapping[str, str]) -> str:
    """A git-style unified diff turning `before` into `before` updated with `edits` (path -> new text)."""
    out: list[str] = []
    for path in sorted(edits):
        old, new = before.get(path), edits[path]
        if old == new:
            continue
        out.append(f"diff --git a/{path} b/{path}\n")
        if old is None:
            out.append("new file mode 100644\n")
        lines = difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            "/dev/null" if old is None else f"a/{path}",
            f"b/{path}",
        )
        out += [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines]
    return "".join(out)


def apply_check(root: Path, diff: str) -> str | None:
    """None when `git apply` takes `diff` on a copy of `root`, else git's first complaint."""
    git = shutil.which("git")
    if git is None:
        return "git is not installed"
    with tempfile.TemporaryDirectory(prefix="pathops-fix-") as tmp:
        copy = Path(tmp, "src")
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".git"), symlinks=True)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "GIT_CEILING_DIRECTORIES": tmp}
        proc = subprocess.run(
            [git, "apply", "--check", "-"],
            input=diff.encode(),
            cwd=copy,
            env=env,
            capture_output=True,
            timeout=60,
        )
    if proc.returncode == 0:
        return None
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    return lines[0] if lines else f"git apply exited {proc.returncode}"
