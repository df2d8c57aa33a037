"""Harbor's REST API v2.0 (`/api/v2.0`), the operations PathOps uses, in the shapes of the official
swagger: projects, repositories, artifacts and tags, scans and their vulnerability reports, robot
accounts, system info and health.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote

from fakes.harbor import scanner
from fakes.harbor.access import Access, Principal
from fakes.harbor.http import HarborError, Request, Response, Router, now_iso, paginate, parse_q, sort_by
from fakes.harbor.registry import Registry
from fakes.harbor.robots import Robots
from fakes.harbor.store import Artifact, Project, Repository, Store, Tag

VERSION = "v2.13.0-fake"
NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
BOOL_METADATA = ("public", "enable_content_trust", "enable_content_trust_cosign", "prevent_vul", "auto_scan",
                 "auto_sbom_generation", "reuse_sys_cve_allowlist", "proxy_cache_local_on_not_found")  # fmt: skip
TEXT_METADATA = ("severity", "retention_id", "proxy_speed_kb", "max_upstream_conn", "proxy_referrer_api",
                 "proxy_cache_filter_pattern", "proxy_cache_filter_kind")  # fmt: skip
SEVERITY_LEVELS = ("none", "low", "medium", "high", "critical")
COMPONENTS = ("core", "database", "jobservice", "portal", "redis", "registryctl", "trivy")
REPO = "projects/{project_name}/repositories/{repository_name}"
ARTIFACT = REPO + "/artifacts/{reference}"


class Api:
    def __init__(self, store: Store, access: Access, registry: Registry, *, public_url: str) -> None:
        self.store, self.access, self.registry, self.public_url = store, access, registry, public_url
        self.robots = Robots(store, access)
        self.router = Router()
        for method, pattern, handler in [
            ("GET", "health", self.health),
            ("GET", "ping", self.ping),
            ("GET", "systeminfo", self.systeminfo),
            ("GET", "projects", self.list_projects),
            ("HEAD", "projects", self.head_project),
            ("POST", "projects", self.create_project),
            ("GET", "projects/{project_name_or_id}", self.get_project),
            ("PUT", "projects/{project_name_or_id}", self.update_project),
            ("DELETE", "projects/{project_name_or_id}", self.delete_project),
            ("GET", "projects/{project_name_or_id}/_deletable", self.project_deletable),
            ("GET", "repositories", self.list_all_repositories),
            ("GET", "projects/{project_name}/repositories", self.list_repositories),
            ("GET", REPO, self.get_repository),
            ("PUT", REPO, self.update_repository),
            ("DELETE", REPO, self.delete_repository),
            ("GET", REPO + "/artifacts", self.list_artifacts),
            ("GET", ARTIFACT, self.get_artifact),
            ("DELETE", ARTIFACT, self.delete_artifact),
            ("POST", ARTIFACT + "/scan", self.scan_artifact),
            ("GET", ARTIFACT + "/tags", self.list_tags),
            ("POST", ARTIFACT + "/tags", self.create_tag),
            ("DELETE", ARTIFACT + "/tags/{tag_name}", self.delete_tag),
            ("GET", ARTIFACT + "/additions/vulnerabilities", self.vulnerabilities),
            ("GET", "robots", self.robots.list_robots),
            ("POST", "robots", self.robots.create_robot),
            ("GET", "robots/{robot_id}", self.robots.get_robot),
            ("PATCH", "robots/{robot_id}", self.robots.refresh_robot_secret),
            ("DELETE", "robots/{robot_id}", self.robots.delete_robot),
        ]:
            self.router.add(method, pattern, handler)

    async def handle(self, request: Request) -> Response:
        request.principal = self.access.authenticate(request.headers)
        handler = self.router.resolve(request)
        return await handler(request)

    # -- system
    async def health(self, req: Request) -> Response:
        ok = self.registry.backend.running
        installed = [name for name in COMPONENTS if name != "trivy" or self.registry.scanner]
        components = [{"name": name, "status": "healthy"} for name in installed]
        registry = {"name": "registry", "status": "healthy" if ok else "unhealthy"}
        if not ok:
            registry["error"] = "docker-registry is not running"
        components = sorted([*components, registry], key=lambda c: c["name"])
        return Response(200, {"status": "healthy" if ok else "unhealthy", "components": components})

    async def ping(self, req: Request) -> Response:
        return Response(200, text="Pong", content_type="text/plain")

    async def systeminfo(self, req: Request) -> Response:
        info: dict[str, Any] = {
            "auth_mode": "db_auth",
            "primary_auth_mode": False,
            "self_registration": False,
            "harbor_version": VERSION,
            "current_time": now_iso(),
            "banner_message": "",
        }
        if req.principal.authenticated:
            host = (self.public_url or req.base_url).split("://", 1)[-1]
            info |= {
                "registry_url": host,
                "external_url": self.public_url or req.base_url,
                "project_creation_restriction": "everyone",
                "has_ca_root": False,
                "read_only": False,
                "notification_enable": True,
                "registry_storage_provider_name": "filesystem",
            }
        return Response(200, info)

    # -- projects
    def _project(self, req: Request, resource: str = "project", action: str = "read") -> Project:
        key = req.params.get("project_name_or_id", req.params.get("project_name", ""))
        is_name = "project_name" in req.params or req.headers.get("x-is-resource-name", "").lower() == "true"
        project = self.store.find_project(key, is_name=is_name)
        if project is None:
            raise HarborError(404, f"project {key} not found")
        self.access.require(req.principal, project, resource, action)
        req.object = f"project {project.name}"
        return project

    async def list_projects(self, req: Request) -> Response:
        conds = parse_q(req.arg("q"))
        req.flag("with_detail", True)  # validated; the detail is always there
        public = req.flag("public", False) if req.arg("public") not in (None, "") else None
        name, owner = req.arg("name"), req.arg("owner")
        items = []
        for project in sorted(self.store.projects.values(), key=lambda p: p.project_id):
            if not self.access.sees(req.principal, project):
                continue
            if name and name not in project.name:
                continue
            if owner and owner != project.owner_name:
                continue
            if public is not None and project.public != public:
                continue
            if "name" in conds and not conds["name"].matches(project.name):
                continue
            if "public" in conds and not conds["public"].matches(str(project.public).lower()):
                continue
            if "project_id" in conds and not conds["project_id"].matches(str(project.project_id)):
                continue
            items.append(self._project_json(project, req.principal))
        page, headers = paginate(req, sort_by(req, items), "/api/v2.0/projects")
        return Response(200, page, headers)

    async def head_project(self, req: Request) -> Response:
        name = req.arg("project_name")
        if not name:
            raise HarborError(400, "project_name is required")
        if self.store.project_by_name(name) is None:
            raise HarborError(404, f"project {name} not found")
        return Response(200)

    async def create_project(self, req: Request) -> Response:
        if not req.principal.authenticated:
            raise HarborError(401, "unauthorized")
        if not self.access.can_system(req.principal, "project", "create"):
            raise HarborError(403, "forbidden")
        body = req.json_object()
        name = body.get("project_name")
        if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > 255:
            raise HarborError(400, "project name is not in lower case or contains illegal characters")
        if body.get("registry_id") is not None:
            raise HarborError(400, f"registry {body['registry_id']} not found: proxy cache is not supported")
        metadata = _metadata(body.get("metadata"), {"public": "false"})
        if body.get("public") is not None:
            if not isinstance(body["public"], bool):
                raise HarborError(400, "public must be a boolean")
            metadata["public"] = str(body["public"]).lower()
        storage_limit = _storage_limit(body.get("storage_limit"))
        if self.store.project_by_name(name) is not None:
            raise HarborError(409, f"The project named {name} already exists")
        at = now_iso()
        owner = req.principal.name if req.principal.kind == "user" else "admin"
        project = Project(self.store.new_id("projects"), name, owner, at, at, metadata, [], storage_limit)
        project.cve_allowlist = _allowlist(body.get("cve_allowlist"))
        self.store.add_project(project)
        req.object = f"project {name}"
        in_location = req.headers.get("x-resource-name-in-location", "").lower() == "true"
        location = f"/api/v2.0/projects/{name if in_location else project.project_id}"
        return Response(201, headers=[("Location", location)])

    async def get_project(self, req: Request) -> Response:
        return Response(200, self._project_json(self._project(req), req.principal))

    async def update_project(self, req: Request) -> Response:
        project = self._project(req, "project", "update")
        body = req.json_object()
        if body.get("metadata") is not None:
            project.metadata = _metadata(body["metadata"], project.metadata)
        if body.get("public") is not None:
            if not isinstance(body["public"], bool):
                raise HarborError(400, "public must be a boolean")
            project.metadata["public"] = str(body["public"]).lower()
        if body.get("cve_allowlist") is not None:
            project.cve_allowlist = _allowlist(body["cve_allowlist"])
        if body.get("storage_limit") is not None:
            project.storage_limit = _storage_limit(body["storage_limit"])
        project.update_time = now_iso()
        self.store.save()
        return Response(200)

    async def delete_project(self, req: Request) -> Response:
        project = self._project(req, "project", "delete")
        if self.store.repositories_of(project.project_id):
            raise HarborError(412, f"the project {project.name} contains repositories, can not be deleted")
        self.store.delete_project(project)
        return Response(200)

    async def project_deletable(self, req: Request) -> Response:
        project = self._project(req)
        if self.store.repositories_of(project.project_id):
            return Response(200, {"deletable": False, "message": "the project contains repositories"})
        return Response(200, {"deletable": True})

    def _project_json(self, project: Project, who: Principal) -> dict[str, Any]:
        data: dict[str, Any] = {
            "project_id": project.project_id,
            "owner_id": self.access.user_id(project.owner_name),
            "name": project.name,
            "creation_time": project.creation_time,
            "update_time": project.update_time,
            "deleted": False,
            "owner_name": project.owner_name,
            "togglable": True,
            "repo_count": len(self.store.repositories_of(project.project_id)),
            "metadata": dict(project.metadata),
            "cve_allowlist": {
                "id": project.project_id,
                "project_id": project.project_id,
                "items": [{"cve_id": cve} for cve in project.cve_allowlist],
                "creation_time": project.creation_time,
                "update_time": project.update_time,
            },
        }
        if who.kind == "user" and (who.admin or project.owner_name == who.name):
            data |= {"current_user_role_id": 1, "current_user_role_ids": [1]}
        return data

    # -- repositories
    def _repository(self, req: Request, resource: str, action: str) -> tuple[Project, Repository]:
        project = self._project(req, resource, action)
        name = f"{project.name}/{unquote(req.params['repository_name'])}"
        repo = self.store.repository(name)
        if repo is None:
            raise HarborError(404, f"repository {name} not found")
        req.object = f"repository {name}"
        return project, repo

    def _repository_json(self, repo: Repository) -> dict[str, Any]:
        return {
            "id": repo.id,
            "project_id": repo.project_id,
            "name": repo.name,
            "description": repo.description,
            "artifact_count": len(self.store.artifacts_of(repo.id)),
            "pull_count": repo.pull_count,
            "creation_time": repo.creation_time,
            "update_time": repo.update_time,
        }

    def _repository_list(self, req: Request, repos: list[Repository], path: str) -> Response:
        conds = parse_q(req.arg("q"))
        items = [
            self._repository_json(r)
            for r in sorted(repos, key=lambda r: r.id)
            if ("name" not in conds or conds["name"].matches(r.name))
            and ("project_id" not in conds or conds["project_id"].matches(str(r.project_id)))
        ]
        page, headers = paginate(req, sort_by(req, items), path)
        return Response(200, page, headers)

    async def list_all_repositories(self, req: Request) -> Response:
        visible = [
            r
            for r in self.store.repositories.values()
            if (p := self.store.projects.get(r.project_id)) is not None
            and self.access.can(req.principal, p, "repository", "list")
        ]
        return self._repository_list(req, visible, "/api/v2.0/repositories")

    async def list_repositories(self, req: Request) -> Response:
        project = self._project(req, "repository", "list")
        repos = self.store.repositories_of(project.project_id)
        return self._repository_list(req, repos, f"/api/v2.0/projects/{project.name}/repositories")

    async def get_repository(self, req: Request) -> Response:
        _, repo = self._repository(req, "repository", "read")
        return Response(200, self._repository_json(repo))

    async def update_repository(self, req: Request) -> Response:
        _, repo = self._repository(req, "repository", "update")
        description = req.json_object().get("description")
        if description is not None:
            if not isinstance(description, str):
                raise HarborError(400, "description must be a string")
            repo.description = description
            repo.update_time = now_iso()
            self.store.save()
        return Response(200)

    async def delete_repository(self, req: Request) -> Response:
        _, repo = self._repository(req, "repository", "delete")
        for artifact in self.store.artifacts_of(repo.id):
            await self._delete_manifest(artifact)
        self.store.delete_repository(repo)
        return Response(200)

    # -- artifacts
    def _artifact(self, req: Request, resource: str, action: str) -> tuple[Project, Repository, Artifact]:
        project, repo = self._repository(req, resource, action)
        reference = req.params["reference"]
        artifact = self.store.artifact(repo, reference)
        if artifact is None:
            raise HarborError(404, f"artifact {repo.name}:{reference} not found")
        req.object = f"artifact {repo.name}@{artifact.digest}"
        return project, repo, artifact

    def _artifact_json(self, req: Request, project: Project, artifact: Artifact) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": artifact.id,
            "type": artifact.type,
            "media_type": artifact.media_type,
            "manifest_media_type": artifact.manifest_media_type,
            "artifact_type": artifact.artifact_type,
            "project_id": artifact.project_id,
            "repository_id": artifact.repository_id,
            "repository_name": artifact.repository_name,
            "digest": artifact.digest,
            "size": artifact.size,
            "icon": "",
            "push_time": artifact.push_time,
            "pull_time": artifact.pull_time,
            "extra_attrs": artifact.extra_attrs,
            "annotations": artifact.annotations,
            "references": [
                {**ref, **({"parent_id": artifact.id} if "child_id" in ref else {})}
                for ref in artifact.references
            ],
        }
        base = (
            f"/api/v2.0/projects/{project.name}/repositories/"
            f"{quote(quote(artifact.repository_name.split('/', 1)[1], safe=''), safe='')}/artifacts/{artifact.digest}"
        )
        if artifact.type == "IMAGE" and artifact.layers:
            data["addition_links"] = {
                "build_history": {"href": f"{base}/additions/build_history", "absolute": False},
                "vulnerabilities": {"href": f"{base}/additions/vulnerabilities", "absolute": False},
            }
        if req.flag("with_tag", True):
            data["tags"] = [_tag_json(t) for t in self.store.tags_of(artifact.id)]
        if req.flag("with_label", False):
            data["labels"] = []
        if req.flag("with_accessory", False):
            data["accessories"] = []
        if req.flag("with_scan_overview", False) and artifact.scan is not None:
            data["scan_overview"] = {_report_mime(req): scanner.overview(artifact.scan)}
        for flag in (
            "with_sbom_overview",
            "with_immutable_status",
            "with_signature",
            "with_inherited_accessory",
        ):
            req.flag(flag, False)  # validated, nothing to add
        return data

    async def list_artifacts(self, req: Request) -> Response:
        project, repo = self._repository(req, "artifact", "list")
        conds = parse_q(req.arg("q"))
        items = []
        for artifact in sorted(self.store.artifacts_of(repo.id), key=lambda a: a.push_time, reverse=True):
            tags = [t.name for t in self.store.tags_of(artifact.id)]
            if "tags" in conds and not _tags_match(conds["tags"], tags):
                continue
            if any(
                k in conds and not conds[k].matches(getattr(artifact, k))
                for k in ("digest", "media_type", "type")
            ):
                continue
            items.append(self._artifact_json(req, project, artifact))
        page, headers = paginate(req, sort_by(req, items), _path(req, "artifacts"))
        return Response(200, page, headers)

    async def get_artifact(self, req: Request) -> Response:
        project, _, artifact = self._artifact(req, "artifact", "read")
        req.integer("page", 1)  # validated, an artifact has no pages
        return Response(200, self._artifact_json(req, project, artifact))

    async def delete_artifact(self, req: Request) -> Response:
        _, _, artifact = self._artifact(req, "artifact", "delete")
        await self._delete_manifest(artifact)
        self.store.delete_artifact(artifact)
        return Response(200)

    async def _delete_manifest(self, artifact: Artifact) -> None:
        if self.registry.backend.running:
            await self.registry.client.delete(
                f"http://registry/v2/{artifact.repository_name}/manifests/{artifact.digest}"
            )

    async def scan_artifact(self, req: Request) -> Response:
        _, _, artifact = self._artifact(req, "scan", "create")
        body = req.json_object(required=False)
        scan_type = body.get("scan_type", "vulnerability")
        if scan_type not in ("vulnerability", "sbom"):
            raise HarborError(400, f"invalid scan type {scan_type!r}")
        if not self.registry.scanner:  # as Harbor answers when no scanner is registered
            raise HarborError(412, f"no available scanner for project: {artifact.project_id}")
        if scan_type == "sbom":
            raise HarborError(400, "the configured scanner does not support SBOM generation")
        if artifact.type != "IMAGE" or not artifact.layers:
            raise HarborError(422, f"the artifact {artifact.digest} has no layers this scanner can read")
        await self.registry.scan(artifact)
        return Response(202)

    async def vulnerabilities(self, req: Request) -> Response:
        _, _, artifact = self._artifact(req, "artifact", "read")
        if artifact.scan is None:
            return Response(200, {})
        return Response(200, scanner.addition(artifact.scan, _report_mime(req)))

    # -- tags
    async def list_tags(self, req: Request) -> Response:
        _, _, artifact = self._artifact(req, "tag", "list")
        req.flag("with_immutable_status", False)
        conds = parse_q(req.arg("q"))
        items = [
            _tag_json(t)
            for t in self.store.tags_of(artifact.id)
            if "name" not in conds or conds["name"].matches(t.name)
        ]
        page, headers = paginate(req, sort_by(req, items), _path(req, "tags"))
        return Response(200, page, headers)

    async def create_tag(self, req: Request) -> Response:
        _, repo, artifact = self._artifact(req, "tag", "create")
        name = req.json_object().get("name")
        if not isinstance(name, str) or not TAG_RE.match(name):
            raise HarborError(400, f"invalid tag name {name!r}")
        if self.store.tag(repo.id, name) is not None:
            raise HarborError(409, f"tag {name} already exists in repository {repo.name}")
        self.store.add_tag(artifact, name)
        return Response(201, headers=[("Location", _path(req, f"tags/{name}"))])

    async def delete_tag(self, req: Request) -> Response:
        _, _, artifact = self._artifact(req, "tag", "delete")
        tag = next((t for t in self.store.tags_of(artifact.id) if t.name == req.params["tag_name"]), None)
        if tag is None:
            raise HarborError(404, f"tag {req.params['tag_name']} not found on artifact {artifact.digest}")
        self.store.delete_tag(tag)
        return Response(200)


def _path(req: Request, tail: str) -> str:
    """An API path under the request's repository (or artifact), for Link and Location headers."""
    path = f"/api/v2.0/projects/{quote(req.params['project_name'], safe='')}/repositories/"
    path += quote(req.params["repository_name"], safe="")
    if "reference" in req.params and not tail.startswith("artifacts"):
        path += f"/artifacts/{quote(req.params['reference'], safe=':')}"
    return f"{path}/{tail}"


def _tag_json(tag: Tag) -> dict[str, Any]:
    return {
        "id": tag.id,
        "repository_id": tag.repository_id,
        "artifact_id": tag.artifact_id,
        "name": tag.name,
        "push_time": tag.push_time,
        "pull_time": tag.pull_time,
        "immutable": False,
    }


def _tags_match(cond: Any, tags: list[str]) -> bool:
    if cond.op == "exact" and cond.value == "*":
        return bool(tags)
    if cond.op == "exact" and cond.value == "nil":
        return not tags
    return any(cond.matches(t) for t in tags)


def _report_mime(req: Request) -> str:
    """The first report MIME type of X-Accept-Vulnerabilities this fake produces (MIME types hold commas)."""
    accepted = req.headers.get("x-accept-vulnerabilities", "").replace(" ", "")
    known = {m.replace(" ", ""): m for m in (scanner.REPORT_MIME, scanner.LEGACY_MIME)}
    found = sorted((accepted.find(k), m) for k, m in known.items() if k in accepted)
    return found[0][1] if found else scanner.REPORT_MIME


def _metadata(raw: Any, base: dict[str, str]) -> dict[str, str]:
    if raw is None:
        return dict(base)
    if not isinstance(raw, dict):
        raise HarborError(400, "metadata must be an object")
    metadata = dict(base)
    for key, value in raw.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise HarborError(400, f"metadata {key} must be a string")
        if key in BOOL_METADATA and value not in ("true", "false"):
            raise HarborError(400, f"invalid value {value!r} of metadata {key}: must be 'true' or 'false'")
        if key == "severity" and value.lower() not in SEVERITY_LEVELS:
            raise HarborError(400, f"invalid severity {value!r}")
        if key in BOOL_METADATA or key in TEXT_METADATA:
            metadata[key] = value
    return metadata


def _allowlist(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, dict) or not isinstance(raw.get("items", []), list):
        raise HarborError(400, "cve_allowlist must be an object with a list of items")
    cves = []
    for item in raw.get("items") or []:
        if not isinstance(item, dict) or not isinstance(item.get("cve_id", ""), str):
            raise HarborError(400, "cve_allowlist items are objects with a cve_id")
        if item.get("cve_id"):
            cves.append(item["cve_id"])
    return cves


def _storage_limit(raw: Any) -> int:
    if raw is None:
        return -1
    if not isinstance(raw, int) or isinstance(raw, bool) or raw == 0 or raw < -1:
        raise HarborError(400, "storage_limit must be -1 (unlimited) or a positive number of bytes")
    return raw
