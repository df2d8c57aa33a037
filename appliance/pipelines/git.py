"""Git over smart HTTP with the `git` CLI, as the CI identity.

The token travels in an `Authorization: Basic` header given through git's environment
(`GIT_CONFIG_COUNT` / `http.extraHeader`): never in a URL, in argv or in `.git/config`, and it is
scrubbed from every error text. Commits are made as "PathOps CI <ci@pathops.local>".

Idempotency: a commit carries the run's key as a trailer `PathOps-Key: <key>`; `find_key` looks
for it before a job commits again. A push refused as non-fast-forward (another job pushed
meanwhile) is fetched, rebased and pushed again, a few times.

Errors: git's "Authentication failed" / 401 / 403 / 404 and anything unknown are `PermanentError`;
5xx, refused connections, timeouts and unreachable hosts are `TransientError`.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import subprocess
from pathlib import Path

from appliance.ports.errors import PermanentError, TransientError

log = logging.getLogger(__name__)
SYSTEM = "git"
KEY_TRAILER = "PathOps-Key"
CI_NAME, CI_EMAIL = "PathOps CI", "ci@pathops.local"
PUSH_ATTEMPTS = 4
_TRANSIENT = re.compile(
    r"returned error: 5\d\d|HTTP 5\d\d|Connection refused|Could not resolve host|timed out"
    r"|Empty reply|Connection reset|early EOF|unexpected disconnect",
    re.IGNORECASE,
)
_REJECTED = re.compile(r"\[rejected\]|non-fast-forward|fetch first|failed to push some refs", re.IGNORECASE)


class GitError(PermanentError):
    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message, system=SYSTEM)
        self.output = output


class Git:
    """Runs git with the CI's credentials and identity, in a private HOME."""

    def __init__(self, *, base_url: str, token: str, home: Path, timeout: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        home.mkdir(parents=True, exist_ok=True)
        header = "Authorization: Basic " + base64.b64encode(f"oauth2:{token}".encode()).decode()
        self._secrets = tuple(s for s in (token, header.split(" ")[-1]) if s)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": CI_NAME,
            "GIT_AUTHOR_EMAIL": CI_EMAIL,
            "GIT_COMMITTER_NAME": CI_NAME,
            "GIT_COMMITTER_EMAIL": CI_EMAIL,
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": header,
            "GIT_CONFIG_KEY_1": "init.defaultBranch",
            "GIT_CONFIG_VALUE_1": "main",
        }

    def url(self, project: str) -> str:
        return f"{self.base_url}/{project}.git"

    def run(self, *args: str, cwd: Path | None = None, what: str = "") -> str:
        """git `args`; its stdout, or a port error with git's own (scrubbed) last words."""
        what = what or f"git {args[0]}"
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired:
            raise TransientError(f"{what}: git took longer than {self.timeout:.0f}s", system=SYSTEM) from None
        if done.returncode != 0:
            output = self.scrub((done.stderr or done.stdout).strip())
            last = next((line for line in reversed(output.splitlines()) if line.strip()), "no output")
            message = f"{what}: {last.strip()}"
            if _TRANSIENT.search(output):
                raise TransientError(message, system=SYSTEM)
            raise GitError(message, output=output)
        return done.stdout

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def clone(self, project: str, dest: Path, *, branch: str | None = None, shallow: bool = False) -> Repo:
        """A clone of `project` (its default branch checked out, or `branch`); `shallow`: its tip only."""
        args = ["clone", "--quiet", "--no-tags", *(["--branch", branch] if branch else [])]
        args += ["--depth", "1"] if shallow else []
        self.run(*args, self.url(project), str(dest), what=f"clone {project}")
        return Repo(self, dest, project)


class Repo:
    def __init__(self, git: Git, path: Path, project: str) -> None:
        self.git, self.path, self.project = git, path, project

    def run(self, *args: str, what: str = "") -> str:
        return self.git.run(*args, cwd=self.path, what=what or f"git {args[0]} in {self.project}")

    def rev(self, ref: str) -> str | None:
        """The commit `ref` names, or None."""
        try:
            return self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip() or None
        except GitError:
            return None

    def branch(self) -> str:
        """The branch checked out (after a clone: the default branch)."""
        return self.run("symbolic-ref", "--short", "HEAD").strip()

    def head(self) -> str:
        return self.run("rev-parse", "HEAD").strip()

    def checkout_commit(self, sha: str) -> str:
        """Check out `sha` (detached); fetched by id when no branch reaches it. The full sha."""
        if self.rev(sha) is None:
            self.run("fetch", "--quiet", "origin", sha, what=f"fetch {self.project}@{sha[:12]}")
        full = self.rev(sha)
        if full is None:
            raise GitError(f"{self.project} has no commit {sha}")
        self.run("checkout", "--quiet", "--detach", full)
        return full

    def find_key(self, ref: str, key: str, *, depth: int = 200) -> str | None:
        """The commit within `depth` of `ref` whose message has the trailer `PathOps-Key: <key>`."""
        if self.rev(ref) is None:
            return None
        trailer = f"{KEY_TRAILER}: {key}"
        out = self.run("log", f"-{depth}", "--format=%H%x00%B%x1e", ref)
        for record in out.split("\x1e"):
            sha, _, body = record.strip("\n").partition("\x00")
            if trailer in (line.strip() for line in body.splitlines()):
                return sha.strip()
        return None

    def write(self, files: dict[str, bytes | None]) -> None:
        """Write (bytes) or delete (None) files, paths relative to the work tree."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                if target.exists():
                    target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)

    def commit(self, message: str, key: str) -> str | None:
        """Commit everything changed, the key as a trailer; None when nothing changed."""
        self.run("add", "--all")
        if not self.run("status", "--porcelain").strip():
            return None
        self.run("commit", "--quiet", "--no-verify", "-m", f"{message.rstrip()}\n\n{KEY_TRAILER}: {key}")
        return self.head()

    def push(self, branch: str, *, replacing: str | None = None) -> str:
        """Push HEAD to `branch`; a non-fast-forward refusal is fetched, rebased and pushed again.

        `replacing`: the branch is ours to rewrite, and was at that commit ("" for absent); it is
        replaced if it still is (`--force-with-lease`), never rebased."""
        what = f"push {self.project}:{branch}"
        if replacing is not None:
            lease = f"--force-with-lease=refs/heads/{branch}:{replacing}"
            self.run("push", "--quiet", lease, "origin", f"HEAD:refs/heads/{branch}", what=what)
            return self.head()
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            try:
                self.run("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", what=what)
                log.info("pushed %s to %s:%s", self.head()[:12], self.project, branch)
                return self.head()
            except GitError as exc:
                if attempt == PUSH_ATTEMPTS or not _REJECTED.search(exc.output):
                    raise
            self.run("fetch", "--quiet", "origin", what=f"fetch {self.project}")
            self.run("rebase", "--quiet", f"origin/{branch}", what=f"rebase onto {self.project}:{branch}")
        raise AssertionError("unreachable")

    def files(self, ref: str, directory: str) -> list[str]:
        """Paths of the files directly under `directory` at `ref` (none when it is not there)."""
        try:
            out = self.run("ls-tree", "--name-only", f"{ref}:{directory}", what=f"list {directory}/")
        except GitError:
            return []
        return sorted(f"{directory}/{name}" for name in out.splitlines() if name)

    def show(self, ref: str, path: str) -> bytes | None:
        """The file at `ref`, or None when it is not there."""
        done = subprocess.run(
            ["git", "show", f"{ref}:{path}"], cwd=self.path, env=self.git.env, capture_output=True,
            timeout=self.git.timeout,
        )  # fmt: skip
        return done.stdout if done.returncode == 0 else None

    def contains(self, ref: str, commit: str) -> bool:
        """Whether `commit` is reachable from `ref`."""
        done = subprocess.run(
            ["git", "merge-base", "--is-ancestor", commit, ref], cwd=self.path, env=self.git.env,
            capture_output=True, timeout=self.git.timeout,
        )  # fmt: skip
        return done.returncode == 0

    def remote_head(self, branch: str) -> str | None:
        out = self.run("ls-remote", "origin", f"refs/heads/{branch}", what=f"ls-remote {self.project}")
        return out.split()[0] if out.strip() else None
