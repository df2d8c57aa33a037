"""REST: merge requests (create, list, get, update, close/reopen) and their notes and approvals.

Status codes as GitLab's merge_requests.rb: same source and target or a missing branch is 422, a
second open request for the same branches 409 (`{"message": ["Another open merge request ..."]}`);
approving twice is 401, unapproving without an approval 404. Merging lives in api_merge.py.
"""

from __future__ import annotations

from typing import Any

from fakes.gitlab import events
from fakes.gitlab.http import ApiError, Request, Response, Router, paginate
from fakes.gitlab.instance import Instance
from fakes.gitlab.mrviews import DRAFT, approvals_json, is_draft, live, mr_json
from fakes.gitlab.store import MergeRequest, Note, Project, now
from fakes.gitlab.views import note_json

STATES = ("opened", "closed", "merged", "locked", "all")
EDITABLE = ("title", "description", "target_branch", "labels", "assignee_ids", "reviewer_ids", "squash",
            "force_remove_source_branch")  # fmt: skip


def _ids(req: Request, name: str) -> list[int] | None:
    values = req.names(name)
    if values is None and name == "assignee_ids" and req.text("assignee_id") is not None:
        values = [req.text("assignee_id") or ""]
    if values is None:
        return None
    try:
        return [int(v) for v in values if int(v) != 0]
    except ValueError:
        raise ApiError(400, {"error": f"{name} is invalid"}) from None


def create_mr(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    source, target, title = req.need("source_branch"), req.need("target_branch"), req.need("title")
    heads = inst.repo(project).branches()
    if source == target:
        raise ApiError(422, {"message": ["You can't use same project/branch for source and target"]})
    for kind, branch in (("Source", source), ("Target", target)):
        if branch not in heads:
            raise ApiError(422, {"message": [f'{kind} branch "{branch}" does not exist']})
    for other in inst.store.project_mrs(project.id):
        if other.state == "opened" and (other.source_branch, other.target_branch) == (source, target):
            raise ApiError(409, {"message": [f"Another open merge request already exists for this source branch: !{other.iid}"]})  # fmt: skip
    if req.flag("draft") and not is_draft(title):
        title = f"Draft: {title}"
    stamp = now()
    mr = MergeRequest(
        id=inst.store.next_id("merge_requests"), iid=project.next_iid, project_id=project.id, title=title,
        source_branch=source, target_branch=target, author_id=req.user_id,
        description=req.text("description") or "", created_at=stamp, updated_at=stamp, sha=heads[source],
        labels=req.names("labels") or [], assignee_ids=_ids(req, "assignee_ids") or [],
        reviewer_ids=_ids(req, "reviewer_ids") or [], squash=bool(req.flag("squash")),
        force_remove_source_branch=bool(req.flag("remove_source_branch")),
    )  # fmt: skip
    project.next_iid += 1
    inst.store.merge_requests[mr.id] = mr
    req.object = f"merge_request {inst.store.project_path(project)}!{mr.iid}"
    fields = (
        "id",
        "iid",
        "title",
        "source_branch",
        "target_branch",
        "author_id",
        "description",
        "created_at",
    )
    changes = {f: {"previous": None, "current": getattr(mr, f)} for f in fields}
    changes["state_id"] = {"previous": None, "current": 1}
    events.merge_request(inst, project, inst.store.users[req.user_id], mr, "open", changes)
    return Response(201, mr_json(inst, project, mr, full=True))


def _filtered(inst: Instance, req: Request, mrs: list[MergeRequest]) -> list[MergeRequest]:
    state = req.text("state") or "all"
    if state not in STATES:
        raise ApiError(400, {"error": "state does not have a valid value"})
    if state != "all":
        mrs = [m for m in mrs if m.state == state]
    for name in ("source_branch", "target_branch"):
        if (value := req.text(name)) is not None:
            mrs = [m for m in mrs if getattr(m, name) == value]
    if labels := req.names("labels"):
        mrs = [m for m in mrs if set(labels) <= set(m.labels)]
    if (author := req.number("author_id")) is not None:
        mrs = [m for m in mrs if m.author_id == author]
    if (username := req.text("author_username")) is not None:
        user = inst.store.user_named(username)
        mrs = [m for m in mrs if user is not None and m.author_id == user.id]
    if iids := req.names("iids"):
        mrs = [m for m in mrs if str(m.iid) in iids]
    if search := req.text("search"):
        mrs = [m for m in mrs if search.lower() in f"{m.title}\n{m.description}".lower()]
    key = "updated_at" if req.text("order_by") == "updated_at" else "created_at"
    return sorted(mrs, key=lambda m: (getattr(m, key), m.id), reverse=req.text("sort") != "asc")


def list_mrs(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    mrs = _filtered(inst, req, inst.store.project_mrs(project.id))
    return paginate(req, [mr_json(inst, project, m) for m in mrs])


def list_all_mrs(inst: Instance, req: Request) -> Response:
    scope = req.text("scope") or "created_by_me"
    mrs = list(inst.store.merge_requests.values())
    if scope in ("created_by_me", "created-by-me"):
        mrs = [m for m in mrs if m.author_id == req.user_id]
    elif scope in ("assigned_to_me", "assigned-to-me"):
        mrs = [m for m in mrs if req.user_id in m.assignee_ids]
    mrs = [m for m in _filtered(inst, req, mrs) if m.project_id in inst.store.projects]
    return paginate(req, [mr_json(inst, inst.store.projects[m.project_id], m) for m in mrs])


def get_mr(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    return Response(200, mr_json(inst, project, inst.merge_request(req, project, iid), full=True))


def update_mr(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    user = inst.store.users[req.user_id]
    state_event = req.text("state_event")
    if state_event not in (None, "close", "reopen"):
        raise ApiError(400, {"error": "state_event does not have a valid value"})
    before = {name: getattr(mr, name) for name in EDITABLE}
    _edit(inst, req, project, mr)
    changes = {
        n: {"previous": before[n], "current": getattr(mr, n)} for n in EDITABLE if getattr(mr, n) != before[n]
    }
    if {"title", "description"} & changes.keys():
        mr.last_edited_at, mr.last_edited_by_id = now(), user.id
    if changes:
        changes |= events.touch(mr)
        events.merge_request(inst, project, user, mr, "update", changes)
    if state_event == "close" and mr.state == "opened":
        mr.state, mr.closed_at, mr.closed_by_id = "closed", now(), user.id
        changes = events.touch(mr) | {"state_id": {"previous": 1, "current": 2}}
        events.merge_request(inst, project, user, mr, "close", changes)
    elif state_event == "reopen" and mr.state == "closed":
        mr.state, mr.closed_at, mr.closed_by_id = "opened", None, None
        mr.sha = inst.repo(project).branches().get(mr.source_branch, mr.sha)
        changes = events.touch(mr) | {"state_id": {"previous": 2, "current": 1}}
        events.merge_request(inst, project, user, mr, "reopen", changes)
    return Response(200, mr_json(inst, project, mr, full=True))


def _edit(inst: Instance, req: Request, project: Project, mr: MergeRequest) -> None:
    mr.title = req.text("title") or mr.title
    if (draft := req.flag("draft")) is not None:
        bare = DRAFT.sub("", mr.title, count=1)
        mr.title = f"Draft: {bare}" if draft else bare
    mr.description = req.text("description", mr.description) or ""
    if (target := req.text("target_branch")) and target != mr.target_branch:
        if target not in inst.repo(project).branches() or target == mr.source_branch:
            raise ApiError(422, {"message": [f'Target branch "{target}" does not exist']})
        mr.target_branch = target
    labels = req.names("labels")
    labels = list(mr.labels) if labels is None else labels
    labels += [x for x in req.names("add_labels") or [] if x not in labels]
    mr.labels = [x for x in labels if x not in (req.names("remove_labels") or [])]
    if (assignees := _ids(req, "assignee_ids")) is not None:
        mr.assignee_ids = assignees
    if (reviewers := _ids(req, "reviewer_ids")) is not None:
        mr.reviewer_ids = reviewers
    mr.squash = bool(req.flag("squash", default=mr.squash))
    mr.force_remove_source_branch = bool(
        req.flag("remove_source_branch", default=mr.force_remove_source_branch)
    )


def delete_mr(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    del inst.store.merge_requests[mr.id]
    return Response(204, None)


# notes


def _note(inst: Instance, project: Project, mr: MergeRequest, note_id: str) -> Note:
    note = inst.store.notes.get(int(note_id)) if note_id.isdigit() else None
    if note is None or note.project_id != project.id or note.mr_iid != mr.iid:
        raise ApiError(404, {"message": "404 Note Not Found"})
    return note


def list_notes(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    notes = [n for n in inst.store.notes.values() if n.project_id == project.id and n.mr_iid == mr.iid]
    notes.sort(key=lambda n: n.id, reverse=req.text("sort") != "asc")
    return paginate(req, [note_json(inst, n, mr.id) for n in notes])


def create_note(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    stamp = now()
    note = Note(inst.store.next_id("notes"), project.id, mr.iid, req.need("body"), req.user_id, stamp, stamp)
    inst.store.notes[note.id] = note
    events.note(inst, project, inst.store.users[req.user_id], mr, note)
    return Response(201, note_json(inst, note, mr.id))


def get_note(inst: Instance, req: Request, project_id: str, iid: str, note_id: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    return Response(200, note_json(inst, _note(inst, project, mr, note_id), mr.id))


def update_note(inst: Instance, req: Request, project_id: str, iid: str, note_id: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    note = _note(inst, project, mr, note_id)
    note.body, note.updated_at = req.need("body"), now()
    return Response(200, note_json(inst, note, mr.id))


def delete_note(inst: Instance, req: Request, project_id: str, iid: str, note_id: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    del inst.store.notes[_note(inst, project, mr, note_id).id]
    return Response(204, None)


# approvals


def approve(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    user = inst.store.users[req.user_id]
    if mr.state != "opened" or user.id in mr.approved_by:
        raise ApiError(401, {"message": "401 Unauthorized"})
    head = live(inst, project, mr).sha
    if (sha := req.text("sha")) and sha != head:
        raise ApiError(409, {"message": f"SHA does not match HEAD of source branch: {head}"})
    mr.approved_by.append(user.id)
    events.merge_request(inst, project, user, mr, "approved", events.touch(mr))
    return Response(201, approvals_json(inst, project, mr, user.id))


def unapprove(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    mr = inst.merge_request(req, project, iid)
    user = inst.store.users[req.user_id]
    if user.id not in mr.approved_by:
        raise ApiError(404, {"message": "404 Not Found"})
    mr.approved_by.remove(user.id)
    events.merge_request(inst, project, user, mr, "unapproved", events.touch(mr))
    return Response(201, approvals_json(inst, project, mr, user.id))


def approvals(inst: Instance, req: Request, project_id: str, iid: str) -> Response:
    project = inst.project(req, project_id)
    return Response(200, approvals_json(inst, project, inst.merge_request(req, project, iid), req.user_id))


def routes(router: Router) -> None:
    mrs, one = "projects/:project_id/merge_requests", "projects/:project_id/merge_requests/:iid"
    table: list[tuple[str, str, Any]] = [
        ("GET", "merge_requests", list_all_mrs),
        ("GET", mrs, list_mrs), ("POST", mrs, create_mr), ("GET", one, get_mr), ("PUT", one, update_mr),
        ("DELETE", one, delete_mr), ("GET", f"{one}/notes", list_notes), ("POST", f"{one}/notes", create_note),
        ("GET", f"{one}/notes/:note_id", get_note), ("PUT", f"{one}/notes/:note_id", update_note),
        ("DELETE", f"{one}/notes/:note_id", delete_note), ("POST", f"{one}/approve", approve),
        ("POST", f"{one}/unapprove", unapprove), ("GET", f"{one}/approvals", approvals),
    ]  # fmt: skip
    for method, pattern, handler in table:
        router.add(method, pattern, handler)
