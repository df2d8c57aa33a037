"""REST: repository tree, blobs and compare."""

from __future__ import annotations

import base64
import re
from typing import Any

from fakes.gitlab import diffs
from fakes.gitlab.api_repo import resolve
from fakes.gitlab.http import Request, Response, Router, not_found, paginate
from fakes.gitlab.instance import Instance
from fakes.gitlab.views import commit_json, project_web


def tree(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    repo = inst.repo(project)
    if not repo.branches() and req.text("ref") in (None, "", "HEAD"):
        return paginate(req, [])
    entries = repo.tree(
        resolve(inst, project, req.text("ref"), "Tree"), req.text("path") or "", bool(req.flag("recursive"))
    )
    if entries is None:
        raise not_found("Tree")
    return paginate(
        req, [{"id": e.id, "name": e.name, "type": e.type, "path": e.path, "mode": e.mode} for e in entries]
    )


def _blob(inst: Instance, req: Request, project_id: str, sha: str) -> bytes:
    project = inst.project(req, project_id)
    repo = inst.repo(project)
    if (
        not re.fullmatch(r"[0-9a-f]{4,40}", sha)
        or repo.run("cat-file", "-t", sha, ok=(0, 128)).strip() != b"blob"
    ):
        raise not_found("Blob")
    return repo.blob(sha)


def get_blob(inst: Instance, req: Request, project_id: str, sha: str) -> Response:
    data = _blob(inst, req, project_id, sha)
    return Response(
        200, {"size": len(data), "encoding": "base64", "content": base64.b64encode(data).decode(), "sha": sha}
    )


def raw_blob(inst: Instance, req: Request, project_id: str, sha: str) -> Response:
    return Response(200, _blob(inst, req, project_id, sha), content_type="text/plain; charset=utf-8")


def compare(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    repo = inst.repo(project)
    start, end = (
        resolve(inst, project, req.need("from"), "Ref"),
        resolve(inst, project, req.need("to"), "Ref"),
    )
    base = start if req.flag("straight") else (repo.merge_base(start, end) or start)
    shas = repo.rev_list(end, [base])
    commits = [commit_json(inst, project, repo.commit(s)) for s in reversed(shas)]
    return Response(200, {
        "commit": commits[-1] if commits else None, "commits": commits,
        "diffs": [d.as_json() for d in diffs.diff(repo, base, end)], "compare_timeout": False,
        "compare_same_ref": start == end,
        "web_url": f"{project_web(inst, project)}/-/compare/{start[:8]}...{end[:8]}",
    })  # fmt: skip


def routes(router: Router) -> None:
    base = "projects/:project_id/repository"
    table: list[tuple[str, str, Any]] = [
        ("GET", "tree", tree), ("GET", "compare", compare),
        ("GET", "blobs/:sha", get_blob), ("GET", "blobs/:sha/raw", raw_blob),
    ]  # fmt: skip
    for method, pattern, handler in table:
        router.add(method, f"{base}/{pattern}", handler)
