"""The API subset the fake serves: one `Resource` per kind, and the discovery documents built from them."""

from __future__ import annotations

from dataclasses import dataclass

VERBS_RW = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SERVER_VERSION = {
    "major": "1",
    "minor": "27",
    "gitVersion": "v1.27.16-pathops-fake",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T00:00:00Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "log", "scale"
    dns_label: bool = False  # names are DNS-1123 labels (else subdomains)
    generation: bool = False  # metadata.generation tracks spec changes
    verbs: tuple[str, ...] = VERBS_RW

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.group}/{self.plural}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


RESOURCES = (
    Resource("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
             subresources=("status",), dns_label=True),
    Resource("", "v1", "nodes", "Node", namespaced=False, short_names=("no",), subresources=("status",),
             verbs=("get", "list", "watch")),
    Resource("", "v1", "pods", "Pod", short_names=("po",), subresources=("status", "log"), generation=True),
    Resource("", "v1", "events", "Event", short_names=("ev",)),
    Resource("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    Resource("", "v1", "secrets", "Secret"),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    Resource("", "v1", "services", "Service", short_names=("svc",), subresources=("status",), dns_label=True),
    Resource("apps", "v1", "deployments", "Deployment", short_names=("deploy",),
             subresources=("status", "scale"), generation=True),
    Resource("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",),
             subresources=("status", "scale"), generation=True),
    Resource("batch", "v1", "jobs", "Job", subresources=("status",), generation=True),
)  # fmt: skip

BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KEY = {r.key: r for r in RESOURCES}
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}
GROUPS = {"apps": "v1", "batch": "v1"}

NAMESPACES = BY_KEY["namespaces"]
NODES = BY_KEY["nodes"]
PODS = BY_KEY["pods"]
EVENTS = BY_KEY["events"]
CONFIGMAPS = BY_KEY["configmaps"]
SECRETS = BY_KEY["secrets"]
SERVICEACCOUNTS = BY_KEY["serviceaccounts"]
SERVICES = BY_KEY["services"]
DEPLOYMENTS = BY_KEY["apps/deployments"]
REPLICASETS = BY_KEY["apps/replicasets"]
JOBS = BY_KEY["batch/jobs"]


def api_versions(server_address: str) -> dict[str, object]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group(group: str) -> dict[str, object]:
    version = {"groupVersion": f"{group}/{GROUPS[group]}", "version": GROUPS[group]}
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": [version],
        "preferredVersion": version,
    }


def api_group_list() -> dict[str, object]:
    groups = [api_group(g) for g in GROUPS]
    for g in groups:
        g.pop("kind")
        g.pop("apiVersion")
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group: str, version: str) -> dict[str, object] | None:
    found = [r for r in RESOURCES if r.group == group and r.version == version]
    if not found:
        return None
    entries: list[dict[str, object]] = []
    for r in found:
        entries.append({
            "name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced, "kind": r.kind,
            "verbs": list(r.verbs), **({"shortNames": list(r.short_names)} if r.short_names else {}),
        })  # fmt: skip
        for sub in r.subresources:
            verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
            kind = "Scale" if sub == "scale" else r.kind
            entries.append({"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                            "kind": kind, "verbs": verbs})  # fmt: skip
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": entries,
    }
