"""Everything the GitLab fake knows besides git itself, kept in one JSON file so a restart keeps it.

Git data (branches, commits, files) lives only in the bare repositories; this file holds users,
namespaces (groups and personal ones), projects, merge requests, notes, hooks, pipelines and commit
statuses, each with GitLab's ids. Ids are global per kind; merge requests also get a per-project iid.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class User:
    id: int
    username: str
    name: str
    email: str
    created_at: str


@dataclass
class Namespace:
    id: int
    name: str
    path: str
    kind: str  # "group" or "user"
    parent_id: int | None = None
    description: str = ""
    visibility: str = "private"
    created_at: str = ""


@dataclass
class Project:
    id: int
    name: str
    path: str
    namespace_id: int
    creator_id: int
    default_branch: str = "main"
    description: str = ""
    visibility: str = "private"
    created_at: str = ""
    last_activity_at: str = ""
    protected_branches: list[str] = field(default_factory=list)
    only_allow_merge_if_pipeline_succeeds: bool = False
    remove_source_branch_after_merge: bool = True
    next_iid: int = 1


@dataclass
class MergeRequest:
    id: int
    iid: int
    project_id: int
    title: str
    source_branch: str
    target_branch: str
    author_id: int
    description: str = ""
    state: str = "opened"  # opened, closed, merged
    created_at: str = ""
    updated_at: str = ""
    sha: str = ""  # the source branch head as last seen
    labels: list[str] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    reviewer_ids: list[int] = field(default_factory=list)
    approved_by: list[int] = field(default_factory=list)
    merged_by_id: int | None = None
    merged_at: str | None = None
    closed_by_id: int | None = None
    closed_at: str | None = None
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    merged_base_sha: str | None = None  # diff_refs frozen at merge time
    merged_start_sha: str | None = None
    squash: bool = False
    force_remove_source_branch: bool = False
    last_edited_at: str | None = None
    last_edited_by_id: int | None = None


@dataclass
class Note:
    id: int
    project_id: int
    mr_iid: int
    body: str
    author_id: int
    created_at: str
    updated_at: str
    system: bool = False


@dataclass
class Hook:
    id: int
    project_id: int
    url: str
    token: str = ""
    name: str = ""
    description: str = ""
    created_at: str = ""
    events: dict[str, bool] = field(default_factory=dict)  # push_events, merge_requests_events, ...
    push_events_branch_filter: str = ""
    branch_filter_strategy: str = "wildcard"
    enable_ssl_verification: bool = True


@dataclass
class Pipeline:
    id: int
    iid: int
    project_id: int
    sha: str
    ref: str
    user_id: int
    source: str = "external"
    created_at: str = ""
    updated_at: str = ""


@dataclass
class CommitStatus:
    id: int
    project_id: int
    pipeline_id: int
    sha: str
    ref: str
    name: str
    status: str  # pending, running, success, failed, canceled, skipped
    author_id: int
    target_url: str | None = None
    description: str | None = None
    coverage: float | None = None
    allow_failure: bool = False
    created_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None


def _load(cls: type[T], data: dict[str, Any]) -> T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


KINDS: dict[str, type[Any]] = {
    "users": User,
    "namespaces": Namespace,
    "projects": Project,
    "merge_requests": MergeRequest,
    "notes": Note,
    "hooks": Hook,
    "pipelines": Pipeline,
    "statuses": CommitStatus,
}


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.counters: dict[str, int] = {}
        self.users: dict[int, User] = {}
        self.namespaces: dict[int, Namespace] = {}
        self.projects: dict[int, Project] = {}
        self.merge_requests: dict[int, MergeRequest] = {}
        self.notes: dict[int, Note] = {}
        self.hooks: dict[int, Hook] = {}
        self.pipelines: dict[int, Pipeline] = {}
        self.statuses: dict[int, CommitStatus] = {}
        if path.exists():
            data = json.loads(path.read_text())
            self.counters = dict(data.get("counters", {}))
            for kind, cls in KINDS.items():
                table: dict[int, Any] = getattr(self, kind)
                for item in data.get(kind, []):
                    obj = _load(cls, item)
                    table[obj.id] = obj

    def save(self) -> None:
        data: dict[str, Any] = {"counters": self.counters}
        for kind in KINDS:
            data[kind] = [asdict(obj) for obj in getattr(self, kind).values()]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.path)

    def next_id(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    # users and namespaces

    def user_named(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username.lower() == username.lower()), None)

    def ensure_user(self, username: str) -> User:
        user = self.user_named(username)
        if user is None:
            user = User(self.next_id("users"), username, username, f"{username}@example.com", now())
            self.users[user.id] = user
            ns = Namespace(self.next_id("namespaces"), username, username, "user", created_at=now())
            self.namespaces[ns.id] = ns
        return user

    def full_path(self, ns: Namespace) -> str:
        parent = self.namespaces.get(ns.parent_id) if ns.parent_id else None
        return f"{self.full_path(parent)}/{ns.path}" if parent else ns.path

    def namespace(self, ref: str) -> Namespace | None:
        if ref.isdigit():
            return self.namespaces.get(int(ref))
        return next((n for n in self.namespaces.values() if self.full_path(n).lower() == ref.lower()), None)

    # projects

    def project_path(self, project: Project) -> str:
        return f"{self.full_path(self.namespaces[project.namespace_id])}/{project.path}"

    def project(self, ref: str) -> Project | None:
        if ref.isdigit():
            return self.projects.get(int(ref))
        ref = ref.lower().removesuffix(".git")
        return next((p for p in self.projects.values() if self.project_path(p).lower() == ref), None)

    def merge_request(self, project_id: int, iid: int) -> MergeRequest | None:
        return next(
            (m for m in self.merge_requests.values() if m.project_id == project_id and m.iid == iid), None
        )

    def project_mrs(self, project_id: int) -> list[MergeRequest]:
        return [m for m in self.merge_requests.values() if m.project_id == project_id]

    def delete_project(self, project_id: int) -> None:
        self.projects.pop(project_id, None)
        for kind in ("merge_requests", "notes", "hooks", "pipelines", "statuses"):
            table: dict[int, Any] = getattr(self, kind)
            for key in [k for k, v in table.items() if v.project_id == project_id]:
                del table[key]
