"""What happens when a branch moves or a merge request changes: hooks fire, merge requests follow.

Push events fire for every branch change (REST commits, branches created or deleted through the
API, merges, `git push`), tag pushes for tags. Merge request events carry GitLab's `action`
(`open`, `update`, `close`, `reopen`, `approved`, `unapproved`, `merge`); a push to a merge
request's source branch is an `update` with `oldrev`; a push that brings a merge request's head
into its target branch merges it, as GitLab's post-receive does.
"""

from __future__ import annotations

import fnmatch
import re
import uuid
from typing import TYPE_CHECKING, Any

from fakes.gitlab import payloads
from fakes.gitlab.git import ZERO, Repo
from fakes.gitlab.store import Hook, MergeRequest, Note, Project, User, now
from fakes.gitlab.views import DEFAULT_ON

if TYPE_CHECKING:
    from fakes.gitlab.instance import Instance

USER_AGENT = "GitLab/17.5.0"


def fire(
    inst: Instance,
    project: Project,
    flag: str,
    event: str,
    payload: dict[str, Any],
    branch: str | None = None,
) -> None:
    event_uuid = str(uuid.uuid4())
    for hook in sorted(inst.store.hooks.values(), key=lambda h: h.id):
        if hook.project_id != project.id or not hook.events.get(flag, flag in DEFAULT_ON):
            continue
        if branch is not None and not branch_matches(hook, branch):
            continue
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Gitlab-Event": event,
            "X-Gitlab-Instance": inst.base_url,
            "X-Gitlab-Webhook-UUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{inst.base_url}/hooks/{hook.id}")),
            "X-Gitlab-Event-UUID": event_uuid,
            "Idempotency-Key": str(uuid.uuid4()),
        }
        if hook.token:
            headers["X-Gitlab-Token"] = hook.token
        inst.deliveries.post(hook.url, payload, headers)


def branch_matches(hook: Hook, branch: str) -> bool:
    pattern = hook.push_events_branch_filter
    if hook.branch_filter_strategy == "all_branches" or not pattern:
        return True
    if hook.branch_filter_strategy == "regex":
        try:
            return re.search(pattern, branch) is not None
        except re.error:
            return False
    return fnmatch.fnmatchcase(branch, pattern)


def ref_changes(inst: Instance, project: Project, user: User, changes: list[tuple[str, str, str]]) -> None:
    repo = inst.repo(project)
    heads = repo.branches()
    for ref, before, after in changes:
        if ref.startswith("refs/tags/"):
            shas = _new_commits(repo, heads, ref, before, after)
            payload = payloads.push(inst, project, user, ref, before, after, shas)
            fire(inst, project, "tag_push_events", "Tag Push Hook", payload)
        elif ref.startswith("refs/heads/"):
            branch = ref.removeprefix("refs/heads/")
            shas = _new_commits(repo, heads, ref, before, after)
            payload = payloads.push(inst, project, user, ref, before, after, shas)
            fire(inst, project, "push_events", "Push Hook", payload, branch=branch)
            _refresh(inst, project, user, branch, after, set(shas))


def _new_commits(repo: Repo, heads: dict[str, str], ref: str, before: str, after: str) -> list[str]:
    if after == ZERO:
        return []
    if before != ZERO:
        return repo.rev_list(after, [before])
    return repo.rev_list(after, [sha for name, sha in heads.items() if f"refs/heads/{name}" != ref])


def _refresh(inst: Instance, project: Project, user: User, branch: str, after: str, pushed: set[str]) -> None:
    for mr in inst.store.project_mrs(project.id):
        if mr.state != "opened":
            continue
        if mr.source_branch == branch and after not in (ZERO, mr.sha):
            oldrev, mr.sha = mr.sha, after
            changes = touch(mr)
            merge_request(inst, project, user, mr, "update", changes, oldrev=oldrev or None)
        elif mr.target_branch == branch and mr.sha and mr.sha in pushed:
            repo = inst.repo(project)
            mr.merged_base_sha = repo.merge_base(after, mr.sha)
            mr.merged_start_sha = after
            mr.state, mr.merged_at, mr.merged_by_id = "merged", now(), user.id
            changes = touch(mr) | {"state_id": {"previous": 1, "current": 3}}
            merge_request(inst, project, user, mr, "merge", changes)


def touch(mr: MergeRequest) -> dict[str, Any]:
    """Set `updated_at` to now; the `changes` entry GitLab sends for it."""
    previous, mr.updated_at = mr.updated_at, now()
    return {"updated_at": {"previous": _hook_time(previous), "current": _hook_time(mr.updated_at)}}


def _hook_time(stamp: str) -> str:
    return stamp.replace("T", " ").split(".")[0].removesuffix("Z") + " UTC" if stamp else stamp


def merge_request(
    inst: Instance, project: Project, user: User, mr: MergeRequest, action: str,
    changes: dict[str, Any], oldrev: str | None = None,
) -> None:  # fmt: skip
    payload = payloads.merge_request(inst, project, user, mr, action, changes, oldrev)
    fire(inst, project, "merge_requests_events", "Merge Request Hook", payload)


def note(inst: Instance, project: Project, user: User, mr: MergeRequest, item: Note) -> None:
    fire(inst, project, "note_events", "Note Hook", payloads.note(inst, project, user, mr, item))
