"""REST: commit statuses and the pipelines they make.

PathOps' CI is Jenkins, so GitLab only sees *external* statuses: `POST /projects/:id/statuses/:sha`
creates (or reuses, per sha and ref) a pipeline with `source: external` and records the status as
one of its entries, by `name`; posting the same name again moves that entry to the new state. A
pipeline's status is GitLab's composite: running > pending > failed > canceled > success (skipped
when all are skipped; a failed entry with `allow_failure` counts as success). Running a pipeline from
`.gitlab-ci.yml` is not modelled: `POST /projects/:id/pipeline` answers GitLab's "Missing CI config file".
"""

from __future__ import annotations

from typing import Any

from fakes.gitlab.api_repo import resolve
from fakes.gitlab.http import ApiError, Request, Response, Router, bad_request, paginate
from fakes.gitlab.instance import Instance
from fakes.gitlab.store import CommitStatus, Pipeline, Project, now
from fakes.gitlab.views import pipeline_json, pipeline_status, status_json

STATES = ("pending", "running", "success", "failed", "canceled", "skipped")
FINISHED = ("success", "failed", "canceled", "skipped")


def _default_ref(inst: Instance, project: Project, sha: str) -> str:
    repo = inst.repo(project)
    heads = repo.branches()
    exact = [name for name, head in heads.items() if head == sha]
    if exact:
        return project.default_branch if project.default_branch in exact else sorted(exact)[0]
    containing = sorted(name for name, head in heads.items() if repo.is_ancestor(sha, head))
    return containing[0] if containing else project.default_branch


def _pipeline(inst: Instance, req: Request, project: Project, sha: str, ref: str) -> Pipeline:
    if (pipeline_id := req.number("pipeline_id")) is not None:
        pipeline = inst.store.pipelines.get(pipeline_id)
        if pipeline is None or pipeline.project_id != project.id or pipeline.sha != sha:
            raise ApiError(404, {"message": "404 Pipeline Not Found"})
        return pipeline
    found = [
        p
        for p in inst.store.pipelines.values()
        if p.project_id == project.id and (p.sha, p.ref) == (sha, ref)
    ]
    if found:
        return max(found, key=lambda p: p.id)
    iid = 1 + sum(p.project_id == project.id for p in inst.store.pipelines.values())
    stamp = now()
    pipeline = Pipeline(inst.store.next_id("pipelines"), iid, project.id, sha, ref, req.user_id,
                        created_at=stamp, updated_at=stamp)  # fmt: skip
    inst.store.pipelines[pipeline.id] = pipeline
    return pipeline


def post_status(inst: Instance, req: Request, project_id: str, sha: str) -> Response:
    project = inst.project(req, project_id)
    state = req.need("state")
    if state not in STATES:
        raise ApiError(400, {"error": "state does not have a valid value"})
    commit = resolve(inst, project, sha)
    ref = req.text("ref") or _default_ref(inst, project, commit)
    name = req.text("name") or req.text("context") or "default"
    req.object = f"status {inst.store.project_path(project)}@{commit[:8]} {name}"
    pipeline = _pipeline(inst, req, project, commit, ref)
    stamp = now()
    status = next(
        (s for s in inst.store.statuses.values() if s.pipeline_id == pipeline.id and s.name == name), None
    )
    if status is None:
        status = CommitStatus(
            id=inst.store.next_id("statuses"), project_id=project.id, pipeline_id=pipeline.id, sha=commit,
            ref=ref, name=name, status=state, author_id=req.user_id, created_at=stamp,
        )  # fmt: skip
        inst.store.statuses[status.id] = status
    status.status = state
    status.target_url = req.text("target_url", status.target_url)
    status.description = req.text("description", status.description)
    coverage = req.value("coverage")
    try:
        status.coverage = float(coverage) if coverage not in (None, "") else status.coverage
    except (TypeError, ValueError):
        raise ApiError(400, {"error": "coverage is invalid"}) from None
    if state != "pending":
        status.started_at = status.started_at or stamp
    status.finished_at = stamp if state in FINISHED else None
    pipeline.updated_at = stamp
    return Response(201, status_json(inst, status))


def list_statuses(inst: Instance, req: Request, project_id: str, sha: str) -> Response:
    project = inst.project(req, project_id)
    commit = resolve(inst, project, sha)
    found = [s for s in inst.store.statuses.values() if s.project_id == project.id and s.sha == commit]
    if (ref := req.text("ref")) is not None:
        found = [s for s in found if s.ref == ref]
    if (name := req.text("name")) is not None:
        found = [s for s in found if s.name == name]
    return paginate(req, [status_json(inst, s) for s in sorted(found, key=lambda s: s.id)])


def list_pipelines(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    found = [p for p in inst.store.pipelines.values() if p.project_id == project.id]
    for name in ("ref", "sha", "source"):
        if (value := req.text(name)) is not None:
            found = [p for p in found if getattr(p, name) == value]
    if (status := req.text("status")) is not None:
        found = [p for p in found if pipeline_status(inst, p) == status]
    found.sort(key=lambda p: p.id, reverse=req.text("sort") != "asc")
    return paginate(req, [pipeline_json(inst, p) for p in found])


def _one(inst: Instance, req: Request, project_id: str, pipeline_id: str) -> Pipeline:
    project = inst.project(req, project_id)
    pipeline = inst.store.pipelines.get(int(pipeline_id)) if pipeline_id.isdigit() else None
    if pipeline is None or pipeline.project_id != project.id:
        raise ApiError(404, {"message": "404 Not found"})
    return pipeline


def get_pipeline(inst: Instance, req: Request, project_id: str, pipeline_id: str) -> Response:
    return Response(200, pipeline_json(inst, _one(inst, req, project_id, pipeline_id), full=True))


def latest_pipeline(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    ref = req.text("ref") or project.default_branch
    found = [p for p in inst.store.pipelines.values() if p.project_id == project.id and p.ref == ref]
    if not found:
        raise ApiError(404, {"message": "404 Not found"})
    return Response(200, pipeline_json(inst, max(found, key=lambda p: p.id), full=True))


def pipeline_jobs(inst: Instance, req: Request, project_id: str, pipeline_id: str) -> Response:
    _one(inst, req, project_id, pipeline_id)
    return paginate(req, [])  # external statuses are not jobs, as in GitLab


def delete_pipeline(inst: Instance, req: Request, project_id: str, pipeline_id: str) -> Response:
    pipeline = _one(inst, req, project_id, pipeline_id)
    del inst.store.pipelines[pipeline.id]
    for key in [k for k, s in inst.store.statuses.items() if s.pipeline_id == pipeline.id]:
        del inst.store.statuses[key]
    return Response(204, None)


def run_pipeline(inst: Instance, req: Request, project_id: str) -> Response:
    inst.project(req, project_id)
    raise bad_request({"base": ["Missing CI config file"]})


def routes(router: Router) -> None:
    base = "projects/:project_id"
    table: list[tuple[str, str, Any]] = [
        ("POST", "statuses/:sha", post_status), ("GET", "repository/commits/:sha/statuses", list_statuses),
        ("GET", "pipelines", list_pipelines), ("GET", "pipelines/latest", latest_pipeline),
        ("GET", "pipelines/:pipeline_id", get_pipeline), ("DELETE", "pipelines/:pipeline_id", delete_pipeline),
        ("GET", "pipelines/:pipeline_id/jobs", pipeline_jobs), ("POST", "pipeline", run_pipeline),
    ]  # fmt: skip
    for method, pattern, handler in table:
        router.add(method, f"{base}/{pattern}", handler)
