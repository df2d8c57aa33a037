"""REST: repository files (get as JSON with base64 content, raw, HEAD metadata; create, update, delete).

Each write is one real commit on the branch, like GitLab's files API (see repository_files.md).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from fakes.gitlab.actions import Action
from fakes.gitlab.api_repo import author_of, decode_content, resolve
from fakes.gitlab.git import Entry
from fakes.gitlab.http import ApiError, Request, Response, Router, bad_request, not_found
from fakes.gitlab.instance import Instance
from fakes.gitlab.store import Project


def _lookup(inst: Instance, req: Request, project_id: str, file_path: str, ref: str | None) -> tuple[Project, str, Entry]:  # fmt: skip
    project = inst.project(req, project_id)
    req.object = f"file {inst.store.project_path(project)}:{file_path}"
    sha = resolve(inst, project, ref)
    entry = inst.repo(project).entry(sha, file_path)
    if entry is None or entry.type != "blob":
        raise not_found("File")
    return project, sha, entry


def _meta(inst: Instance, project: Project, ref: str, sha: str, entry: Entry, data: bytes) -> dict[str, Any]:
    return {
        "file_name": entry.name, "file_path": entry.path, "size": len(data), "encoding": "base64",
        "content_sha256": hashlib.sha256(data).hexdigest(), "ref": ref, "blob_id": entry.id,
        "commit_id": sha, "last_commit_id": inst.repo(project).last_commit(sha, entry.path),
        "execute_filemode": entry.mode == "100755",
    }  # fmt: skip


def _headers(meta: dict[str, Any]) -> list[tuple[str, str]]:
    names = ("blob_id", "commit_id", "content_sha256", "encoding", "file_name", "file_path",
             "last_commit_id", "ref", "size", "execute_filemode")  # fmt: skip
    return [(f"X-Gitlab-{n.replace('_', '-').title()}", _text(meta[n])) for n in names]


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def get_file(inst: Instance, req: Request, project_id: str, file_path: str) -> Response:
    ref = req.need("ref")
    project, sha, entry = _lookup(inst, req, project_id, file_path, ref)
    data = inst.repo(project).blob(entry.id)
    meta = _meta(inst, project, ref, sha, entry, data)
    return Response(200, meta | {"content": base64.b64encode(data).decode()}, _headers(meta))


def raw_file(inst: Instance, req: Request, project_id: str, file_path: str) -> Response:
    ref = req.text("ref") or "HEAD"
    project, sha, entry = _lookup(inst, req, project_id, file_path, ref)
    data = inst.repo(project).blob(entry.id)
    headers = _headers(_meta(inst, project, ref, sha, entry, data))
    return Response(200, data, headers, content_type="text/plain; charset=utf-8")


def _write(inst: Instance, req: Request, project_id: str, file_path: str, kind: str) -> str:
    project = inst.project(req, project_id)
    req.object = f"file {inst.store.project_path(project)}:{file_path}"
    branch, message = req.need("branch"), req.need("commit_message")
    content = None
    if kind != "delete":
        if req.text("content") is None:
            raise ApiError(400, {"error": "content is missing"})
        content = decode_content(req.params.get("content"), req.text("encoding"))
    expected = req.text("last_commit_id")
    if expected and kind != "create":
        head = resolve(inst, project, branch)
        if inst.repo(project).last_commit(head, file_path.strip("/")) != expected:
            raise bad_request(
                "You are attempting to update a file that has changed since you started editing it."
            )
    action = Action(kind, file_path, content, execute_filemode=req.flag("execute_filemode"))
    inst.commit(
        project, inst.store.users[req.user_id], branch=branch, message=message, actions=[action],
        start_branch=req.text("start_branch"), author=author_of(req), allow_empty=kind != "update",
    )  # fmt: skip
    return branch


def create_file(inst: Instance, req: Request, project_id: str, file_path: str) -> Response:
    branch = _write(inst, req, project_id, file_path, "create")
    return Response(201, {"file_path": file_path, "branch": branch})


def update_file(inst: Instance, req: Request, project_id: str, file_path: str) -> Response:
    branch = _write(inst, req, project_id, file_path, "update")
    return Response(200, {"file_path": file_path, "branch": branch})


def delete_file(inst: Instance, req: Request, project_id: str, file_path: str) -> Response:
    _write(inst, req, project_id, file_path, "delete")
    return Response(204, None)


def routes(router: Router) -> None:
    base = "projects/:project_id/repository/files/:file_path"
    router.add("GET", base, get_file)
    router.add("GET", f"{base}/raw", raw_file)
    router.add("POST", base, create_file)
    router.add("PUT", base, update_file)
    router.add("DELETE", base, delete_file)
