"""What the seed does in GitLab (REST v4): groups, projects, their first commit, reading files back, and
project hooks. Each `ensure_*` looks first and says whether it changed anything.

Hooks carry a fingerprint of their secret in their description (`secret sha256:<12 hex>`), since
GitLab never shows a hook's token: a changed secret is seen and the hook updated. A seeded hook to
the same path on another host or port (the control plane moved) is updated, not duplicated.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote, urlsplit

from appliance.adapters.embedded.client import Http

BRANCH = "main"


def _p(project: str) -> str:
    return f"/projects/{quote(project, safe='')}"


SEEDED = "PathOps seed"


def fingerprint(secret: str) -> str:
    return f"{SEEDED}; secret sha256:{hashlib.sha256(secret.encode()).hexdigest()[:12]}"


class GitLab:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.http = Http("gitlab", f"{self.url}/api/v4", headers={"PRIVATE-TOKEN": token}, secrets=(token,))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ensure_group(self, path: str) -> tuple[int, bool]:
        what = f"ensure group {path}"
        found = await self.http.request("GET", f"/groups/{quote(path, safe='')}", what=what, allow=(404,))
        if found.status_code != 404:
            return int(found.json()["id"]), False
        body = {"name": path, "path": path, "visibility": "private"}
        created = await self.http.json("POST", "/groups", what=what, json=body)
        return int(created["id"]), True

    async def ensure_project(self, project: str, *, namespace_id: int, description: str) -> tuple[str, bool]:
        """The project's http clone URL, and whether it was created."""
        what = f"ensure project {project}"
        found = await self.http.request("GET", _p(project), what=what, allow=(404,))
        if found.status_code != 404:
            return str(found.json()["http_url_to_repo"]), False
        body = {
            "name": project.rsplit("/", 1)[1],
            "path": project.rsplit("/", 1)[1],
            "namespace_id": namespace_id,
            "default_branch": BRANCH,
            "visibility": "private",
            "description": description,
        }
        created = await self.http.json("POST", "/projects", what=what, json=body)
        return str(created["http_url_to_repo"]), True

    async def head(self, project: str) -> str | None:
        """The commit `main` points at; None in an empty repository."""
        what = f"read branch {BRANCH} of {project}"
        found = await self.http.request(
            "GET", f"{_p(project)}/repository/branches/{BRANCH}", what=what, allow=(404,)
        )
        return None if found.status_code == 404 else str(found.json()["commit"]["id"])

    async def tree(self, project: str, ref: str) -> dict[str, str]:
        """Every file at `ref`: path -> blob id."""
        files: dict[str, str] = {}
        page = 1
        while True:
            params: dict[str, Any] = {"ref": ref, "recursive": "true", "per_page": 100, "page": page}
            entries = await self.http.json(
                "GET", f"{_p(project)}/repository/tree", what=f"list files of {project}", params=params
            )
            files |= {e["path"]: e["id"] for e in entries if e.get("type") == "blob"}
            if len(entries) < 100:
                return files
            page += 1

    async def blob(self, project: str, blob_id: str) -> bytes:
        response = await self.http.request(
            "GET", f"{_p(project)}/repository/blobs/{blob_id}/raw", what=f"read a file of {project}"
        )
        return response.content

    async def files(self, project: str, ref: str) -> dict[str, bytes]:
        """Every file at `ref` with its content."""
        return {
            path: await self.blob(project, blob) for path, blob in (await self.tree(project, ref)).items()
        }

    async def commit(
        self,
        project: str,
        *,
        message: str,
        files: dict[str, bytes],
        existing: set[str] | frozenset[str] = frozenset(),
    ) -> str:
        """One commit on `main` writing `files` (created, or updated when in `existing`); its SHA."""
        actions = [
            {
                "action": "update" if path in existing else "create",
                "file_path": path,
                "content": base64.b64encode(data).decode(),
                "encoding": "base64",
            }
            for path, data in sorted(files.items())
        ]
        body = {"branch": BRANCH, "commit_message": message, "actions": actions}
        made = await self.http.json(
            "POST", f"{_p(project)}/repository/commits", what=f"commit to {project}", json=body
        )
        return str(made["id"])

    async def ensure_hook(self, project: str, *, url: str, token: str, events: tuple[str, ...]) -> str:
        """'' when the hook is there as wanted, else 'created' or 'updated'."""
        what = f"ensure hook {url} on {project}"
        hooks = await self.http.json("GET", f"{_p(project)}/hooks", what=what, params={"per_page": 100})
        body: dict[str, Any] = {
            "url": url,
            "token": token,
            "description": fingerprint(token),
            "enable_ssl_verification": True,
            **{name: True for name in events},
        }
        path = urlsplit(url).path
        same = [h for h in hooks if h.get("url") == url]
        moved = [
            h
            for h in hooks
            if str(h.get("description", "")).startswith(SEEDED) and urlsplit(str(h.get("url"))).path == path
        ]
        hook = (same or moved or [None])[0]
        if hook is not None:
            if (
                hook in same
                and hook.get("description") == body["description"]
                and all(hook.get(e) for e in events)
            ):
                return ""
            await self.http.request("PUT", f"{_p(project)}/hooks/{hook['id']}", what=what, json=body)
            return "updated"
        await self.http.request("POST", f"{_p(project)}/hooks", what=what, json=body)
        return "created"
