"""SCM: repositories, branches, commits and merge requests (GitLab in every target).

Projects are named by their full path (`shop/shop-api`) or numeric id as text. Writes that a
service may repeat after a crash are idempotent: `create_branch` returns the branch if it exists,
`commit` with a `key` finds the commit it made before, `open_mr` returns the open merge request of
the same source branch, `comment_mr` with a `key` finds its earlier note, `approve_mr`, `merge_mr`
and `close_mr` accept a request already in the wanted state, `add_hook` is one hook per URL.
Failures are the port error tree (`appliance.ports.errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

StatusState = Literal["pending", "running", "success", "failed", "canceled", "skipped"]


class Project(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    path: str  # full path with namespace, e.g. "shop/shop-api"
    name: str
    default_branch: str  # "" while the repository is empty
    web_url: str
    http_url: str  # clone URL


class File(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    ref: str
    content: bytes
    blob_id: str
    commit_id: str  # the commit `ref` resolved to
    last_commit_id: str  # the last commit that changed this file


class Branch(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    sha: str
    protected: bool = False
    default: bool = False
    web_url: str = ""


class Commit(msgspec.Struct, frozen=True, kw_only=True):
    sha: str
    title: str
    message: str
    parent_shas: tuple[str, ...] = ()
    author_name: str = ""
    author_email: str = ""
    authored_at: str = ""  # ISO 8601, as GitLab gives it
    web_url: str = ""


class FileAction(msgspec.Struct, frozen=True, kw_only=True):
    action: Literal["create", "update", "delete"]
    path: str
    content: bytes = b""  # ignored by "delete"


class MergeRequest(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    iid: int  # the number within the project: `!iid`
    project_id: int
    title: str
    description: str
    state: str  # opened, closed, merged, locked
    source_branch: str
    target_branch: str
    sha: str  # head of the source branch ("" if unknown)
    merge_status: str  # can_be_merged, cannot_be_merged, unchecked, ...
    detailed_merge_status: str  # mergeable, conflict, not_open, draft_status, ci_must_pass, ...
    has_conflicts: bool
    draft: bool
    web_url: str
    merge_commit_sha: str = ""
    approved: bool = False
    approved_by: tuple[str, ...] = ()  # usernames


class Note(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    body: str
    author: str  # username


class Hook(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    url: str
    events: tuple[str, ...]  # the enabled ones, GitLab's names: push_events, merge_requests_events, ...


class CommitStatus(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    sha: str
    ref: str
    name: str
    state: str
    target_url: str = ""
    description: str = ""


class Scm(Protocol):
    async def get_project(self, *, project: str) -> Project: ...

    async def get_file(self, *, project: str, path: str, ref: str) -> File: ...

    async def list_files(self, *, project: str, ref: str, path: str = "") -> list[str]:
        """Paths of the files under `path` (recursively) at `ref`."""
        ...

    async def list_branches(self, *, project: str, search: str = "") -> list[Branch]: ...

    async def create_branch(self, *, project: str, branch: str, ref: str) -> Branch:
        """Create `branch` at `ref`; an existing branch of that name is returned as it is."""
        ...

    async def commit(
        self,
        *,
        project: str,
        branch: str,
        message: str,
        actions: Sequence[FileAction],
        start_branch: str | None = None,
        key: str | None = None,
    ) -> Commit:
        """One commit of `actions` on `branch` (created from `start_branch` if given).

        With a `key`, the message carries it as a `PathOps-Key:` trailer and a commit on the
        branch that already has it is returned instead of committing again."""
        ...

    async def get_commit(self, *, project: str, sha: str) -> Commit: ...

    async def open_mr(
        self,
        *,
        project: str,
        source_branch: str,
        target_branch: str,
        title: str,
        description: str = "",
        labels: Sequence[str] = (),
        remove_source_branch: bool = False,
    ) -> MergeRequest:
        """Open a merge request, or return the open one from the same source branch."""
        ...

    async def get_mr(self, *, project: str, iid: int) -> MergeRequest: ...

    async def comment_mr(self, *, project: str, iid: int, body: str, key: str | None = None) -> Note:
        """Add a note; with a `key`, a note already made with that key is returned instead."""
        ...

    async def approve_mr(self, *, project: str, iid: int, sha: str | None = None) -> MergeRequest:
        """Approve as the adapter's user (once); `sha` must be the head of the source branch."""
        ...

    async def merge_mr(
        self,
        *,
        project: str,
        iid: int,
        sha: str,
        message: str | None = None,
        remove_source_branch: bool = False,
    ) -> MergeRequest:
        """Merge if the source head is still `sha`; a request already merged at `sha` is returned."""
        ...

    async def close_mr(self, *, project: str, iid: int) -> MergeRequest: ...

    async def add_hook(
        self,
        *,
        project: str,
        url: str,
        token: str,
        events: Sequence[str] = ("push_events", "merge_requests_events"),
    ) -> Hook:
        """One project hook per URL: an existing hook with this URL is updated, not duplicated."""
        ...

    async def set_commit_status(
        self,
        *,
        project: str,
        sha: str,
        state: StatusState,
        name: str,
        target_url: str = "",
        description: str = "",
        ref: str | None = None,
    ) -> CommitStatus: ...
