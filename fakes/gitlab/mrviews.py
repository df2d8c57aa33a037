"""Merge requests as GitLab shows them over REST: the entity, its live git state, its approvals.

What comes from git is read live: the source branch head (`sha`), `diff_refs`, conflicts (by
`merge-tree`) and the head pipeline; a merged request keeps what it had at merge time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakes.gitlab.store import MergeRequest, Project
from fakes.gitlab.views import pipeline_json, pipeline_status, project_web, user_ref

if TYPE_CHECKING:
    from fakes.gitlab.instance import Instance

DRAFT = re.compile(r"^\s*(\[draft\]|draft:|\(draft\)|draft\s-\s|\[wip\]|wip:)\s*", re.IGNORECASE)
STATE_IDS = {"opened": 1, "closed": 2, "merged": 3, "locked": 4}


@dataclass(frozen=True)
class Live:
    sha: str | None
    base_sha: str | None
    start_sha: str | None
    has_conflicts: bool
    broken: bool  # a branch is missing


def is_draft(title: str) -> bool:
    return bool(DRAFT.match(title))


def live(inst: Instance, project: Project, mr: MergeRequest) -> Live:
    if mr.state == "merged":
        return Live(mr.sha, mr.merged_base_sha, mr.merged_start_sha, False, False)
    repo = inst.repo(project)
    heads = repo.branches()
    source, target = heads.get(mr.source_branch), heads.get(mr.target_branch)
    sha = source or mr.sha or None
    base = repo.merge_base(target, sha) if target and sha else None
    conflicts = bool(target and source and mr.state == "opened" and inst.conflicts(repo, target, source))
    return Live(sha, base, target, conflicts, source is None or target is None)


def detailed_status(inst: Instance, project: Project, mr: MergeRequest, state: Live) -> str:
    if mr.state != "opened":
        return "not_open"
    if is_draft(mr.title):
        return "draft_status"
    if state.broken:
        return "broken_status"
    if state.has_conflicts:
        return "conflict"
    if project.only_allow_merge_if_pipeline_succeeds:
        pipeline = inst.head_pipeline(project, state.sha)
        status = pipeline_status(inst, pipeline) if pipeline else None
        if status in ("running", "pending", "created"):
            return "ci_still_running"
        if status != "success":
            return "ci_must_pass"
    return "mergeable"


def mr_json(inst: Instance, project: Project, mr: MergeRequest, *, full: bool = False) -> dict[str, Any]:
    state = live(inst, project, mr)
    web = f"{project_web(inst, project)}/-/merge_requests/{mr.iid}"
    path = inst.store.project_path(project)
    assignees = [user_ref(inst, i) for i in mr.assignee_ids if i in inst.store.users]
    notes = [n for n in inst.store.notes.values() if n.project_id == project.id and n.mr_iid == mr.iid]
    detailed = detailed_status(inst, project, mr, state)
    data: dict[str, Any] = {
        "id": mr.id, "iid": mr.iid, "project_id": project.id, "title": mr.title,
        "description": mr.description, "state": mr.state, "created_at": mr.created_at,
        "updated_at": mr.updated_at, "merged_by": user_ref(inst, mr.merged_by_id),
        "merge_user": user_ref(inst, mr.merged_by_id), "merged_at": mr.merged_at,
        "closed_by": user_ref(inst, mr.closed_by_id), "closed_at": mr.closed_at,
        "target_branch": mr.target_branch, "source_branch": mr.source_branch,
        "user_notes_count": sum(not n.system for n in notes), "upvotes": 0, "downvotes": 0,
        "author": user_ref(inst, mr.author_id), "assignees": assignees,
        "assignee": assignees[0] if assignees else None,
        "reviewers": [user_ref(inst, i) for i in mr.reviewer_ids if i in inst.store.users],
        "source_project_id": project.id, "target_project_id": project.id, "labels": list(mr.labels),
        "draft": is_draft(mr.title), "work_in_progress": is_draft(mr.title), "milestone": None,
        "merge_when_pipeline_succeeds": False,
        "merge_status": "cannot_be_merged" if state.has_conflicts else "can_be_merged",
        "detailed_merge_status": detailed, "sha": state.sha, "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": mr.squash_commit_sha, "discussion_locked": None,
        "should_remove_source_branch": None, "force_remove_source_branch": mr.force_remove_source_branch,
        "prepared_at": mr.created_at, "reference": f"!{mr.iid}",
        "references": {"short": f"!{mr.iid}", "relative": f"!{mr.iid}", "full": f"{path}!{mr.iid}"},
        "web_url": web, "time_stats": {"time_estimate": 0, "total_time_spent": 0,
                                       "human_time_estimate": None, "human_total_time_spent": None},
        "squash": mr.squash, "squash_on_merge": mr.squash,
        "task_completion_status": {"count": 0, "completed_count": 0}, "has_conflicts": state.has_conflicts,
        "blocking_discussions_resolved": True, "approvals_before_merge": None,
    }  # fmt: skip
    if full:
        pipeline = inst.head_pipeline(project, state.sha)
        pipe = pipeline_json(inst, pipeline, full=True) if pipeline else None
        data |= {
            "subscribed": False, "changes_count": None, "latest_build_started_at": None,
            "latest_build_finished_at": None, "first_deployed_to_production_at": None,
            "pipeline": pipeline_json(inst, pipeline) if pipeline else None, "head_pipeline": pipe,
            "diff_refs": {"base_sha": state.base_sha, "head_sha": state.sha, "start_sha": state.start_sha},
            "merge_error": None, "first_contribution": False, "user": {"can_merge": True},
        }  # fmt: skip
    return data


def approvals_json(inst: Instance, project: Project, mr: MergeRequest, user_id: int) -> dict[str, Any]:
    return {
        "id": mr.id, "iid": mr.iid, "project_id": project.id, "title": mr.title,
        "description": mr.description, "state": mr.state, "created_at": mr.created_at,
        "updated_at": mr.updated_at, "merge_status": "can_be_merged", "approved": bool(mr.approved_by),
        "approvals_required": 0, "approvals_left": 0, "require_password_to_approve": False,
        "approved_by": [{"user": user_ref(inst, i)} for i in mr.approved_by if i in inst.store.users],
        "suggested_approvers": [], "approvers": [], "approver_groups": [],
        "user_has_approved": user_id in mr.approved_by, "user_can_approve": user_id not in mr.approved_by,
        "approval_rules_left": [], "has_approval_rules": False,
        "merge_request_approvers_available": False, "multiple_approval_rules_available": False,
        "invalid_approvers_rules": [],
    }  # fmt: skip
