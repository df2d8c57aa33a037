"""GitLab's JSON, as much of it as the adapter reads (msgspec ignores the rest), and its port shapes."""

from __future__ import annotations

import msgspec

from appliance.ports import scm

HOOK_EVENTS = (
    "push_events", "tag_push_events", "merge_requests_events", "note_events", "confidential_note_events",
    "issues_events", "confidential_issues_events", "job_events", "pipeline_events", "wiki_page_events",
    "deployment_events", "releases_events",
)  # fmt: skip


class User(msgspec.Struct):
    username: str


class Project(msgspec.Struct):
    id: int
    name: str
    path_with_namespace: str
    default_branch: str | None = None
    web_url: str = ""
    http_url_to_repo: str = ""


class File(msgspec.Struct):
    file_path: str
    ref: str
    content: bytes  # the files API always answers base64, which msgspec decodes
    blob_id: str = ""
    commit_id: str = ""
    last_commit_id: str = ""


class TreeEntry(msgspec.Struct):
    path: str
    type: str


class Commit(msgspec.Struct):
    id: str
    title: str = ""
    message: str | None = None
    parent_ids: list[str] | None = None
    author_name: str | None = None
    author_email: str | None = None
    authored_date: str | None = None
    web_url: str | None = None


class Branch(msgspec.Struct):
    name: str
    commit: Commit
    protected: bool = False
    default: bool = False
    web_url: str | None = None


class MergeRequest(msgspec.Struct):
    id: int
    iid: int
    project_id: int
    title: str
    state: str
    source_branch: str
    target_branch: str
    web_url: str
    description: str | None = None
    sha: str | None = None
    merge_status: str | None = None
    detailed_merge_status: str | None = None
    has_conflicts: bool = False
    draft: bool | None = None
    work_in_progress: bool = False
    merge_commit_sha: str | None = None


class Approver(msgspec.Struct):
    user: User


class Approvals(msgspec.Struct):
    approved: bool = False
    approved_by: list[Approver] | None = None
    user_has_approved: bool = False


class Note(msgspec.Struct):
    id: int
    body: str
    author: User


class Hook(msgspec.Struct):
    id: int
    url: str
    push_events: bool | None = None
    tag_push_events: bool | None = None
    merge_requests_events: bool | None = None
    note_events: bool | None = None
    confidential_note_events: bool | None = None
    issues_events: bool | None = None
    confidential_issues_events: bool | None = None
    job_events: bool | None = None
    pipeline_events: bool | None = None
    wiki_page_events: bool | None = None
    deployment_events: bool | None = None
    releases_events: bool | None = None


class Status(msgspec.Struct):
    id: int
    sha: str
    name: str
    status: str
    ref: str | None = None
    target_url: str | None = None
    description: str | None = None


def project(p: Project) -> scm.Project:
    return scm.Project(
        id=p.id, path=p.path_with_namespace, name=p.name, default_branch=p.default_branch or "",
        web_url=p.web_url, http_url=p.http_url_to_repo,
    )  # fmt: skip


def file(f: File) -> scm.File:
    return scm.File(
        path=f.file_path, ref=f.ref, content=f.content, blob_id=f.blob_id, commit_id=f.commit_id,
        last_commit_id=f.last_commit_id,
    )  # fmt: skip


def commit(c: Commit) -> scm.Commit:
    return scm.Commit(
        sha=c.id, title=c.title, message=c.message or c.title, parent_shas=tuple(c.parent_ids or ()),
        author_name=c.author_name or "", author_email=c.author_email or "",
        authored_at=c.authored_date or "", web_url=c.web_url or "",
    )  # fmt: skip


def branch(b: Branch) -> scm.Branch:
    return scm.Branch(
        name=b.name, sha=b.commit.id, protected=b.protected, default=b.default, web_url=b.web_url or ""
    )


def merge_request(m: MergeRequest, approvals: Approvals) -> scm.MergeRequest:
    return scm.MergeRequest(
        id=m.id, iid=m.iid, project_id=m.project_id, title=m.title, description=m.description or "",
        state=m.state, source_branch=m.source_branch, target_branch=m.target_branch, sha=m.sha or "",
        merge_status=m.merge_status or "", detailed_merge_status=m.detailed_merge_status or "",
        has_conflicts=m.has_conflicts, draft=m.work_in_progress if m.draft is None else m.draft,
        web_url=m.web_url, merge_commit_sha=m.merge_commit_sha or "", approved=approvals.approved,
        approved_by=tuple(a.user.username for a in approvals.approved_by or ()),
    )  # fmt: skip


def note(n: Note) -> scm.Note:
    return scm.Note(id=n.id, body=n.body, author=n.author.username)


def hook(h: Hook) -> scm.Hook:
    return scm.Hook(id=h.id, url=h.url, events=tuple(e for e in HOOK_EVENTS if getattr(h, e)))


def status(s: Status) -> scm.CommitStatus:
    return scm.CommitStatus(
        id=s.id, sha=s.sha, ref=s.ref or "", name=s.name, state=s.status, target_url=s.target_url or "",
        description=s.description or "",
    )  # fmt: skip
