"""The Scm port on GitLab REST v4 (../shared/specs/gitlab), over httpx so that it is async.

Projects, branches and file paths travel URL-encoded as one path segment (`projects/shop%2Fshop-api`).
Idempotency, which GitLab does not offer by key, is found in GitLab's own state: the open merge
request of a source branch, a `PathOps-Key:` trailer in a commit message, a hidden
`<!-- pathops-key: ... -->` marker in a note, a hook's URL, the approvals of the current user.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import Any

from appliance.adapters.gitlab import wire
from appliance.adapters.gitlab.http import GitLabHttp, enc
from appliance.ports.scm import (
    Branch,
    Commit,
    CommitStatus,
    File,
    FileAction,
    Hook,
    MergeRequest,
    Note,
    Project,
    StatusState,
)

log = logging.getLogger(__name__)
KEY_TRAILER = "PathOps-Key"
RECENT_COMMITS = 50  # how far back a repeated commit looks for its key
CHECKING = ("checking", "unchecked", "preparing", "approvals_syncing")  # GitLab has not decided yet


def _project(project: str) -> str:
    return f"/projects/{enc(project)}"


def _mr(project: str, iid: int) -> str:
    return f"{_project(project)}/merge_requests/{iid}"


def _note_marker(key: str) -> str:
    return f"<!-- pathops-key: {key} -->"


class GitLabScm:
    def __init__(self, *, url: str, token: str, timeout: float = 10.0) -> None:
        self._http = GitLabHttp(url=url, token=token, timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    # repositories

    async def get_project(self, *, project: str) -> Project:
        return wire.project(await self._http.get(_project(project), f"project {project}", wire.Project))

    async def get_file(self, *, project: str, path: str, ref: str) -> File:
        what = f"file {project}:{path}@{ref}"
        url = f"{_project(project)}/repository/files/{enc(path)}"
        return wire.file(await self._http.get(url, what, wire.File, {"ref": ref}))

    async def list_files(self, *, project: str, ref: str, path: str = "") -> list[str]:
        params: dict[str, str | int] = {"ref": ref, "recursive": "true"}
        if path:
            params["path"] = path
        what = f"tree {project}:{path or '/'}@{ref}"
        entries = await self._http.pages(f"{_project(project)}/repository/tree", what, wire.TreeEntry, params)
        return [e.path for e in entries if e.type == "blob"]

    async def list_branches(self, *, project: str, search: str = "") -> list[Branch]:
        params: dict[str, str | int] = {"search": search} if search else {}
        url = f"{_project(project)}/repository/branches"
        return [
            wire.branch(b) for b in await self._http.pages(url, f"branches {project}", wire.Branch, params)
        ]

    async def create_branch(self, *, project: str, branch: str, ref: str) -> Branch:
        what = f"create branch {project}:{branch}"
        existing = await self._branch(project, branch)
        if existing is not None:
            return existing
        url = f"{_project(project)}/repository/branches"
        response = await self._http.request("POST", url, what, json={"branch": branch, "ref": ref}, ok=(400,))
        if response.status_code == 400:  # "Branch already exists": made between our look and our POST
            existing = await self._branch(project, branch)
            if existing is not None:
                return existing
            self._http.raise_for(response, what)
        log.info("created branch %s:%s from %s", project, branch, ref)
        return wire.branch(self._http.decode(response, wire.Branch, what))

    async def _branch(self, project: str, branch: str) -> Branch | None:
        what = f"branch {project}:{branch}"
        url = f"{_project(project)}/repository/branches/{enc(branch)}"
        response = await self._http.request("GET", url, what, ok=(404,))
        if response.status_code == 404:
            return None
        return wire.branch(self._http.decode(response, wire.Branch, what))

    async def commit(
        self,
        *,
        project: str,
        branch: str,
        message: str,
        actions: Sequence[FileAction],
        start_branch: str | None = None,
        key: str | None = None,
    ) -> Commit:
        what = f"commit {project}:{branch}"
        if key is not None:
            earlier = await self._commit_with_key(project, branch, key)
            if earlier is not None:
                return earlier
            message = f"{message.rstrip()}\n\n{KEY_TRAILER}: {key}"
        body: dict[str, Any] = {
            "branch": branch,
            "commit_message": message,
            "actions": [_action(a) for a in actions],
        }
        if start_branch is not None:
            body["start_branch"] = start_branch
        response = await self._http.request(
            "POST", f"{_project(project)}/repository/commits", what, json=body
        )
        done = wire.commit(self._http.decode(response, wire.Commit, what))
        log.info("committed %s to %s:%s (%d actions)", done.sha[:12], project, branch, len(actions))
        return done

    async def _commit_with_key(self, project: str, branch: str, key: str) -> Commit | None:
        what = f"commits {project}:{branch}"
        url = f"{_project(project)}/repository/commits"
        params: dict[str, str | int] = {"ref_name": branch, "per_page": RECENT_COMMITS}
        response = await self._http.request("GET", url, what, params=params, ok=(404,))
        if response.status_code == 404:  # no such branch yet
            return None
        trailer = f"{KEY_TRAILER}: {key}"
        for c in self._http.decode(response, list[wire.Commit], what):
            if trailer in (c.message or "").splitlines():
                return wire.commit(c)
        return None

    async def get_commit(self, *, project: str, sha: str) -> Commit:
        url = f"{_project(project)}/repository/commits/{enc(sha)}"
        return wire.commit(await self._http.get(url, f"commit {project}@{sha}", wire.Commit))

    # merge requests

    async def open_mr(
        self,
        *,
        project: str,
        source_branch: str,
        target_branch: str,
        title: str,
        description: str = "",
        labels: Sequence[str] = (),
        remove_source_branch: bool = False,
    ) -> MergeRequest:
        what = f"open merge request {project}:{source_branch}"
        existing = await self._open_from(project, source_branch)
        if existing is not None:
            return await self._with_approvals(project, existing)
        body = {
            "source_branch": source_branch,
            "target_branch": target_branch,
            "title": title,
            "description": description,
            "labels": ",".join(labels),
            "remove_source_branch": remove_source_branch,
        }
        url = f"{_project(project)}/merge_requests"
        response = await self._http.request("POST", url, what, json=body, ok=(409,))
        if response.status_code == 409:  # "Another open merge request already exists": a concurrent open
            existing = await self._open_from(project, source_branch)
            if existing is not None:
                return await self._with_approvals(project, existing)
            self._http.raise_for(response, what)
        created = self._http.decode(response, wire.MergeRequest, what)
        log.info("opened merge request %s!%d from %s", project, created.iid, source_branch)
        return await self._with_approvals(project, created)

    async def _open_from(self, project: str, source_branch: str) -> wire.MergeRequest | None:
        what = f"merge requests {project}:{source_branch}"
        params: dict[str, str | int] = {"state": "opened", "source_branch": source_branch}
        found = await self._http.pages(f"{_project(project)}/merge_requests", what, wire.MergeRequest, params)
        return min(found, key=lambda m: m.iid) if found else None

    async def _with_approvals(self, project: str, mr: wire.MergeRequest) -> MergeRequest:
        return wire.merge_request(mr, await self._approvals(project, mr.iid))

    async def _approvals(self, project: str, iid: int) -> wire.Approvals:
        return await self._http.get(
            f"{_mr(project, iid)}/approvals", f"approvals {project}!{iid}", wire.Approvals
        )

    async def get_mr(self, *, project: str, iid: int) -> MergeRequest:
        mr = await self._http.get(_mr(project, iid), f"merge request {project}!{iid}", wire.MergeRequest)
        return await self._with_approvals(project, mr)

    async def comment_mr(self, *, project: str, iid: int, body: str, key: str | None = None) -> Note:
        what = f"comment on {project}!{iid}"
        url = f"{_mr(project, iid)}/notes"
        if key is not None:
            marker = _note_marker(key)
            for note in await self._http.pages(url, what, wire.Note, {"sort": "asc"}):
                if marker in note.body:
                    return wire.note(note)
            body = f"{body}\n\n{marker}"
        response = await self._http.request("POST", url, what, json={"body": body})
        return wire.note(self._http.decode(response, wire.Note, what))

    async def approve_mr(self, *, project: str, iid: int, sha: str | None = None) -> MergeRequest:
        what = f"approve {project}!{iid}"
        approvals = await self._approvals(project, iid)
        if not approvals.user_has_approved:
            await self._http.request(
                "POST", f"{_mr(project, iid)}/approve", what, json={"sha": sha} if sha else {}
            )
            log.info("approved %s!%d", project, iid)
        return await self.get_mr(project=project, iid=iid)

    async def merge_mr(
        self,
        *,
        project: str,
        iid: int,
        sha: str,
        message: str | None = None,
        remove_source_branch: bool = False,
    ) -> MergeRequest:
        what = f"merge {project}!{iid}"
        current = await self.get_mr(project=project, iid=iid)
        if current.state == "merged":
            return self._merged_at(current, sha, what)
        body: dict[str, Any] = {"sha": sha}
        if message is not None:
            body["merge_commit_message"] = message
        if remove_source_branch:
            body["should_remove_source_branch"] = True
        response = await self._http.request(
            "PUT", f"{_mr(project, iid)}/merge", what, json=body, ok=(405, 406, 422)
        )
        if response.status_code in (405, 406, 422):
            again = await self.get_mr(project=project, iid=iid)
            if again.state == "merged":
                return self._merged_at(again, sha, what)
            if again.detailed_merge_status in CHECKING:
                raise self._http.not_ready(what, again.detailed_merge_status)
            self._http.raise_for(response, what)
        merged = self._http.decode(response, wire.MergeRequest, what)
        log.info("merged %s!%d at %s", project, iid, sha[:12])
        return await self._with_approvals(project, merged)

    def _merged_at(self, mr: MergeRequest, sha: str, what: str) -> MergeRequest:
        if mr.sha != sha:
            raise self._http.refused(what, f"already merged at {mr.sha}, not at {sha}")
        return mr

    async def close_mr(self, *, project: str, iid: int) -> MergeRequest:
        what = f"close {project}!{iid}"
        response = await self._http.request("PUT", _mr(project, iid), what, json={"state_event": "close"})
        return await self._with_approvals(project, self._http.decode(response, wire.MergeRequest, what))

    # hooks and statuses

    async def add_hook(
        self,
        *,
        project: str,
        url: str,
        token: str,
        events: Sequence[str] = ("push_events", "merge_requests_events"),
    ) -> Hook:
        unknown = sorted(set(events) - set(wire.HOOK_EVENTS))
        if unknown:
            raise ValueError(f"unknown hook events: {', '.join(unknown)}")
        what = f"hook {project} -> {url}"
        hooks_url = f"{_project(project)}/hooks"
        body: dict[str, Any] = {"url": url, "token": token} | {e: e in events for e in wire.HOOK_EVENTS}
        existing = [h for h in await self._http.pages(hooks_url, what, wire.Hook) if h.url == url]
        if existing:
            response = await self._http.request("PUT", f"{hooks_url}/{existing[0].id}", what, json=body)
        else:
            response = await self._http.request("POST", hooks_url, what, json=body)
            log.info("added hook %s -> %s", project, url)
        return wire.hook(self._http.decode(response, wire.Hook, what))

    async def set_commit_status(
        self,
        *,
        project: str,
        sha: str,
        state: StatusState,
        name: str,
        target_url: str = "",
        description: str = "",
        ref: str | None = None,
    ) -> CommitStatus:
        what = f"status {project}@{sha[:12]} {name}={state}"
        body: dict[str, Any] = {"state": state, "name": name}
        body |= {
            k: v for k, v in (("target_url", target_url), ("description", description), ("ref", ref)) if v
        }
        url = f"{_project(project)}/statuses/{enc(sha)}"
        response = await self._http.request("POST", url, what, json=body, ok=(400,))
        if response.status_code == 400:  # GitLab refuses a transition to the state it is in
            params: dict[str, str | int] = {"name": name, **({"ref": ref} if ref else {})}
            listed = f"{_project(project)}/repository/commits/{enc(sha)}/statuses"
            found = await self._http.pages(listed, what, wire.Status, params)
            latest = max(found, key=lambda s: s.id) if found else None
            if latest is not None and latest.status == state:
                return wire.status(latest)
            self._http.raise_for(response, what)
        return wire.status(self._http.decode(response, wire.Status, what))


def _action(action: FileAction) -> dict[str, str]:
    out = {"action": action.action, "file_path": action.path}
    if action.action != "delete":
        out |= {"content": base64.b64encode(action.content).decode(), "encoding": "base64"}
    return out
