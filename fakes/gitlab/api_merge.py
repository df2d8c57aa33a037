"""REST: merging a merge request (a real merge commit on the target branch) and what it changes.

`PUT .../merge` answers like GitLab: 405 when the request is not open, is a draft, has a missing
branch, or the project requires a successful pipeline that the head does not have; 409 when `sha`
is not the source head; 422 `Branch cannot be merged` on conflicts. The merge method is GitLab's
default (`merge`: always a merge commit); with `squash` the source changes first become one commit.
"""

from __future__ import annotations

from typing import Any

from fakes.gitlab import diffs, events
from fakes.gitlab.git import ZERO, GitError
from fakes.gitlab.http import ApiError, Request, Response, Router, paginate
from fakes.gitlab.instance import Instance
from fakes.gitlab.mrviews import detailed_status, live, mr_json
from fakes.gitlab.store import MergeRequest, Project, now
from fakes.gitlab.views import commit_json, pipeline_json

NOT_ALLOWED = {"message": "405 Method Not Allowed"}


def merge(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    user = inst.store.users[req.user_id]
    repo = inst.repo(project)
    state = live(inst, project, mr)
    status = detailed_status(inst, project, mr, state)
    if status in ("not_open", "draft_status", "broken_status", "ci_must_pass", "ci_still_running"):
        raise ApiError(405, NOT_ALLOWED)
    if (sha := req.text("sha")) and sha != state.sha:
        raise ApiError(409, {"message": f"SHA does not match HEAD of source branch: {state.sha}"})
    target, source = state.start_sha, state.sha
    assert target is not None and source is not None
    tree, clean = repo.merge_tree(target, source)
    if not clean:
        raise ApiError(422, {"message": "Branch cannot be merged"})
    person = inst.person(user)
    squash = None
    if req.flag("squash", default=mr.squash):
        squash_message = req.text("squash_commit_message") or mr.title
        squash = repo.commit_tree(tree, [target], squash_message, person, person)
    path = inst.store.project_path(project)
    message = req.text("merge_commit_message") or (
        f"Merge branch '{mr.source_branch}' into '{mr.target_branch}'\n\n{mr.title}\n\n"
        f"See merge request {path}!{mr.iid}"
    )
    merge_sha = repo.commit_tree(tree, [target, squash or source], message, person, person)
    try:
        repo.update_ref(mr.target_branch, merge_sha, target)
    except GitError:
        raise ApiError(422, {"message": "Branch cannot be merged"}) from None
    mr.state, mr.merged_at, mr.merged_by_id, mr.merge_commit_sha = "merged", now(), user.id, merge_sha
    mr.sha, mr.merged_base_sha, mr.merged_start_sha = source, state.base_sha, target
    mr.squash_commit_sha = squash
    changes = events.touch(mr) | {"state_id": {"previous": 1, "current": 3}}
    inst.ref_changes(project, user, [(f"refs/heads/{mr.target_branch}", target, merge_sha)])
    events.merge_request(inst, project, user, mr, "merge", changes)
    remove = req.flag("should_remove_source_branch", default=mr.force_remove_source_branch)
    protected = mr.source_branch in project.protected_branches
    if remove and not protected and repo.branches().get(mr.source_branch) == source:
        inst.move_branch(project, user, mr.source_branch, ZERO, source)
    return Response(200, mr_json(inst, project, mr, full=True))


def _range(inst: Instance, project: Project, mr: MergeRequest) -> tuple[str | None, str | None]:
    state = live(inst, project, mr)
    return state.base_sha, state.sha


def _diffs(inst: Instance, project: Project, mr: MergeRequest) -> list[dict[str, Any]]:
    base, head = _range(inst, project, mr)
    return [d.as_json() for d in diffs.diff(inst.repo(project), base, head)] if base and head else []


def changes(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    files = _diffs(inst, project, mr)
    data = mr_json(inst, project, mr, full=True) | {"changes": files, "changes_count": str(len(files))}
    return Response(200, data | {"overflow": False})


def list_diffs(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    return paginate(req, _diffs(inst, project, inst.merge_request(req, project, iid)))


def _commits(inst: Instance, project: Project, mr: MergeRequest) -> list[dict[str, Any]]:
    base, head = _range(inst, project, mr)
    if not head:
        return []
    repo = inst.repo(project)
    return [commit_json(inst, project, repo.commit(s)) for s in repo.rev_list(head, [base] if base else [])]


def commits(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    return paginate(req, _commits(inst, project, inst.merge_request(req, project, iid)))


def _version(inst: Instance, project: Project, mr: MergeRequest) -> dict[str, Any]:
    state = live(inst, project, mr)
    return {
        "id": mr.id, "head_commit_sha": state.sha, "base_commit_sha": state.base_sha,
        "start_commit_sha": state.start_sha, "created_at": mr.updated_at, "merge_request_id": mr.id,
        "state": "collected", "real_size": str(len(_diffs(inst, project, mr))), "patch_id_sha": None,
    }  # fmt: skip


def versions(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    return paginate(req, [_version(inst, project, inst.merge_request(req, project, iid))])


def version(inst: Instance, req: Request, project_id: str, iid: str, version_id: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    if version_id != str(mr.id):
        raise ApiError(404, {"message": "404 Not found"})
    extra = {"commits": _commits(inst, project, mr), "diffs": _diffs(inst, project, mr)}
    return Response(200, _version(inst, project, mr) | extra)


def mr_pipelines(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    shas = {c["id"] for c in _commits(inst, project, mr)}
    found = [p for p in inst.store.pipelines.values() if p.project_id == project.id and p.sha in shas]
    return paginate(req, [pipeline_json(inst, p) for p in sorted(found, key=lambda p: p.id, reverse=True)])


def routes(router: Router) -> None:
    one = "projects/:project_id/merge_requests/:iid"
    router.add("PUT", f"{one}/merge", merge)
    router.add("GET", f"{one}/changes", changes)
    router.add("GET", f"{one}/diffs", list_diffs)
    router.add("GET", f"{one}/commits", commits)
    router.add("GET", f"{one}/versions", versions)
    router.add("GET", f"{one}/versions/:version_id", version)
    router.add("GET", f"{one}/pipelines", mr_pipelines)
