"""JSON shapes of the REST API (users, groups, projects, commits, branches, hooks, notes, CI).

Field names and types follow GitLab's entities as documented in ../shared/specs/gitlab and the
go-gitlab fixtures; fields the fake has no data for get GitLab's defaults (null, 0, false, []).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from fakes.gitlab.git import Commit
from fakes.gitlab.store import CommitStatus, Hook, Namespace, Note, Pipeline, Project, User

if TYPE_CHECKING:
    from fakes.gitlab.instance import Instance

HOOK_EVENTS = (
    "push_events", "tag_push_events", "merge_requests_events", "note_events", "confidential_note_events",
    "issues_events", "confidential_issues_events", "job_events", "pipeline_events", "wiki_page_events",
    "deployment_events", "releases_events", "feature_flag_events", "repository_update_events",
    "resource_access_token_events", "emoji_events",
)  # fmt: skip
DEFAULT_ON = ("push_events",)


def avatar(user: User) -> str:
    digest = hashlib.sha256(user.email.lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?s=80&d=identicon"


def user_basic(inst: Instance, user: User) -> dict[str, Any]:
    return {
        "id": user.id, "username": user.username, "name": user.name, "state": "active", "locked": False,
        "avatar_url": avatar(user), "web_url": f"{inst.base_url}/{user.username}",
    }  # fmt: skip


def user_full(inst: Instance, user: User) -> dict[str, Any]:
    return user_basic(inst, user) | {
        "created_at": user.created_at, "bio": "", "location": "", "public_email": None, "skype": "",
        "linkedin": "", "twitter": "", "discord": "", "website_url": "", "organization": "",
        "job_title": "", "pronouns": None, "bot": False, "work_information": None, "followers": 0,
        "following": 0, "is_followed": False, "local_time": None, "last_sign_in_at": user.created_at,
        "confirmed_at": user.created_at, "last_activity_on": None, "email": user.email, "theme_id": 1,
        "color_scheme_id": 1, "projects_limit": 100000, "current_sign_in_at": user.created_at,
        "identities": [], "can_create_group": True, "can_create_project": True,
        "two_factor_enabled": False, "external": False, "private_profile": False,
        "commit_email": user.email, "is_admin": False, "note": None,
    }  # fmt: skip


def user_ref(inst: Instance, user_id: int | None) -> dict[str, Any] | None:
    user = inst.store.users.get(user_id) if user_id is not None else None
    return user_basic(inst, user) if user else None


def namespace_web(inst: Instance, ns: Namespace) -> str:
    full = inst.store.full_path(ns)
    return f"{inst.base_url}/groups/{full}" if ns.kind == "group" else f"{inst.base_url}/{full}"


def namespace_json(inst: Instance, ns: Namespace) -> dict[str, Any]:
    return {
        "id": ns.id, "name": ns.name, "path": ns.path, "kind": ns.kind,
        "full_path": inst.store.full_path(ns), "parent_id": ns.parent_id, "avatar_url": None,
        "web_url": namespace_web(inst, ns),
    }  # fmt: skip


def group_json(inst: Instance, ns: Namespace) -> dict[str, Any]:
    full_name = " / ".join(_names(inst, ns))
    return namespace_json(inst, ns) | {
        "description": ns.description, "visibility": ns.visibility, "share_with_group_lock": False,
        "require_two_factor_authentication": False, "two_factor_grace_period": 48,
        "project_creation_level": "developer", "auto_devops_enabled": None,
        "subgroup_creation_level": "maintainer", "emails_disabled": False, "emails_enabled": True,
        "mentions_disabled": None, "lfs_enabled": True, "default_branch": None,
        "default_branch_protection": 2, "request_access_enabled": True, "full_name": full_name,
        "created_at": ns.created_at, "organization_id": 1, "shared_runners_setting": "enabled",
        "ldap_cn": None, "ldap_access": None, "marked_for_deletion_on": None,
    }  # fmt: skip


def _names(inst: Instance, ns: Namespace) -> list[str]:
    parent = inst.store.namespaces.get(ns.parent_id) if ns.parent_id else None
    return [*(_names(inst, parent) if parent else []), ns.name]


def project_web(inst: Instance, project: Project) -> str:
    return f"{inst.base_url}/{inst.store.project_path(project)}"


def project_json(inst: Instance, project: Project) -> dict[str, Any]:
    ns = inst.store.namespaces[project.namespace_id]
    path = inst.store.project_path(project)
    web = project_web(inst, project)
    api = f"{inst.base_url}/api/v4/projects/{project.id}"
    host = inst.base_url.split("://", 1)[-1].split(":")[0]
    empty = not inst.repo(project).branches()
    owner = inst.store.user_named(ns.path) if ns.kind == "user" else None
    return {
        "id": project.id, "description": project.description, "name": project.name,
        "name_with_namespace": " / ".join([*_names(inst, ns), project.name]), "path": project.path,
        "path_with_namespace": path, "created_at": project.created_at,
        "default_branch": None if empty else project.default_branch, "tag_list": [], "topics": [],
        "ssh_url_to_repo": f"git@{host}:{path}.git", "http_url_to_repo": f"{web}.git", "web_url": web,
        "readme_url": None if empty else f"{web}/-/blob/{project.default_branch}/README.md",
        "forks_count": 0, "avatar_url": None, "star_count": 0, "last_activity_at": project.last_activity_at,
        "namespace": namespace_json(inst, ns), "empty_repo": empty, "archived": False,
        "visibility": project.visibility, "owner": user_basic(inst, owner) if owner else None,
        "_links": {
            "self": api, "issues": f"{api}/issues", "merge_requests": f"{api}/merge_requests",
            "repo_branches": f"{api}/repository/branches", "labels": f"{api}/labels",
            "events": f"{api}/events", "members": f"{api}/members", "cluster_agents": f"{api}/cluster_agents",
        },
        "issues_enabled": True, "merge_requests_enabled": True, "wiki_enabled": True,
        "jobs_enabled": True, "snippets_enabled": True, "container_registry_enabled": True,
        "repository_access_level": "enabled", "merge_requests_access_level": "enabled",
        "builds_access_level": "enabled", "creator_id": project.creator_id, "import_status": "none",
        "open_issues_count": 0, "ci_config_path": None, "shared_runners_enabled": True,
        "only_allow_merge_if_pipeline_succeeds": project.only_allow_merge_if_pipeline_succeeds,
        "allow_merge_on_skipped_pipeline": None, "only_allow_merge_if_all_discussions_are_resolved": False,
        "remove_source_branch_after_merge": project.remove_source_branch_after_merge,
        "request_access_enabled": True, "merge_method": "merge", "squash_option": "default_off",
        "permissions": {"project_access": {"access_level": 40, "notification_level": 3}, "group_access": None},
    }  # fmt: skip


def commit_json(inst: Instance, project: Project, commit: Commit) -> dict[str, Any]:
    return {
        "id": commit.id, "short_id": commit.id[:8], "created_at": commit.committed_date,
        "parent_ids": list(commit.parent_ids), "title": commit.title, "message": commit.message,
        "author_name": commit.author_name, "author_email": commit.author_email,
        "authored_date": commit.authored_date, "committer_name": commit.committer_name,
        "committer_email": commit.committer_email, "committed_date": commit.committed_date,
        "trailers": {}, "extended_trailers": {}, "web_url": f"{project_web(inst, project)}/-/commit/{commit.id}",
    }  # fmt: skip


def branch_json(inst: Instance, project: Project, name: str, commit: Commit, *, merged: bool, can_push: bool) -> dict[str, Any]:  # fmt: skip
    return {
        "name": name, "merged": merged, "protected": name in project.protected_branches,
        "default": name == project.default_branch, "developers_can_push": False,
        "developers_can_merge": False, "can_push": can_push,
        "web_url": f"{project_web(inst, project)}/-/tree/{name}", "commit": commit_json(inst, project, commit),
    }  # fmt: skip


def hook_json(hook: Hook) -> dict[str, Any]:
    flags = {name: hook.events.get(name, name in DEFAULT_ON) for name in HOOK_EVENTS}
    return {
        "id": hook.id, "url": hook.url, "name": hook.name, "description": hook.description,
        "project_id": hook.project_id, **flags, "push_events_branch_filter": hook.push_events_branch_filter,
        "branch_filter_strategy": hook.branch_filter_strategy,
        "enable_ssl_verification": hook.enable_ssl_verification, "alert_status": "executable",
        "disabled_until": None, "url_variables": [], "created_at": hook.created_at,
        "custom_webhook_template": "", "custom_headers": [],
    }  # fmt: skip


def note_json(inst: Instance, note: Note, noteable_id: int) -> dict[str, Any]:
    return {
        "id": note.id, "type": None, "body": note.body, "attachment": None,
        "author": user_ref(inst, note.author_id), "created_at": note.created_at,
        "updated_at": note.updated_at, "system": note.system, "noteable_id": noteable_id,
        "noteable_type": "MergeRequest", "project_id": note.project_id, "resolvable": False,
        "confidential": False, "internal": False, "noteable_iid": note.mr_iid, "commands_changes": {},
    }  # fmt: skip


def pipeline_status(inst: Instance, pipeline: Pipeline) -> str:
    latest: dict[str, CommitStatus] = {}
    for status in sorted(inst.store.statuses.values(), key=lambda s: s.id):
        if status.pipeline_id == pipeline.id:
            latest[status.name] = status
    states = [("success" if s.allow_failure and s.status == "failed" else s.status) for s in latest.values()]
    for state in ("running", "pending", "failed", "canceled"):
        if state in states:
            return state
    if not states:
        return "created"
    return "skipped" if all(s == "skipped" for s in states) else "success"


def pipeline_json(inst: Instance, pipeline: Pipeline, *, full: bool = False) -> dict[str, Any]:
    project = inst.store.projects[pipeline.project_id]
    status = pipeline_status(inst, pipeline)
    web = f"{project_web(inst, project)}/-/pipelines/{pipeline.id}"
    data: dict[str, Any] = {
        "id": pipeline.id, "iid": pipeline.iid, "project_id": pipeline.project_id, "sha": pipeline.sha,
        "ref": pipeline.ref, "status": status, "source": pipeline.source, "created_at": pipeline.created_at,
        "updated_at": pipeline.updated_at, "web_url": web,
    }  # fmt: skip
    if full:
        finished = status in ("success", "failed", "canceled", "skipped")
        data |= {
            "before_sha": "0" * 40, "tag": False, "yaml_errors": None, "user": user_ref(inst, pipeline.user_id),
            "started_at": pipeline.created_at, "finished_at": pipeline.updated_at if finished else None,
            "committed_at": None, "duration": None, "queued_duration": None, "coverage": None, "name": None,
            "detailed_status": {"icon": f"status_{status}", "text": status, "label": status, "group": status,
                                "tooltip": status, "has_details": False, "details_path": web, "favicon": None},
        }  # fmt: skip
    return data


def status_json(inst: Instance, status: CommitStatus) -> dict[str, Any]:
    return {
        "id": status.id, "sha": status.sha, "ref": status.ref, "status": status.status, "name": status.name,
        "target_url": status.target_url, "description": status.description, "created_at": status.created_at,
        "started_at": status.started_at, "finished_at": status.finished_at, "allow_failure": status.allow_failure,
        "coverage": status.coverage, "pipeline_id": status.pipeline_id, "author": user_ref(inst, status.author_id),
    }  # fmt: skip
