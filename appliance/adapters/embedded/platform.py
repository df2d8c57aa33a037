"""What the seed does in Harbor (a project and the CI's robot account), Kubernetes (namespaces, Secrets,
ConfigMaps) and Argo CD (Applications). Each `ensure_*` looks first and returns what it changed:
'' (nothing), 'created' or 'updated'.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from appliance.adapters.embedded.client import Http

HARBOR_API = "/api/v2.0"
CI_ROBOT_ACCESS = (
    ("repository", "push"),
    ("repository", "pull"),
    ("artifact", "read"),
    ("artifact", "list"),
    ("tag", "create"),
    ("tag", "list"),
    ("scan", "create"),
)


@dataclass(frozen=True)
class Robot:
    name: str  # robot$<project>+<name>
    secret: str

    def __repr__(self) -> str:
        return f"Robot({self.name}, ***)"


class Harbor:
    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/")
        self.http = Http("harbor", self.url, auth=(user, password), secrets=(password,))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ensure_project(self, project: str, *, public: bool) -> str:
        what = f"ensure Harbor project {project}"
        head = await self.http.request(
            "HEAD", f"{HARBOR_API}/projects", what=what, allow=(404,), params={"project_name": project}
        )
        if head.status_code != 404:
            return ""
        body = {"project_name": project, "metadata": {"public": str(public).lower()}}
        created = await self.http.request(
            "POST", f"{HARBOR_API}/projects", what=what, allow=(409,), json=body
        )
        return "" if created.status_code == 409 else "created"

    async def ensure_robot(self, project: str, name: str, *, known: Robot | None) -> tuple[Robot, str]:
        """The project robot `name` with the CI's access; `known` (from an earlier seed) is kept when its
        secret still works, else the secret is refreshed."""
        what = f"ensure robot {name} in Harbor project {project}"
        full = f"robot${project}+{name}"
        listed = await self.http.json("GET", f"{HARBOR_API}/robots", what=what, params={"page_size": 100})
        existing = next((r for r in listed if r.get("name") == full), None)
        if existing is None:
            body = {
                "name": name,
                "level": "project",
                "duration": -1,
                "description": "CI: pushes and pulls the project's images",
                "permissions": [
                    {
                        "kind": "project",
                        "namespace": project,
                        "access": [{"resource": r, "action": a} for r, a in CI_ROBOT_ACCESS],
                    }
                ],
            }
            created = await self.http.json("POST", f"{HARBOR_API}/robots", what=what, json=body)
            return Robot(str(created["name"]), str(created["secret"])), "created"
        if known is not None and known.name == full and await self._works(project, known):
            return known, ""
        secret = f"Ci{secrets.token_urlsafe(24)}9"  # Harbor wants a digit, a lower and an upper case letter
        await self.http.request(
            "PATCH", f"{HARBOR_API}/robots/{existing['id']}", what=what, json={"secret": secret}
        )
        return Robot(full, secret), "updated"

    async def _works(self, project: str, robot: Robot) -> bool:
        async with Http("harbor", self.url, auth=(robot.name, robot.secret), secrets=(robot.secret,)) as http:
            response = await http.request(
                "GET", f"{HARBOR_API}/projects/{project}", what="check the CI robot", allow=(401, 403)
            )
        return response.status_code == 200


KINDS = {"Secret": "secrets", "ConfigMap": "configmaps"}


class Kube:
    def __init__(self, url: str, token: str) -> None:
        self.http = Http("kubernetes", url, headers={"Authorization": f"Bearer {token}"}, secrets=(token,))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ensure_namespace(self, name: str) -> str:
        what = f"ensure namespace {name}"
        found = await self.http.request("GET", f"/api/v1/namespaces/{name}", what=what, allow=(404,))
        if found.status_code != 404:
            return ""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        created = await self.http.request("POST", "/api/v1/namespaces", what=what, allow=(409,), json=body)
        return "" if created.status_code == 409 else "created"

    async def ensure(
        self, kind: str, namespace: str, name: str, data: dict[str, str], labels: dict[str, str]
    ) -> str:
        """A Secret or ConfigMap holding exactly `data`."""
        plural = KINDS[kind]
        what = f"ensure {kind} {namespace}/{name}"
        encoded = (
            {k: base64.b64encode(v.encode()).decode() for k, v in data.items()} if kind == "Secret" else data
        )
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "data": encoded,
            **({"type": "Opaque"} if kind == "Secret" else {}),
        }
        base = f"/api/v1/namespaces/{namespace}/{plural}"
        found = await self.http.request("GET", f"{base}/{name}", what=what, allow=(404,))
        if found.status_code == 404:
            await self.http.request("POST", base, what=what, json=body)
            return "created"
        current = found.json()
        same_labels = all((current["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
        if (current.get("data") or {}) == encoded and same_labels:
            return ""
        body["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
        await self.http.request("PUT", f"{base}/{name}", what=what, json=body)
        return "updated"


class ArgoCd:
    def __init__(self, url: str, token: str) -> None:
        self.http = Http("argocd", url, headers={"Authorization": f"Bearer {token}"}, secrets=(token,))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ensure_app(self, name: str, *, spec: dict[str, Any], labels: dict[str, str]) -> str:
        what = f"ensure Argo CD application {name}"
        path = f"/api/v1/applications/{quote(name, safe='')}"
        found = await self.http.request("GET", path, what=what, allow=(404,))
        body = {"metadata": {"name": name, "labels": labels}, "spec": spec}
        if found.status_code == 404:
            await self.http.request("POST", "/api/v1/applications", what=what, json=body)
            return "created"
        current = found.json()
        if _contains(current.get("spec"), spec) and _contains(
            (current.get("metadata") or {}).get("labels"), labels
        ):
            return ""
        await self.http.request("PUT", path, what=what, json=body)
        return "updated"

    async def apps(self, selector: str) -> list[dict[str, Any]]:
        listed = await self.http.json(
            "GET", "/api/v1/applications", what="list Argo CD applications", params={"selector": selector}
        )
        return list(listed.get("items") or [])


def _contains(current: Any, wanted: Any) -> bool:
    """Whether `current` holds everything `wanted` says (a server adds defaults of its own)."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(
            k in current and _contains(current[k], v) for k, v in wanted.items()
        )
    return bool(current == wanted)
