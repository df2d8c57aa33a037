"""One bare repository, driven by git plumbing: read refs, commits, trees and blobs; write commits.

Writes never touch a work tree: blobs go in with `hash-object`, trees are built in a throw-away
index (`update-index --index-info`, `write-tree`), commits with `commit-tree`, and branches move
with `update-ref NEW OLD`, a compare-and-swap, so a concurrent `git push` makes a REST write fail
instead of being lost. Merges use `merge-tree --write-tree` (git >= 2.38), again without a work tree.

Errors: `GitError` (git refused or failed), and `ActionError` from actions.py (a commit action
makes no sense), both with a message meant for the API caller.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fakes.gitlab.actions import Action, apply

ZERO = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B"


class GitError(Exception):
    pass


@dataclass(frozen=True)
class Commit:
    id: str
    parent_ids: tuple[str, ...]
    author_name: str
    author_email: str
    authored_date: str
    committer_name: str
    committer_email: str
    committed_date: str
    message: str

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class Entry:
    mode: str
    type: str  # blob, tree, commit
    id: str
    path: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Person:
    name: str
    email: str


def is_sha(value: str) -> bool:
    return bool(_SHA.match(value))


def valid_branch_name(name: str) -> bool:
    if not name or name.startswith("-") or name == "HEAD" or any(ord(c) < 32 for c in name):
        return False
    done = subprocess.run(["git", "check-ref-format", f"refs/heads/{name}"], capture_output=True)
    return done.returncode == 0


class Repo:
    def __init__(self, path: Path, home: Path) -> None:
        self.path, self.home = path, home

    def env(self, **extra: str) -> dict[str, str]:
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
        return base | extra

    def run(self, *args: str, stdin: bytes | None = None, ok: tuple[int, ...] = (0,), **env: str) -> bytes:
        done = subprocess.run(
            ["git", f"--git-dir={self.path}", *args], input=stdin, capture_output=True, env=self.env(**env)
        )
        if done.returncode not in ok:
            raise GitError(done.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
        return done.stdout

    def init(self, default_branch: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--bare", "--quiet", "--template=", f"--initial-branch={default_branch}",
             str(self.path)], check=True, capture_output=True, env=self.env(),
        )  # fmt: skip
        for key, value in (("uploadpack.allowAnySHA1InWant", "true"), ("uploadpack.allowFilter", "true"),
                           ("http.receivepack", "true"), ("core.logAllRefUpdates", "false")):  # fmt: skip
            self.run("config", key, value)

    # reading

    def refs(self) -> dict[str, str]:
        out = self.run("for-each-ref", "--format=%(refname) %(objectname)").decode()
        pairs = (line.partition(" ") for line in out.splitlines() if line)
        return {name: sha for name, _, sha in pairs}

    def branches(self) -> dict[str, str]:
        return {
            k.removeprefix("refs/heads/"): v for k, v in self.refs().items() if k.startswith("refs/heads/")
        }

    def resolve(self, ref: str) -> str | None:
        if not ref or ref.startswith("-") or any(ord(c) <= 32 for c in ref):
            return None
        out = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", ok=(0, 1))
        return out.decode().strip() or None

    def commits(
        self,
        *revs: str,
        paths: tuple[str, ...] = (),
        max_count: int | None = None,
        first_parent: bool = False,
    ) -> list[Commit]:
        args = ["log", "-z", f"--format={_FORMAT}"]
        args += [f"--max-count={max_count}"] if max_count else []
        args += ["--first-parent"] if first_parent else []
        out = self.run(*args, "--end-of-options", *revs, "--", *paths).decode("utf-8", "replace")
        return [_commit(record) for record in out.split("\0") if record.strip()]

    def commit(self, sha: str) -> Commit:
        return self.commits(sha, max_count=1)[0]

    def tree(self, commit: str, path: str = "", recursive: bool = False) -> list[Entry] | None:
        """Entries under `path` (the root when empty); None when `path` is not a directory."""
        if path:
            entry = self.entry(commit, path)
            if entry is None or entry.type != "tree":
                return None
        args = ["ls-tree", "-z", *(["-r", "-t"] if recursive else []), commit]
        out = self.run(*args, "--", f"{path.strip('/')}/" if path else ".").decode("utf-8", "replace")
        return [_entry(line) for line in out.split("\0") if line]

    def entry(self, commit: str, path: str) -> Entry | None:
        out = self.run("ls-tree", "-z", commit, "--", path.strip("/")).decode("utf-8", "replace")
        entries = [_entry(line) for line in out.split("\0") if line]
        return next((e for e in entries if e.path == path.strip("/")), None)

    def blob(self, sha: str) -> bytes:
        return self.run("cat-file", "blob", sha)

    def last_commit(self, commit: str, path: str) -> str:
        return self.run("log", "-1", "--format=%H", commit, "--", path).decode().strip()

    def merge_base(self, a: str, b: str) -> str | None:
        return self.run("merge-base", a, b, ok=(0, 1)).decode().strip() or None

    def is_ancestor(self, a: str, b: str) -> bool:
        return subprocess.run(
            ["git", f"--git-dir={self.path}", "merge-base", "--is-ancestor", a, b], env=self.env()
        ).returncode == 0  # fmt: skip

    def rev_list(self, include: str, exclude: list[str]) -> list[str]:
        args = [include, *(["--not", *exclude] if exclude else [])]
        return self.run("rev-list", *args).decode().split()

    def changed_paths(self, sha: str) -> tuple[list[str], list[str], list[str]]:
        """(added, modified, removed) by commit `sha` against its first parent."""
        commit = self.commit(sha)
        base = commit.parent_ids[0] if commit.parent_ids else EMPTY_TREE
        out = self.run("diff-tree", "-r", "-z", "--name-status", base, sha).decode("utf-8", "replace")
        parts = out.split("\0")
        changes: dict[str, list[str]] = {"A": [], "M": [], "D": []}
        for status, path in zip(parts[0::2], parts[1::2], strict=False):
            changes.get(status[:1], changes["M"]).append(path)
        return changes["A"], changes["M"], changes["D"]

    # writing

    def hash_blob(self, content: bytes) -> str:
        return self.run("hash-object", "-w", "--stdin", stdin=content).decode().strip()

    def write_commit(
        self, parent: str | None, actions: list[Action], message: str, author: Person, committer: Person
    ) -> str:
        files: dict[str, tuple[str, str]] = {}
        if parent:
            out = self.run("ls-tree", "-r", "-z", parent).decode("utf-8", "replace")
            files = {e.path: (e.mode, e.id) for e in map(_entry, filter(None, out.split("\0")))}
        for action in actions:
            apply(files, action, self.hash_blob)
        tree = self._write_tree(files)
        return self.commit_tree(tree, [parent] if parent else [], message, author, committer)

    def _write_tree(self, files: dict[str, tuple[str, str]]) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            index = str(Path(tmp) / "index")
            info = b"".join(f"{mode} {sha}\t{path}".encode() + b"\0" for path, (mode, sha) in files.items())
            self.run("update-index", "-z", "--index-info", stdin=info, GIT_INDEX_FILE=index)
            return self.run("write-tree", GIT_INDEX_FILE=index).decode().strip()

    def tree_of(self, commit: str) -> str:
        return self.run("rev-parse", f"{commit}^{{tree}}").decode().strip()

    def commit_tree(
        self, tree: str, parents: list[str], message: str, author: Person, committer: Person
    ) -> str:
        args = [arg for p in parents for arg in ("-p", p)]
        out = self.run(
            "commit-tree", tree, *args, stdin=message.encode(),
            GIT_AUTHOR_NAME=author.name, GIT_AUTHOR_EMAIL=author.email,
            GIT_COMMITTER_NAME=committer.name, GIT_COMMITTER_EMAIL=committer.email,
        )  # fmt: skip
        return out.decode().strip()

    def update_ref(self, branch: str, new: str, old: str) -> None:
        """Move (or create, old=ZERO; or delete, new=ZERO) a branch if it is still at `old`."""
        ref = f"refs/heads/{branch}"
        if new == ZERO:
            self.run("update-ref", "-d", ref, old)
        else:
            self.run("update-ref", ref, new, old)

    def merge_tree(self, ours: str, theirs: str) -> tuple[str, bool]:
        """(tree, clean) of merging `theirs` into `ours`; unrelated histories count as a conflict."""
        done = subprocess.run(
            ["git", f"--git-dir={self.path}", "merge-tree", "--write-tree", "--no-messages", ours, theirs],
            capture_output=True, env=self.env(),
        )  # fmt: skip
        if done.returncode not in (0, 1):
            return "", False
        return done.stdout.decode().split("\n", 1)[0].strip(), done.returncode == 0

    def set_head(self, branch: str) -> None:
        self.run("symbolic-ref", "HEAD", f"refs/heads/{branch}")


def _commit(record: str) -> Commit:
    sha, parents, an, ae, ad, cn, ce, cd, message = record.lstrip("\n").split("\x1f", 8)
    return Commit(sha, tuple(parents.split()), an, ae, ad, cn, ce, cd, message)


def _entry(line: str) -> Entry:
    meta, path = line.split("\t", 1)
    mode, kind, sha = meta.split(" ")
    return Entry(mode, kind, sha, path)
