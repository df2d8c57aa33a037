"""REST: version, users, groups, namespaces, projects and project hooks."""

from __future__ import annotations

import re
from typing import Any

from fakes.gitlab.http import ApiError, Request, Response, Router, bad_request, not_found, paginate
from fakes.gitlab.instance import Instance
from fakes.gitlab.store import Hook, Namespace, Project, now
from fakes.gitlab.views import (
    HOOK_EVENTS,
    group_json,
    hook_json,
    namespace_json,
    project_json,
    user_basic,
    user_full,
)

PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def version(inst: Instance, req: Request) -> Response:
    return Response(
        200, {"version": "17.5.0", "revision": "fake", "kas": {"enabled": False}, "enterprise": False}
    )


def current_user(inst: Instance, req: Request) -> Response:
    return Response(200, user_full(inst, inst.store.users[req.user_id]))


def list_users(inst: Instance, req: Request) -> Response:
    users = sorted(inst.store.users.values(), key=lambda u: u.id)
    if username := req.text("username"):
        users = [u for u in users if u.username.lower() == username.lower()]
    if search := req.text("search"):
        users = [u for u in users if search.lower() in u.username.lower()]
    return paginate(req, [user_basic(inst, u) for u in users])


def get_user(inst: Instance, req: Request, user_id: str) -> Response:
    user = inst.store.users.get(int(user_id)) if user_id.isdigit() else None
    if user is None:
        raise not_found("User")
    return Response(200, user_full(inst, user))


# groups and namespaces


def create_group(inst: Instance, req: Request) -> Response:
    name, path = req.text("name"), req.text("path")
    missing = [n for n, v in (("name", name), ("path", path)) if not v]
    if missing:
        raise ApiError(400, {"error": ", ".join(f"{n} is missing" for n in missing)})
    assert name is not None and path is not None
    parent_id = req.number("parent_id")
    if parent_id is not None and inst.store.namespaces.get(parent_id) is None:
        raise not_found("Parent Group")
    if not PATH.fullmatch(path):
        raise bad_request(f'Failed to save group {{:path=>["{path} is invalid"]}}')
    if any(
        n.path.lower() == path.lower() and n.parent_id == parent_id for n in inst.store.namespaces.values()
    ):
        raise bad_request('Failed to save group {:path=>["has already been taken"]}')
    ns = Namespace(
        id=inst.store.next_id("namespaces"), name=name, path=path, kind="group", parent_id=parent_id,
        description=req.text("description") or "", visibility=req.text("visibility") or "private",
        created_at=now(),
    )  # fmt: skip
    inst.store.namespaces[ns.id] = ns
    req.object = f"group {inst.store.full_path(ns)}"
    return Response(201, group_json(inst, ns))


def _group(inst: Instance, req: Request, group_id: str) -> Namespace:
    ns = inst.store.namespace(group_id)
    if ns is None or ns.kind != "group":
        raise not_found("Group")
    req.object = f"group {inst.store.full_path(ns)}"
    return ns


def list_groups(inst: Instance, req: Request) -> Response:
    groups = [n for n in sorted(inst.store.namespaces.values(), key=lambda n: n.id) if n.kind == "group"]
    if search := req.text("search"):
        groups = [g for g in groups if search.lower() in (g.name + g.path).lower()]
    return paginate(req, [group_json(inst, g) for g in groups])


def get_group(inst: Instance, req: Request, group_id: str) -> Response:
    return Response(200, group_json(inst, _group(inst, req, group_id)))


def group_projects(inst: Instance, req: Request, group_id: str) -> Response:
    ns = _group(inst, req, group_id)
    projects = [p for p in _projects(inst) if p.namespace_id == ns.id]
    return paginate(req, [project_json(inst, p) for p in projects])


def subgroups(inst: Instance, req: Request, group_id: str) -> Response:
    ns = _group(inst, req, group_id)
    children = [n for n in inst.store.namespaces.values() if n.parent_id == ns.id]
    return paginate(req, [group_json(inst, n) for n in sorted(children, key=lambda n: n.id)])


def list_namespaces(inst: Instance, req: Request) -> Response:
    spaces = sorted(inst.store.namespaces.values(), key=lambda n: n.id)
    if search := req.text("search"):
        spaces = [n for n in spaces if search.lower() in inst.store.full_path(n).lower()]
    return paginate(req, [namespace_json(inst, n) for n in spaces])


def get_namespace(inst: Instance, req: Request, ns_id: str) -> Response:
    return Response(200, namespace_json(inst, inst.namespace(ns_id)))


# projects


def _projects(inst: Instance) -> list[Project]:
    return sorted(inst.store.projects.values(), key=lambda p: p.id, reverse=True)


def create_project(inst: Instance, req: Request) -> Response:
    name, path = req.text("name"), req.text("path")
    if not name and not path:
        raise ApiError(400, {"error": "name, path are missing, at least one parameter must be provided"})
    path = path or re.sub(r"[^a-z0-9_.]+", "-", (name or "").lower()).strip("-.") or "project"
    name = name or path
    user = inst.store.users[req.user_id]
    ns_ref = req.text("namespace_id") or req.text("namespace_path") or req.text("namespace")
    ns = inst.namespace(ns_ref) if ns_ref else inst.namespace(user.username)
    project = inst.create_project(
        user, ns, name, path, default_branch=req.text("default_branch") or "main",
        description=req.text("description") or "", readme=bool(req.flag("initialize_with_readme")),
    )  # fmt: skip
    _settings(req, project)
    req.object = f"project {inst.store.project_path(project)}"
    return Response(201, project_json(inst, project))


def _settings(req: Request, project: Project) -> None:
    for flag in ("only_allow_merge_if_pipeline_succeeds", "remove_source_branch_after_merge"):
        value = req.flag(flag)
        if value is not None:
            setattr(project, flag, value)
    project.visibility = req.text("visibility") or project.visibility


def list_projects(inst: Instance, req: Request) -> Response:
    projects = _projects(inst)
    if search := req.text("search"):
        projects = [p for p in projects if search.lower() in inst.store.project_path(p).lower()]
    if req.flag("owned"):
        projects = [p for p in projects if p.creator_id == req.user_id]
    return paginate(req, [project_json(inst, p) for p in projects])


def get_project(inst: Instance, req: Request, project_id: str) -> Response:
    return Response(200, project_json(inst, inst.project(req, project_id)))


def update_project(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    branch = req.text("default_branch")
    if branch is not None and branch != project.default_branch:
        if branch not in inst.repo(project).branches():
            raise bad_request({"base": [f"Could not change HEAD: branch '{branch}' does not exist"]})
        project.default_branch = branch
        inst.repo(project).set_head(branch)
    project.name = req.text("name") or project.name
    project.description = req.text("description", project.description) or ""
    _settings(req, project)
    return Response(200, project_json(inst, project))


def delete_project(inst: Instance, req: Request, project_id: str) -> Response:
    inst.delete_project(inst.project(req, project_id))
    return Response(202, {"message": "202 Accepted"})


# project hooks


def _hook(inst: Instance, req: Request, project_id: str, hook_id: str) -> Hook:
    project = inst.project(req, project_id)
    hook = inst.store.hooks.get(int(hook_id)) if hook_id.isdigit() else None
    if hook is None or hook.project_id != project.id:
        raise ApiError(404, {"message": "404 Not found"})
    req.object = f"hook {inst.store.project_path(project)}#{hook.id}"
    return hook


def _apply_hook(req: Request, hook: Hook) -> None:
    url = req.text("url")
    if url is not None:
        if not re.match(r"^https?://[^\s/]+", url):
            raise bad_request({"url": ["is blocked: Only allowed schemes are http, https"]})
        if url != hook.url:
            hook.token = ""  # GitLab resets the secret when the URL changes
        hook.url = url
    hook.token = req.text("token", hook.token) or ""
    hook.name = req.text("name", hook.name) or ""
    hook.description = req.text("description", hook.description) or ""
    hook.push_events_branch_filter = (
        req.text("push_events_branch_filter", hook.push_events_branch_filter) or ""
    )
    strategy = req.text("branch_filter_strategy", hook.branch_filter_strategy) or "wildcard"
    if strategy not in ("wildcard", "regex", "all_branches"):
        raise ApiError(400, {"error": "branch_filter_strategy does not have a valid value"})
    hook.branch_filter_strategy = strategy
    hook.enable_ssl_verification = bool(
        req.flag("enable_ssl_verification", default=hook.enable_ssl_verification)
    )
    for name in HOOK_EVENTS:
        value = req.flag(name)
        if value is not None:
            hook.events[name] = value


def list_hooks(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    hooks = [h for h in sorted(inst.store.hooks.values(), key=lambda h: h.id) if h.project_id == project.id]
    return paginate(req, [hook_json(h) for h in hooks])


def create_hook(inst: Instance, req: Request, project_id: str) -> Response:
    project = inst.project(req, project_id)
    req.need("url")
    hook = Hook(id=inst.store.next_id("hooks"), project_id=project.id, url="", created_at=now())
    _apply_hook(req, hook)
    inst.store.hooks[hook.id] = hook
    return Response(201, hook_json(hook))


def get_hook(inst: Instance, req: Request, project_id: str, hook_id: str) -> Response:
    return Response(200, hook_json(_hook(inst, req, project_id, hook_id)))


def update_hook(inst: Instance, req: Request, project_id: str, hook_id: str) -> Response:
    hook = _hook(inst, req, project_id, hook_id)
    _apply_hook(req, hook)
    return Response(200, hook_json(hook))


def delete_hook(inst: Instance, req: Request, project_id: str, hook_id: str) -> Response:
    hook = _hook(inst, req, project_id, hook_id)
    del inst.store.hooks[hook.id]
    return Response(204, None)


def routes(router: Router) -> None:
    table: list[tuple[str, str, Any]] = [
        ("GET", "version", version), ("GET", "metadata", version), ("GET", "user", current_user),
        ("GET", "users", list_users), ("GET", "users/:user_id", get_user),
        ("POST", "groups", create_group), ("GET", "groups", list_groups),
        ("GET", "groups/:group_id", get_group), ("GET", "groups/:group_id/projects", group_projects),
        ("GET", "groups/:group_id/subgroups", subgroups),
        ("GET", "namespaces", list_namespaces), ("GET", "namespaces/:ns_id", get_namespace),
        ("POST", "projects", create_project), ("GET", "projects", list_projects),
        ("GET", "projects/:project_id", get_project), ("PUT", "projects/:project_id", update_project),
        ("DELETE", "projects/:project_id", delete_project),
        ("GET", "projects/:project_id/hooks", list_hooks), ("POST", "projects/:project_id/hooks", create_hook),
        ("GET", "projects/:project_id/hooks/:hook_id", get_hook),
        ("PUT", "projects/:project_id/hooks/:hook_id", update_hook),
        ("DELETE", "projects/:project_id/hooks/:hook_id", delete_hook),
    ]  # fmt: skip
    for method, pattern, handler in table:
        router.add(method, pattern, handler)
