"""Tokens and scopes, the access log, injected faults, restarts, and bad input answered like GitLab."""

from __future__ import annotations

from typing import Any

import gitlab
import httpx
import pytest

from tests.fakes.gitlab.support import Fake, start


def test_wrong_or_missing_token_is_401_like_gitlab(fake: Fake, project: Any) -> None:
    for headers in ({}, {"PRIVATE-TOKEN": "glpat-wrong"}, {"Authorization": "Bearer glpat-wrong"}):
        response = httpx.get(f"{fake.url}/api/v4/projects/{project.id}", headers=headers)
        assert response.status_code == 401 and response.json() == {"message": "401 Unauthorized"}
    bearer = httpx.get(f"{fake.url}/api/v4/user", headers={"Authorization": "Bearer glpat-owner"})
    assert bearer.status_code == 200 and bearer.json()["username"] == "owner"
    with pytest.raises(gitlab.GitlabAuthenticationError) as caught:
        fake.client("glpat-wrong").auth()
    assert caught.value.response_code == 401


def test_read_only_token_gets_403_on_writes(fake: Fake, project: Any) -> None:
    viewer = fake.client("glpat-viewer")
    seen = viewer.projects.get("shop/shop-api")
    assert seen.files.raw("README.md", ref="main").startswith(b"# shop-api")
    assert seen.branches.get("main").can_push is False
    with pytest.raises(gitlab.GitlabCreateError) as denied:
        seen.branches.create({"branch": "sneaky", "ref": "main"})
    assert denied.value.response_code == 403
    response = httpx.post(f"{fake.url}/api/v4/projects/{project.id}/repository/branches",
                          json={"branch": "sneaky", "ref": "main"}, headers={"PRIVATE-TOKEN": "glpat-viewer"})  # fmt: skip
    assert response.status_code == 403 and response.json() == {"message": "403 Forbidden"}
    assert "sneaky" not in [b.name for b in project.branches.list()]
    log = httpx.get(f"{fake.url}/_fake/access-log").json()
    last = log[-2]  # the last one is the branch listing above
    assert (last["identity"], last["method"], last["outcome"]) == ("viewer", "POST", 403)


def test_access_log_names_identity_and_object(fake: Fake, project: Any) -> None:
    project.branches.create({"branch": "feature", "ref": "main"})
    project.files.create({"file_path": "a.txt", "branch": "feature", "content": "a", "commit_message": "a"})
    mr = project.mergerequests.create({"source_branch": "feature", "target_branch": "main", "title": "A"})
    fake.client("glpat-owner").projects.get(project.id, lazy=True).mergerequests.get(mr.iid).approve()
    log = httpx.get(f"{fake.url}/_fake/access-log").json()
    triples = [(a["identity"], a["method"], a["object"], a["outcome"]) for a in log]
    assert ("ci", "POST", "group shop", 201) in triples
    assert ("ci", "POST", "project shop/shop-api", 201) in triples
    assert ("ci", "POST", "branch shop/shop-api:feature", 201) in triples
    assert ("ci", "POST", "file shop/shop-api:a.txt", 201) in triples
    assert ("ci", "POST", "merge_request shop/shop-api!1", 201) in triples
    assert ("owner", "POST", "merge_request shop/shop-api!1", 201) in triples
    assert all(a["path"].startswith("/api/v4/") for a in log)


def test_injected_fault_reaches_python_gitlab(fake: Fake, gl: gitlab.Gitlab, project: Any) -> None:
    added = httpx.post(f"{fake.url}/_fake/faults",
                       json={"kind": "error", "path": "/api/v4/projects/*", "status": 503, "count": 1})  # fmt: skip
    assert added.status_code == 201
    with pytest.raises(gitlab.GitlabGetError) as caught:
        gl.projects.get(project.id)
    assert caught.value.response_code == 503
    assert gl.projects.get(project.id).path == "shop-api"


def test_state_survives_a_restart(fake: Fake, project: Any, receiver: Any) -> None:
    project.hooks.create({"url": receiver.url, "token": "kept", "push_events": False,
                          "merge_requests_events": True})  # fmt: skip
    project.commits.create({"branch": "feature", "start_branch": "main", "commit_message": "f",
                            "actions": [{"action": "create", "file_path": "f.txt", "content": "f\n"}]})  # fmt: skip
    mr = project.mergerequests.create({"source_branch": "feature", "target_branch": "main", "title": "F"})
    mr.notes.create({"body": "before restart"})
    receiver.wait(1)
    fake.server.stop()

    again = start(fake.data_dir)
    try:
        gl = gitlab.Gitlab(again.url, private_token="glpat-ci")
        restored = gl.projects.get("shop/shop-api")
        assert restored.id == project.id and restored.default_branch == "main"
        assert restored.files.raw("f.txt", ref="feature") == b"f\n"
        got = restored.mergerequests.get(mr.iid)
        assert (
            got.title == "F"
            and got.state == "opened"
            and [n.body for n in got.notes.list()] == ["before restart"]
        )
        assert [h.url for h in restored.hooks.list()] == [receiver.url]
        assert gl.groups.get("shop").full_path == "shop"
        other = gl.projects.create({"name": "second"})
        assert other.id == project.id + 1
        got.merge()
        assert receiver.wait(2)[1].body["object_attributes"]["action"] == "merge"
        assert receiver.got[1].headers["x-gitlab-token"] == "kept"
    finally:
        again.stop()


def test_bad_input_never_500(fake: Fake, project: Any) -> None:
    api, headers = f"{fake.url}/api/v4", {"PRIVATE-TOKEN": "glpat-ci"}
    base = f"{api}/projects/{project.id}"
    cases: list[tuple[str, str, Any]] = [
        ("GET", f"{api}/projects/999", None), ("GET", f"{api}/projects/shop%2Fnope%2Fdeeper", None),
        ("GET", f"{api}/nothing/here", None), ("PATCH", f"{base}", None),
        ("POST", f"{base}/repository/commits", "not json"), ("POST", f"{base}/repository/commits", [1, 2]),
        ("POST", f"{base}/repository/commits", {"branch": "x", "commit_message": "m", "actions": "nope"}),
        ("POST", f"{base}/repository/commits", {"branch": "x", "commit_message": "m", "actions": [{"action": "create"}]}),
        ("POST", f"{base}/repository/commits", {"branch": "-x", "commit_message": "m", "start_branch": "main",
                                                "actions": [{"action": "create", "file_path": "a", "content": "a"}]}),
        ("POST", f"{base}/repository/commits", {"branch": "main", "commit_message": "m", "actions": [
            {"action": "create", "file_path": "a", "content": "%%%", "encoding": "base64"}]}),
        ("POST", f"{base}/repository/commits", {"branch": "main", "commit_message": "m", "actions": [
            {"action": "create", "file_path": "README.md/inner", "content": "a"}]}),
        ("GET", f"{base}/repository/files/README.md?ref=--output=/tmp/x", None),
        ("GET", f"{base}/repository/files/..%2F..%2Fetc%2Fpasswd?ref=main", None),
        ("GET", f"{base}/repository/tree?ref=main&path=README.md", None),
        ("GET", f"{base}/repository/tree?ref=nope", None),
        ("GET", f"{base}/repository/compare?from=main&to=nope", None),
        ("GET", f"{base}/repository/commits?ref_name=main&page=x", None),
        ("GET", f"{base}/repository/blobs/zzz", None), ("GET", f"{base}/repository/commits/-p", None),
        ("POST", f"{base}/repository/branches", {"branch": "ok", "ref": "--all"}),
        ("POST", f"{base}/merge_requests", {"source_branch": ["a"], "target_branch": "main", "title": "t"}),
        ("PUT", f"{base}/merge_requests/abc", {"title": "t"}), ("PUT", f"{base}/merge_requests/1/merge", {}),
        ("POST", f"{base}/hooks", {"url": "ftp://example.com"}), ("POST", f"{base}/hooks", {}),
        ("POST", f"{base}/statuses/main", {"state": "success", "coverage": "lots"}),
        ("POST", f"{api}/groups", {"name": "x", "path": "bad path"}), ("POST", f"{api}/projects", {}),
        ("POST", f"{api}/projects", {"name": "x", "namespace_id": 999}),
        ("GET", f"{base}/pipelines/xyz", None), ("POST", f"{base}/pipeline", {"ref": "main"}),
    ]  # fmt: skip
    with httpx.Client(headers={**headers, "content-type": "application/json"}) as client:
        for method, url, body in cases:
            kwargs: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
            response = client.request(method, url, **kwargs)
            assert 400 <= response.status_code < 500, (method, url, response.status_code, response.text)
            assert isinstance(response.json(), dict), (method, url)
