"""Diffs between two commits in GitLab's shape (`old_path`, `new_path`, modes, flags, hunk text).

File metadata comes from `git diff --raw -z` (unambiguous paths), the hunks from the patch of the
same diff; both list files in the same order, so they are zipped. GitLab's `diff` holds the hunks
only (from the first `@@`), without the `diff --git`/`---`/`+++` header lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fakes.gitlab.git import EMPTY_TREE, Repo

_SHORTSTAT = re.compile(r"(\d+) insertion|(\d+) deletion")


@dataclass(frozen=True)
class FileDiff:
    old_path: str
    new_path: str
    a_mode: str
    b_mode: str
    diff: str
    new_file: bool
    renamed_file: bool
    deleted_file: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "old_path": self.old_path,
            "new_path": self.new_path,
            "a_mode": self.a_mode,
            "b_mode": self.b_mode,
            "diff": self.diff,
            "new_file": self.new_file,
            "renamed_file": self.renamed_file,
            "deleted_file": self.deleted_file,
            "generated_file": False,
        }


def diff(repo: Repo, a: str | None, b: str) -> list[FileDiff]:
    """Changes from `a` (None: the empty tree) to `b`."""
    base = a or EMPTY_TREE
    raw = repo.run("diff", "--raw", "-z", "-M", "--no-abbrev", base, b).decode("utf-8", "replace")
    patch = repo.run("diff", "-M", "--no-color", "--no-ext-diff", "--full-index", base, b)
    sections = _sections(patch.decode("utf-8", "replace"))
    files: list[FileDiff] = []
    tokens = raw.split("\0")
    i = 0
    while i < len(tokens) and tokens[i].startswith(":"):
        a_mode, b_mode, _, _, status = tokens[i][1:].split(" ")
        old_path = tokens[i + 1]
        renamed = status[:1] in ("R", "C")
        new_path = tokens[i + 2] if renamed else old_path
        i += 3 if renamed else 2
        body = sections[len(files)] if len(files) < len(sections) else ""
        files.append(
            FileDiff(
                old_path=old_path,
                new_path=new_path,
                a_mode=a_mode.lstrip("0") or "0",
                b_mode=b_mode.lstrip("0") or "0",
                diff=body,
                new_file=status == "A",
                renamed_file=renamed,
                deleted_file=status == "D",
            )
        )
    return files


def _sections(patch: str) -> list[str]:
    bodies: list[str] = []
    for section in re.split(r"^diff --git ", patch, flags=re.MULTILINE)[1:]:
        at = section.find("\n@@")
        bodies.append(section[at + 1 :] if at >= 0 else "")
    return bodies


def stats(repo: Repo, a: str | None, b: str) -> dict[str, int]:
    out = repo.run("diff", "--shortstat", a or EMPTY_TREE, b).decode()
    additions = deletions = 0
    for added, deleted in _SHORTSTAT.findall(out):
        additions += int(added or 0)
        deletions += int(deleted or 0)
    return {"additions": additions, "deletions": deletions, "total": additions + deletions}
