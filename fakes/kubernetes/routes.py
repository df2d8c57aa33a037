"""Request paths to targets: `/api/v1/namespaces/{ns}/pods/{name}/log` -> (pods, ns, name, "log", verb)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakes.kubernetes import errors, resources
from fakes.kubernetes.resources import BY_PATH, NAMESPACES, Resource

NOT_FOUND = errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})


@dataclass(frozen=True)
class Target:
    res: Resource
    namespace: str  # "" for cluster-scoped resources and all-namespace lists
    name: str
    sub: str
    verb: str  # RBAC verb: get, list, watch, create, update, patch, delete, deletecollection

    @property
    def rbac_resource(self) -> str:
        return f"{self.res.plural}/{self.sub}" if self.sub else self.res.plural

    @property
    def rbac_namespace(self) -> str:
        """As the apiserver's RequestInfo: a namespace object is addressed within itself."""
        return self.name if self.res is NAMESPACES and self.name else self.namespace

    def describe(self) -> str:
        where = "/".join(p for p in (self.namespace, self.name) if p)
        return f"{self.verb} {self.rbac_resource} {where}".strip()


def discovery(path: str, server_address: str) -> dict[str, Any] | None:
    parts = [p for p in path.split("/") if p]
    if parts == ["api"]:
        return resources.api_versions(server_address)
    if parts == ["apis"]:
        return resources.api_group_list()
    if parts == ["api", "v1"]:
        return resources.resource_list("", "v1")
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in resources.GROUPS:
        return resources.api_group(parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return resources.resource_list(parts[1], parts[2])
    return None


def parse(method: str, path: str, watch: bool) -> Target:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise NOT_FOUND
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in BY_PATH:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3 or (group, version, rest[0]) not in BY_PATH:
        raise NOT_FOUND
    res = BY_PATH[(group, version, rest[0])]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if (sub and sub not in res.subresources) or (res.namespaced and name and not namespace):
        raise NOT_FOUND
    if not res.namespaced and namespace:
        raise NOT_FOUND
    verb = _verb(method, bool(name), watch)
    if verb not in res.verbs or (sub == "log" and verb != "get"):
        raise errors.method_not_allowed()
    return Target(res, namespace, name, sub, verb)


def _verb(method: str, named: bool, watch: bool) -> str:
    if method == "GET":
        return "get" if named else ("watch" if watch else "list")
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    if method not in verbs:
        raise errors.method_not_allowed()
    if method == "POST" and named:
        raise errors.method_not_allowed()
    if method in ("PUT", "PATCH") and not named:
        raise errors.method_not_allowed()
    if method == "DELETE" and not named:
        return "deletecollection"
    return verbs[method]
