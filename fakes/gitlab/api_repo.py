"""REST: branches, protected branches and commits (list, get, diff, create with actions)."""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import Any

from fakes.gitlab import auth, diffs
from fakes.gitlab.actions import Action
from fakes.gitlab.git import ZERO, Commit, Person, valid_branch_name
from fakes.gitlab.http import ApiError, Request, Response, Router, bad_request, not_found, paginate
from fakes.gitlab.instance import Instance
from fakes.gitlab.store import Project
from fakes.gitlab.views import branch_json, commit_json, pipeline_json, pipeline_status

ACTIONS = ("create", "update", "delete", "move", "chmod")


def resolve(inst: Instance, project: Project, ref: str | None, what: str = "Commit") -> str:
    sha = inst.repo(project).resolve(project.default_branch if ref in (None, "", "HEAD") else str(ref))
    if sha is None:
        raise not_found(what)
    return sha


def commit_detail(inst: Instance, project: Project, commit: Commit) -> dict[str, Any]:
    repo = inst.repo(project)
    pipeline = inst.head_pipeline(project, commit.id)
    parent = commit.parent_ids[0] if commit.parent_ids else None
    return commit_json(inst, project, commit) | {
        "stats": diffs.stats(repo, parent, commit.id),
        "status": pipeline_status(inst, pipeline) if pipeline else None,
        "last_pipeline": pipeline_json(inst, pipeline) if pipeline else None,
        "project_id": project.id,
    }


# branches


def _branch(inst: Instance, req: Request, project: Project, name: str, sha: str) -> dict[str, Any]:
    repo = inst.repo(project)
    default = repo.branches().get(project.default_branch)
    merged = name != project.default_branch and default is not None and repo.is_ancestor(sha, default)
    can_push = auth.may_push(inst.scopes(inst.store.users[req.user_id]))
    return branch_json(inst, project, name, repo.commit(sha), merged=merged, can_push=can_push)


def list_branches(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    heads = sorted(inst.repo(project).branches().items())
    if search := req.text("search"):
        start, end = search.startswith("^"), search.endswith("$")
        term = search.strip("^$")
        heads = [
            (n, s)
            for n, s in heads
            if (n.startswith(term) if start else n.endswith(term) if end else term in n)
        ]
    if pattern := req.text("regex"):
        try:
            heads = [(n, s) for n, s in heads if re.search(pattern, n)]
        except re.error:
            raise bad_request("regex is invalid") from None
    return paginate(req, [_branch(inst, req, project, n, s) for n, s in heads])


def get_branch(inst: Instance, req: Request, project_id: str, branch: str) -> Response:
    project = inst.project(req, project_id)
    sha = inst.repo(project).branches().get(branch)
    if sha is None:
        raise not_found("Branch")
    req.object = f"branch {inst.store.project_path(project)}:{branch}"
    return Response(200, _branch(inst, req, project, branch, sha))


def create_branch(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    name, ref = req.need("branch"), req.need("ref")
    req.object = f"branch {inst.store.project_path(project)}:{name}"
    if not valid_branch_name(name):
        raise bad_request("Branch name is invalid")
    if name in inst.repo(project).branches():
        raise bad_request("Branch already exists")
    sha = inst.repo(project).resolve(ref)
    if sha is None:
        raise bad_request(f"Invalid reference name: {ref}")
    inst.move_branch(project, inst.store.users[req.user_id], name, sha, ZERO)
    return Response(201, _branch(inst, req, project, name, sha))


def delete_branch(inst: Instance, req: Request, project_id: str, branch: str) -> Response:
    project = inst.project(req, project_id)
    req.object = f"branch {inst.store.project_path(project)}:{branch}"
    sha = inst.repo(project).branches().get(branch)
    if sha is None:
        raise not_found("Branch")
    if branch == project.default_branch:
        raise ApiError(405, {"message": "The default branch of a project cannot be deleted."})
    if branch in project.protected_branches:
        raise ApiError(405, {"message": "Protected branch cant be removed"})
    inst.move_branch(project, inst.store.users[req.user_id], branch, ZERO, sha)
    return Response(204, None)


def _protected_json(project: Project, name: str) -> dict[str, Any]:
    level = {"access_level": 40, "access_level_description": "Maintainers", "deploy_key_id": None,
             "user_id": None, "group_id": None}  # fmt: skip
    ident = zlib.crc32(f"{project.id}/{name}".encode()) % 1_000_000
    return {
        "id": ident, "name": name, "push_access_levels": [{"id": ident} | level],
        "merge_access_levels": [{"id": ident} | level], "allow_force_push": False,
        "code_owner_approval_required": False,
    }  # fmt: skip


def list_protected(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    return paginate(req, [_protected_json(project, n) for n in project.protected_branches])


def get_protected(inst: Instance, req: Request, project_id: str, name: str) -> Response:
    project = inst.project(req, project_id)
    if name not in project.protected_branches:
        raise ApiError(404, {"message": "404 Not found"})
    return Response(200, _protected_json(project, name))


def protect(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    name = req.need("name")
    if name in project.protected_branches:
        raise ApiError(409, {"message": f"Protected branch '{name}' already exists"})
    project.protected_branches.append(name)
    return Response(201, _protected_json(project, name))


def unprotect(inst: Instance, req: Request, project_id: str, name: str) -> Response:
    project = inst.project(req, project_id)
    if name not in project.protected_branches:
        raise ApiError(404, {"message": "404 Not found"})
    project.protected_branches.remove(name)
    return Response(204, None)


# commits


def list_commits(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    repo = inst.repo(project)
    if not repo.branches():
        return paginate(req, [])
    revs = ["--all"] if req.flag("all") else [resolve(inst, project, req.text("ref_name"))]
    path = req.text("path")
    commits = repo.commits(*revs, paths=(path,) if path else (), first_parent=bool(req.flag("first_parent")))
    return paginate(req, [commit_json(inst, project, c) for c in commits])


def get_commit(inst: Instance, req: Request, project_id: str, sha: str) -> Response:
    project = inst.project(req, project_id)
    commit = inst.repo(project).commit(resolve(inst, project, sha))
    return Response(200, commit_detail(inst, project, commit))


def commit_diff(inst: Instance, req: Request, project_id: str, sha: str) -> Response:
    project = inst.project(req, project_id)
    repo = inst.repo(project)
    commit = repo.commit(resolve(inst, project, sha))
    parent = commit.parent_ids[0] if commit.parent_ids else None
    return paginate(req, [d.as_json() for d in diffs.diff(repo, parent, commit.id)])


def parse_actions(raw: Any) -> list[Action]:
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, {"error": "actions is missing"})
    actions = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ApiError(400, {"error": f"actions[{i}] is invalid"})
        kind, path = item.get("action"), item.get("file_path")
        if kind not in ACTIONS:
            raise ApiError(400, {"error": f"actions[{i}][action] does not have a valid value"})
        if not isinstance(path, str) or not path:
            raise ApiError(400, {"error": f"actions[{i}][file_path] is missing"})
        content = decode_content(item.get("content"), item.get("encoding"))
        mode = item.get("execute_filemode")
        actions.append(
            Action(kind, path, content, item.get("previous_path"), mode if isinstance(mode, bool) else None)
        )
    return actions


def decode_content(content: Any, encoding: Any) -> bytes | None:
    if content is None:
        return None
    if not isinstance(content, str):
        raise ApiError(400, {"error": "content is invalid"})
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error:
            raise bad_request("content is not valid base64") from None
    if encoding not in (None, "", "text"):
        raise ApiError(400, {"error": "encoding does not have a valid value"})
    return content.encode()


def author_of(req: Request) -> Person | None:
    name, email = req.text("author_name"), req.text("author_email")
    return Person(name, email) if name and email else None


def create_commit(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    branch, message = req.need("branch"), req.need("commit_message")
    actions = parse_actions(req.params.get("actions"))
    req.object = f"commit {inst.store.project_path(project)}:{branch}"
    sha = inst.commit(
        project, inst.store.users[req.user_id], branch=branch, message=message, actions=actions,
        start_branch=req.text("start_branch"), start_sha=req.text("start_sha"), author=author_of(req),
        force=bool(req.flag("force")),
    )  # fmt: skip
    return Response(201, commit_detail(inst, project, inst.repo(project).commit(sha)))


def routes(router: Router) -> None:
    base = "projects/:project_id"
    table: list[tuple[str, str, Any]] = [
        ("GET", "repository/branches", list_branches), ("POST", "repository/branches", create_branch),
        ("GET", "repository/branches/:branch", get_branch),
        ("DELETE", "repository/branches/:branch", delete_branch),
        ("GET", "protected_branches", list_protected), ("POST", "protected_branches", protect),
        ("GET", "protected_branches/:name", get_protected),
        ("DELETE", "protected_branches/:name", unprotect),
        ("GET", "repository/commits", list_commits), ("POST", "repository/commits", create_commit),
        ("GET", "repository/commits/:sha", get_commit), ("GET", "repository/commits/:sha/diff", commit_diff),
    ]  # fmt: skip
    for method, pattern, handler in table:
        router.add(method, f"{base}/{pattern}", handler)
