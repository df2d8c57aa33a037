"""Harbor's database: projects, repositories, artifacts, tags and robot accounts.

In memory, and written as one JSON file after every change when the fake has a `data_dir`. The
blobs and manifests themselves live in the registry behind the fake; this is what Harbor's core
keeps about them (push and pull times, tags, scan reports).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fakes.harbor.http import NEVER, now_iso


@dataclass
class Project:
    project_id: int
    name: str
    owner_name: str
    creation_time: str
    update_time: str
    metadata: dict[str, str] = field(default_factory=dict)
    cve_allowlist: list[str] = field(default_factory=list)
    storage_limit: int = -1

    @property
    def public(self) -> bool:
        return self.metadata.get("public") == "true"


@dataclass
class Repository:
    id: int
    project_id: int
    name: str  # "<project>/<repo>"
    creation_time: str
    update_time: str
    description: str = ""
    pull_count: int = 0


@dataclass
class Artifact:
    id: int
    project_id: int
    repository_id: int
    repository_name: str
    digest: str
    manifest_media_type: str
    media_type: str
    artifact_type: str
    type: str
    size: int
    push_time: str
    pull_time: str = NEVER
    extra_attrs: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    references: list[dict[str, Any]] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)  # descriptors, for the scanner
    scan: dict[str, Any] | None = None  # the last vulnerability report


@dataclass
class Tag:
    id: int
    repository_id: int
    artifact_id: int
    name: str
    push_time: str
    pull_time: str = NEVER


@dataclass
class Robot:
    id: int
    name: str  # "robot$<name>" (system) or "robot$<project>+<name>" (project)
    secret: str
    level: str  # "system" or "project"
    duration: int
    expires_at: int  # unix time, -1: never
    permissions: list[dict[str, Any]]
    creation_time: str
    update_time: str
    description: str = ""
    disable: bool = False
    creator: str = "admin"


_KINDS = {
    "projects": Project,
    "repositories": Repository,
    "artifacts": Artifact,
    "tags": Tag,
    "robots": Robot,
}


class Store:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.projects: dict[int, Project] = {}
        self.repositories: dict[int, Repository] = {}
        self.artifacts: dict[int, Artifact] = {}
        self.tags: dict[int, Tag] = {}
        self.robots: dict[int, Robot] = {}
        self.next_id: dict[str, int] = {}
        if path is not None and path.exists():
            self._load(json.loads(path.read_text()))
        else:
            at = now_iso()  # Harbor ships with the public project "library"
            self.add_project(Project(self.new_id("projects"), "library", "admin", at, at, {"public": "true"}))

    # -- persistence
    def _load(self, data: dict[str, Any]) -> None:
        self.next_id = data["next_id"]
        for kind, cls in _KINDS.items():
            table = getattr(self, kind)
            for row in data[kind]:
                item = cls(**row)
                table[_key(item)] = item

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "next_id": self.next_id,
            **{k: [asdict(v) for v in getattr(self, k).values()] for k in _KINDS},
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)

    def new_id(self, kind: str) -> int:
        self.next_id[kind] = self.next_id.get(kind, 0) + 1
        return self.next_id[kind]

    # -- projects
    def add_project(self, project: Project) -> Project:
        self.projects[project.project_id] = project
        self.save()
        return project

    def project_by_name(self, name: str) -> Project | None:
        return next((p for p in self.projects.values() if p.name == name), None)

    def find_project(self, name_or_id: str, *, is_name: bool) -> Project | None:
        if not is_name and name_or_id.isdigit():
            return self.projects.get(int(name_or_id))
        return self.project_by_name(name_or_id)

    def delete_project(self, project: Project) -> None:
        self.projects.pop(project.project_id, None)
        for robot in [r for r in self.robots.values() if robot_project(r) == project.name]:
            self.robots.pop(robot.id)
        self.save()

    # -- repositories
    def repository(self, name: str) -> Repository | None:
        return next((r for r in self.repositories.values() if r.name == name), None)

    def repositories_of(self, project_id: int) -> list[Repository]:
        return [r for r in self.repositories.values() if r.project_id == project_id]

    def delete_repository(self, repo: Repository) -> None:
        for artifact in self.artifacts_of(repo.id):
            self.delete_artifact(artifact, save=False)
        self.repositories.pop(repo.id, None)
        self.save()

    # -- artifacts and tags
    def artifacts_of(self, repository_id: int) -> list[Artifact]:
        return [a for a in self.artifacts.values() if a.repository_id == repository_id]

    def artifact(self, repo: Repository, reference: str) -> Artifact | None:
        if ":" in reference:
            return next((a for a in self.artifacts_of(repo.id) if a.digest == reference), None)
        tag = self.tag(repo.id, reference)
        return self.artifacts.get(tag.artifact_id) if tag is not None else None

    def tag(self, repository_id: int, name: str) -> Tag | None:
        return next(
            (t for t in self.tags.values() if t.repository_id == repository_id and t.name == name), None
        )

    def tags_of(self, artifact_id: int) -> list[Tag]:
        return sorted((t for t in self.tags.values() if t.artifact_id == artifact_id), key=lambda t: t.id)

    def add_tag(self, artifact: Artifact, name: str) -> Tag:
        existing = self.tag(artifact.repository_id, name)
        if existing is not None:  # a tag moves to the artifact pushed last
            self.tags.pop(existing.id)
        tag = Tag(self.new_id("tags"), artifact.repository_id, artifact.id, name, now_iso())
        self.tags[tag.id] = tag
        self.save()
        return tag

    def delete_tag(self, tag: Tag) -> None:
        self.tags.pop(tag.id, None)
        self.save()

    def delete_artifact(self, artifact: Artifact, *, save: bool = True) -> None:
        for tag in self.tags_of(artifact.id):
            self.tags.pop(tag.id)
        self.artifacts.pop(artifact.id, None)
        if save:
            self.save()

    def record_push(
        self, project: Project, repo_name: str, reference: str, fields: dict[str, Any]
    ) -> Artifact:
        """What Harbor's core records when a manifest is pushed: repository, artifact, tag."""
        at = now_iso()
        repo = self.repository(repo_name)
        if repo is None:
            repo = Repository(self.new_id("repositories"), project.project_id, repo_name, at, at)
            self.repositories[repo.id] = repo
        repo.update_time = at
        artifact = self.artifact(repo, fields["digest"])
        if artifact is None:
            artifact = Artifact(
                id=self.new_id("artifacts"),
                project_id=project.project_id,
                repository_id=repo.id,
                repository_name=repo_name,
                push_time=at,
                **fields,
            )
            self.artifacts[artifact.id] = artifact
        artifact.push_time = at
        if ":" not in reference:
            self.add_tag(artifact, reference)
        self.save()
        return artifact

    def mark_pulled(self, artifact: Artifact, tag: Tag | None) -> None:
        at = now_iso()
        artifact.pull_time = at
        if tag is not None:
            tag.pull_time = at
        repo = self.repositories.get(artifact.repository_id)
        if repo is not None:
            repo.pull_count += 1
        self.save()

    # -- robots
    def robot_by_name(self, name: str) -> Robot | None:
        return next((r for r in self.robots.values() if r.name == name), None)


def robot_project(robot: Robot) -> str | None:
    """The project of a project-level robot (`robot$shop+ci` -> "shop")."""
    if robot.level != "project":
        return None
    for perm in robot.permissions:
        if perm.get("kind") == "project":
            return str(perm.get("namespace"))
    return None


def _key(item: Any) -> int:
    return int(item.project_id if isinstance(item, Project) else item.id)
