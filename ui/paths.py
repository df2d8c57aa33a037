"""Paths in the console: what a project is made of, named like a file system, pure.

    /                           the projects
    /shop                       its apps and components
    /shop/shop-api              the app's environments
    /shop/shop-api/preflight    what is deployed there

`..`, `.`, `~` (= `/`) and relative paths work (`join`, by the text alone); `locate`/`resolve`
check a path against a `Snapshot` of the appliance and name the bad part and the choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ENVIRONMENTS = ("agents", "preflight", "production")


@dataclass(frozen=True)
class Project:
    name: str
    apps: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    environments: tuple[str, ...] = ENVIRONMENTS


@dataclass(frozen=True)
class Snapshot:
    """What path resolution and completion need to know of the appliance's state."""

    projects: tuple[Project, ...] = ()
    incidents: tuple[str, ...] = ()
    changesets: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()

    def project(self, name: str) -> Project | None:
        return next((p for p in self.projects if p.name == name), None)

    def ids(self) -> tuple[str, ...]:
        return (*self.incidents, *self.changesets, *self.artifacts, *self.evidence)


@dataclass(frozen=True)
class Location:
    """Where a resolved path points; `level` says which of the fields are set."""

    path: str = "/"
    project: str | None = None
    app: str | None = None
    component: str | None = None
    env: str | None = None

    @property
    def level(self) -> Literal["root", "project", "app", "component", "environment"]:
        if self.env:
            return "environment"
        if self.component:
            return "component"
        if self.app:
            return "app"
        return "project" if self.project else "root"


@dataclass(frozen=True)
class Unresolved:
    """A path that names nothing: the bad part, and what it could have been."""

    message: str
    part: str
    choices: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.message} (choices: {', '.join(self.choices)})" if self.choices else self.message


def parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def join(cwd: str, path: str) -> str:
    """`path` made absolute against `cwd` and normalized, by its text alone (`..` stops at `/`)."""
    if path == "~" or path.startswith("~/"):
        words = parts(path[1:])
    else:
        words = parts(path) if path.startswith("/") else parts(cwd) + parts(path)
    base: list[str] = []
    for part in words:
        if part == "..":
            if base:
                base.pop()
        else:
            base.append(part)
    return "/" + "/".join(base)


def locate(path: str, snapshot: Snapshot) -> Location | Unresolved:
    """What absolute, normalized `path` names in `snapshot`."""
    names = parts(path)
    if not names:
        return Location()
    project = snapshot.project(names[0])
    if project is None:
        return Unresolved(f"no such project: {names[0]}", names[0], tuple(p.name for p in snapshot.projects))
    if len(names) == 1:
        return Location(path=path, project=project.name)
    second = names[1]
    if second in project.components:
        if len(names) > 2:
            return Unresolved(f"{second} is a component (manifests only): nothing below it", names[2])
        return Location(path=path, project=project.name, component=second)
    if second not in project.apps:
        choices = (*project.apps, *project.components)
        return Unresolved(f"no such app or component in {project.name}: {second}", second, choices)
    if len(names) == 2:
        return Location(path=path, project=project.name, app=second)
    if names[2] not in project.environments:
        where = f"{project.name}/{second}"
        return Unresolved(f"no such environment of {where}: {names[2]}", names[2], project.environments)
    if len(names) > 3:
        return Unresolved(f"nothing below an environment: {names[3]}", names[3])
    return Location(path=path, project=project.name, app=second, env=names[2])


def resolve(cwd: str, path: str, snapshot: Snapshot) -> str | Unresolved:
    """`path` (absolute, relative, `..`, `~`) from `cwd`, as the absolute path it names."""
    found = locate(join(cwd, path), snapshot)
    return found if isinstance(found, Unresolved) else found.path


def children(location: Location, snapshot: Snapshot) -> tuple[str, ...]:
    """The names one level below `location` (containers first get a trailing "/" in completion)."""
    if location.level == "root":
        return tuple(p.name for p in snapshot.projects)
    project = snapshot.project(location.project or "")
    if project is None:
        return ()
    if location.level == "project":
        return (*project.apps, *project.components)
    return project.environments if location.level == "app" else ()
