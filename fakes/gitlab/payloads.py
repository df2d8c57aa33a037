"""Webhook payloads in GitLab's shapes: Push Hook, Tag Push Hook, Merge Request Hook, Note Hook.

Keys follow doc/user/project/integrations/webhook_events.md and go-gitlab's `webhooks/push.json`
and `webhooks/merge_request.json` (../shared/specs/gitlab); tests compare the key sets.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from fakes.gitlab.git import ZERO
from fakes.gitlab.mrviews import STATE_IDS, detailed_status, is_draft, live
from fakes.gitlab.store import MergeRequest, Note, Project, User
from fakes.gitlab.views import avatar, project_web, user_basic

if TYPE_CHECKING:
    from fakes.gitlab.instance import Instance

MAX_COMMITS = 20


def hook_project(inst: Instance, project: Project) -> dict[str, Any]:
    path = inst.store.project_path(project)
    web = project_web(inst, project)
    host = inst.base_url.split("://", 1)[-1].split(":")[0]
    ssh = f"git@{host}:{path}.git"
    return {
        "id": project.id, "name": project.name, "description": project.description, "web_url": web,
        "avatar_url": None, "git_ssh_url": ssh, "git_http_url": f"{web}.git",
        "namespace": inst.store.namespaces[project.namespace_id].name, "visibility_level": 0,
        "path_with_namespace": path, "default_branch": project.default_branch, "ci_config_path": None,
        "homepage": web, "url": ssh, "ssh_url": ssh, "http_url": f"{web}.git",
    }  # fmt: skip


def hook_repository(inst: Instance, project: Project) -> dict[str, Any]:
    p = hook_project(inst, project)
    return {
        "name": p["name"], "url": p["url"], "description": p["description"], "homepage": p["homepage"],
        "git_http_url": p["git_http_url"], "git_ssh_url": p["git_ssh_url"], "visibility_level": 0,
    }  # fmt: skip


def hook_user(inst: Instance, user: User) -> dict[str, Any]:
    basic = user_basic(inst, user)
    return {k: basic[k] for k in ("id", "name", "username", "avatar_url")} | {"email": user.email}


def label_json(project: Project, title: str) -> dict[str, Any]:
    return {
        "id": zlib.crc32(f"{project.id}/{title}".encode()) % 1_000_000, "title": title, "color": "#6699cc",
        "project_id": project.id, "created_at": project.created_at, "updated_at": project.created_at,
        "template": False, "description": None, "type": "ProjectLabel", "group_id": None,
    }  # fmt: skip


def push(
    inst: Instance, project: Project, user: User, ref: str, before: str, after: str, shas: list[str]
) -> dict[str, Any]:
    """A push of `ref` from `before` to `after`; `shas` are the new commits, newest first."""
    repo = inst.repo(project)
    web = project_web(inst, project)
    commits = []
    for sha in reversed(shas[:MAX_COMMITS]):
        commit = repo.commit(sha)
        added, modified, removed = repo.changed_paths(sha)
        commits.append({
            "id": sha, "message": commit.message, "title": commit.title, "timestamp": commit.authored_date,
            "url": f"{web}/-/commit/{sha}", "author": {"name": commit.author_name, "email": commit.author_email},
            "added": added, "modified": modified, "removed": removed,
        })  # fmt: skip
    tag = ref.startswith("refs/tags/")
    branch = ref.removeprefix("refs/heads/")
    return {
        "object_kind": "tag_push" if tag else "push", "event_name": "tag_push" if tag else "push",
        "before": before, "after": after, "ref": ref,
        "ref_protected": not tag and branch in project.protected_branches,
        "checkout_sha": None if after == ZERO else after, "message": None, "user_id": user.id,
        "user_name": user.name, "user_username": user.username, "user_email": user.email,
        "user_avatar": avatar(user), "project_id": project.id, "project": hook_project(inst, project),
        "commits": commits, "total_commits_count": len(shas), "push_options": {},
        "repository": hook_repository(inst, project),
    }  # fmt: skip


def mr_attributes(inst: Instance, project: Project, mr: MergeRequest) -> dict[str, Any]:
    """`object_attributes` of a Merge Request Hook (without `action`), `merge_request` of a Note Hook."""
    state = live(inst, project, mr)
    web = project_web(inst, project)
    last = inst.repo(project).commit(state.sha) if state.sha else None
    pipeline = inst.head_pipeline(project, state.sha)
    return {
        "id": mr.id, "iid": mr.iid, "target_branch": mr.target_branch, "source_branch": mr.source_branch,
        "source_project_id": project.id, "author_id": mr.author_id, "assignee_ids": list(mr.assignee_ids),
        "assignee_id": mr.assignee_ids[0] if mr.assignee_ids else None, "reviewer_ids": list(mr.reviewer_ids),
        "title": mr.title, "created_at": mr.created_at, "updated_at": mr.updated_at,
        "last_edited_at": mr.last_edited_at, "last_edited_by_id": mr.last_edited_by_id, "milestone_id": None,
        "state_id": STATE_IDS[mr.state], "state": mr.state, "blocking_discussions_resolved": True,
        "work_in_progress": is_draft(mr.title), "draft": is_draft(mr.title), "first_contribution": False,
        "merge_status": "cannot_be_merged" if state.has_conflicts else "can_be_merged",
        "target_project_id": project.id, "description": mr.description, "prepared_at": mr.created_at,
        "merge_commit_sha": mr.merge_commit_sha, "merge_user_id": mr.merged_by_id,
        "head_pipeline_id": pipeline.id if pipeline else None, "time_estimate": 0, "total_time_spent": 0,
        "time_change": 0, "human_total_time_spent": None, "human_time_change": None,
        "human_time_estimate": None, "url": f"{web}/-/merge_requests/{mr.iid}",
        "source": hook_project(inst, project), "target": hook_project(inst, project),
        "last_commit": None if last is None else {
            "id": last.id, "message": last.message, "title": last.title, "timestamp": last.authored_date,
            "url": f"{web}/-/commit/{last.id}", "author": {"name": last.author_name, "email": last.author_email},
        },
        "labels": [label_json(project, name) for name in mr.labels],
        "detailed_merge_status": detailed_status(inst, project, mr, state),
    }  # fmt: skip


def merge_request(
    inst: Instance, project: Project, user: User, mr: MergeRequest, action: str,
    changes: dict[str, Any], oldrev: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    attrs = mr_attributes(inst, project, mr) | {"action": action}
    if oldrev:
        attrs["oldrev"] = oldrev
    people = inst.store.users
    return {
        "object_kind": "merge_request", "event_type": "merge_request", "user": hook_user(inst, user),
        "project": hook_project(inst, project), "object_attributes": attrs, "labels": attrs["labels"],
        "changes": changes,
        "assignees": [_short(inst, people[i]) for i in mr.assignee_ids if i in people],
        "reviewers": [_short(inst, people[i]) for i in mr.reviewer_ids if i in people],
        "repository": {k: v for k, v in hook_repository(inst, project).items()
                       if k in ("name", "url", "description", "homepage")},
    }  # fmt: skip


def note(inst: Instance, project: Project, user: User, mr: MergeRequest, item: Note) -> dict[str, Any]:
    url = f"{project_web(inst, project)}/-/merge_requests/{mr.iid}#note_{item.id}"
    return {
        "object_kind": "note", "event_type": "note", "user": hook_user(inst, user), "project_id": project.id,
        "project": hook_project(inst, project), "repository": hook_repository(inst, project),
        "object_attributes": {
            "id": item.id, "note": item.body, "noteable_type": "MergeRequest", "author_id": item.author_id,
            "created_at": item.created_at, "updated_at": item.updated_at, "project_id": project.id,
            "attachment": None, "line_code": None, "commit_id": "", "noteable_id": mr.id,
            "system": item.system, "st_diff": None, "url": url, "action": "create", "type": None,
            "internal": False, "confidential": False, "description": item.body,
        },
        "merge_request": mr_attributes(inst, project, mr),
    }  # fmt: skip


def _short(inst: Instance, user: User) -> dict[str, Any]:
    return {k: v for k, v in hook_user(inst, user).items() if k != "email"}
