"""The GitLab instance: its store, its bare repositories and the operations REST and git share.

Every change to a branch, whether a REST commit, a branch created or deleted, a merge or a
`git push`, ends in `ref_changes`, which fires the push hooks, refreshes the merge requests whose
source branch moved (an `update` event) or whose head reached their target (merged by push), and
sets the default branch of a repository that was empty.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fakes.common.config import FakeConfig
from fakes.gitlab import auth, events
from fakes.gitlab.actions import Action, ActionError
from fakes.gitlab.git import ZERO, GitError, Person, Repo, valid_branch_name
from fakes.gitlab.hooks import Deliveries
from fakes.gitlab.http import ApiError, Request, bad_request, not_found
from fakes.gitlab.store import MergeRequest, Namespace, Pipeline, Project, Store, User, now


class Instance:
    def __init__(self, config: FakeConfig, data_dir: Path, deliveries: Deliveries) -> None:
        self.config = config
        self.data_dir = data_dir
        self.repos_dir = data_dir / "repositories"
        self.repos_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "state.json")
        self.deliveries = deliveries
        self.base_url = config.public_url.rstrip("/")
        self.tokens = {token: self.store.ensure_user(name) for token, name in config.tokens.items()}
        self._conflicts: dict[tuple[str, str], bool] = {}
        self.store.save()

    # identities

    def user_for_token(self, token: str | None) -> User | None:
        user = self.tokens.get(token) if token else None
        return self.store.users.get(user.id) if user else None

    def scopes(self, user: User) -> frozenset[str]:
        return auth.scopes_for(user.username, self.config.options)

    def person(self, user: User) -> Person:
        return Person(user.name, user.email)

    # lookups that answer GitLab's 404s

    def project(self, req: Request, ref: str) -> Project:
        project = self.store.project(ref)
        if project is None:
            raise not_found("Project")
        req.object = f"project {self.store.project_path(project)}"
        return project

    def namespace(self, ref: str, what: str = "Namespace") -> Namespace:
        ns = self.store.namespace(ref)
        if ns is None:
            raise not_found(what)
        return ns

    def merge_request(self, req: Request, project: Project, iid: str) -> MergeRequest:
        mr = self.store.merge_request(project.id, int(iid)) if iid.isdigit() else None
        if mr is None:
            raise ApiError(404, {"message": "404 Not found"})
        req.object = f"merge_request {self.store.project_path(project)}!{mr.iid}"
        return mr

    def repo(self, project: Project) -> Repo:
        return Repo(self.repos_dir / f"{project.id}.git", self.data_dir)

    # projects

    def create_project(
        self, user: User, ns: Namespace, name: str, path: str, *, default_branch: str = "main",
        description: str = "", readme: bool = False,
    ) -> Project:  # fmt: skip
        taken = [p for p in self.store.projects.values() if p.namespace_id == ns.id]
        errors = {"name": ["has already been taken"]} if any(p.name == name for p in taken) else {}
        if any(p.path.lower() == path.lower() for p in taken):
            errors["path"] = ["has already been taken"]
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", path) or path.endswith((".git", ".atom")):
            errors["path"] = ["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"]  # fmt: skip
        if not valid_branch_name(default_branch):
            errors["default_branch"] = ["is invalid"]
        if errors:
            raise bad_request(errors)
        stamp = now()
        project = Project(
            id=self.store.next_id("projects"), name=name, path=path, namespace_id=ns.id,
            creator_id=user.id, default_branch=default_branch, description=description,
            created_at=stamp, last_activity_at=stamp, protected_branches=[default_branch],
        )  # fmt: skip
        self.store.projects[project.id] = project
        self.repo(project).init(default_branch)
        if readme:
            content = f"# {name}\n\n{description}\n".encode()
            self.commit(project, user, branch=default_branch, message="Initial commit",
                        actions=[Action("create", "README.md", content)])  # fmt: skip
        return project

    def delete_project(self, project: Project) -> None:
        self.store.delete_project(project.id)
        shutil.rmtree(self.repo(project).path, ignore_errors=True)

    # writing to branches

    def commit(
        self, project: Project, user: User, *, branch: str, message: str, actions: list[Action],
        start_branch: str | None = None, start_sha: str | None = None, author: Person | None = None,
        force: bool = False, allow_empty: bool = True,
    ) -> str:  # fmt: skip
        repo = self.repo(project)
        heads = repo.branches()
        old = heads.get(branch)
        start = None
        if start_branch:
            start = heads.get(start_branch)
            if start is None:
                raise bad_request(f"Invalid reference name: {start_branch}")
        elif start_sha:
            start = repo.resolve(start_sha)
            if start is None:
                raise bad_request(f"Invalid reference name: {start_sha}")
        if old is None:
            if start is None and heads:
                raise bad_request("You can only create or edit files when you are on a branch")
            if not valid_branch_name(branch):
                raise bad_request("Branch name is invalid")
        elif start is not None and start != old and not force:
            raise bad_request(
                f"A branch called '{branch}' already exists. Switch to that branch in order to make changes"
            )
        parent = start if start is not None else old
        try:
            sha = repo.write_commit(parent, actions, message, author or self.person(user), self.person(user))
        except ActionError as exc:
            raise bad_request(str(exc)) from None
        if not allow_empty and parent and repo.tree_of(sha) == repo.tree_of(parent):
            raise bad_request("The file has not been changed")
        self.move_branch(project, user, branch, sha, old or ZERO)
        return sha

    def move_branch(self, project: Project, user: User, branch: str, new: str, old: str) -> None:
        try:
            self.repo(project).update_ref(branch, new, old)
        except GitError:
            raise bad_request(f"Could not update branch {branch}: it was changed at the same time") from None
        self.ref_changes(project, user, [(f"refs/heads/{branch}", old, new)])

    def ref_changes(self, project: Project, user: User, changes: list[tuple[str, str, str]]) -> None:
        repo = self.repo(project)
        heads = repo.branches()
        if project.default_branch not in heads and heads:
            pushed = [ref.removeprefix("refs/heads/") for ref, _, _ in changes]
            project.default_branch = next((b for b in pushed if b in heads), sorted(heads)[0])
            repo.set_head(project.default_branch)
            if project.default_branch not in project.protected_branches:
                project.protected_branches.append(project.default_branch)
        project.last_activity_at = now()
        events.ref_changes(self, project, user, changes)
        self.store.save()

    # derived state

    def conflicts(self, repo: Repo, target: str, source: str) -> bool:
        key = (target, source)
        if key not in self._conflicts:
            self._conflicts[key] = not repo.merge_tree(target, source)[1]
        return self._conflicts[key]

    def head_pipeline(self, project: Project, sha: str | None) -> Pipeline | None:
        found = [p for p in self.store.pipelines.values() if p.project_id == project.id and p.sha == sha]
        return max(found, key=lambda p: p.id) if found else None
