"""Project hooks: the GitLab fake POSTs Push, Merge Request and Note hooks in GitLab's shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.fakes.gitlab.support import Fake, Receiver, fixture

ZERO = "0" * 40


def _keys(payload: dict[str, Any], golden: dict[str, Any]) -> set[str]:
    """Keys of the golden payload missing from ours (recursively through the nested objects)."""
    missing = {k for k in golden if k not in payload}
    for key, value in golden.items():
        if isinstance(value, dict) and isinstance(payload.get(key), dict) and key != "changes":
            missing |= {f"{key}.{k}" for k in _keys(payload[key], value)}
    return missing


def test_push_and_merge_request_hooks(fake: Fake, project: Any, receiver: Receiver, git: Any, tmp_path: Path) -> None:  # fmt: skip
    hook = project.hooks.create({"url": receiver.url, "token": "gl-secret", "push_events": True,
                                 "merge_requests_events": True, "note_events": True})  # fmt: skip
    assert hook.merge_requests_events is True and "token" not in hook.attributes

    commit = project.commits.create({"branch": "cs-1-fix", "start_branch": "main", "commit_message": "fix it",
                                     "actions": [{"action": "create", "file_path": "fix.txt", "content": "1\n"}]})  # fmt: skip
    push = receiver.wait(1)[0]
    assert push.headers["x-gitlab-event"] == "Push Hook" and push.headers["x-gitlab-token"] == "gl-secret"
    assert push.headers["content-type"] == "application/json"
    golden_push = fixture("push.json")
    assert _keys(push.body, golden_push) == set()
    assert set(golden_push["commits"][0]) <= set(push.body["commits"][0])
    assert push.body["ref"] == "refs/heads/cs-1-fix" and push.body["after"] == commit.id
    assert push.body["before"] == ZERO and push.body["user_username"] == "ci"
    assert [c["id"] for c in push.body["commits"]] == [commit.id] and push.body["commits"][0]["added"] == [
        "fix.txt"
    ]
    assert push.body["project"]["path_with_namespace"] == "shop/shop-api"

    mr = project.mergerequests.create({"source_branch": "cs-1-fix", "target_branch": "main", "title": "Fix"})
    opened = receiver.wait(2)[1]
    assert opened.headers["x-gitlab-event"] == "Merge Request Hook"
    golden_mr = fixture("merge_request.json")
    assert _keys(opened.body, golden_mr) == set()
    assert set(golden_mr["object_attributes"]["last_commit"]) <= set(
        opened.body["object_attributes"]["last_commit"]
    )
    attrs = opened.body["object_attributes"]
    assert (attrs["action"], attrs["state"], attrs["iid"], attrs["source_branch"]) == (
        "open",
        "opened",
        1,
        "cs-1-fix",
    )
    assert attrs["last_commit"]["id"] == commit.id and attrs["url"].endswith(
        "/shop/shop-api/-/merge_requests/1"
    )

    mr.notes.create({"body": "looks right"})
    note = receiver.wait(3)[2]
    assert note.headers["x-gitlab-event"] == "Note Hook"
    assert note.body["object_attributes"]["note"] == "looks right" and note.body["merge_request"]["iid"] == 1

    work = tmp_path / "clone"
    git("clone", "--branch", "cs-1-fix", fake.git_url("shop/shop-api"), str(work))
    (work / "fix.txt").write_text("2\n")
    git("commit", "-am", "second try", cwd=work)
    git("push", "origin", "cs-1-fix", cwd=work)
    pushed, updated = receiver.wait(5)[3:5]
    assert pushed.headers["x-gitlab-event"] == "Push Hook" and pushed.body["before"] == commit.id
    assert [c["title"] for c in pushed.body["commits"]] == ["second try"]
    assert updated.body["object_attributes"]["action"] == "update"
    assert updated.body["object_attributes"]["oldrev"] == commit.id

    owner = fake.client("glpat-owner").projects.get(project.id).mergerequests.get(1)
    owner.approve()
    owner.merge()
    approved, merge_push, merged = receiver.wait(8)[5:8]
    assert (
        approved.body["object_attributes"]["action"] == "approved"
        and approved.body["user"]["username"] == "owner"
    )
    assert merge_push.body["ref"] == "refs/heads/main" and merge_push.body["ref_protected"] is True
    assert merged.body["object_attributes"]["action"] == "merge"
    assert merged.body["object_attributes"]["state"] == "merged"
    assert merged.body["changes"]["state_id"] == {"previous": 1, "current": 3}

    project.branches.create({"branch": "other", "ref": "main"})
    project.commits.create({"branch": "other", "commit_message": "o", "actions": [{"action": "create", "file_path": "o", "content": ""}]})  # fmt: skip
    second = project.mergerequests.create(
        {"source_branch": "other", "target_branch": "main", "title": "Other"}
    )
    second.state_event = "close"
    second.save()
    closed = receiver.wait(12)[11]
    assert closed.body["object_attributes"]["action"] == "close"
    assert closed.body["object_attributes"]["state"] == "closed"
    actions = [r.body["object_attributes"]["action"] for r in receiver.events("Merge Request Hook")]
    assert actions == ["open", "update", "approved", "merge", "open", "close"]


def test_hook_crud_branch_filter_and_outgoing_faults(fake: Fake, project: Any, receiver: Receiver) -> None:
    everything = project.hooks.create({"url": receiver.url, "token": "s1"})
    only_main = project.hooks.create(
        {"url": receiver.url, "token": "s2", "push_events_branch_filter": "main"}
    )
    assert everything.push_events is True and everything.merge_requests_events is False
    assert [h.id for h in project.hooks.list()] == [everything.id, only_main.id]
    only_main.name = "main only"
    only_main.save()
    assert project.hooks.get(only_main.id).name == "main only"

    project.branches.create({"branch": "feature", "ref": "main"})
    project.files.create({"file_path": "m.txt", "branch": "main", "content": "m", "commit_message": "m"})
    got = receiver.wait(3)
    assert sorted((r.headers["x-gitlab-token"], r.body["ref"]) for r in got) == [
        ("s1", "refs/heads/feature"), ("s1", "refs/heads/main"), ("s2", "refs/heads/main"),
    ]  # fmt: skip
    created = next(r for r in got if r.body["ref"] == "refs/heads/feature")
    assert created.body["before"] == ZERO and created.body["commits"] == []

    project.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "no MR hooks"}
    )
    project.hooks.delete(only_main.id)
    assert [h.id for h in project.hooks.list()] == [everything.id]

    fault = httpx.post(
        f"{fake.url}/_fake/faults", json={"kind": "drop", "path": "*/webhooks/gitlab", "count": 1}
    )
    assert fault.status_code == 201
    project.files.create(
        {"file_path": "dropped.txt", "branch": "main", "content": "d", "commit_message": "dropped"}
    )
    project.files.create(
        {"file_path": "kept.txt", "branch": "main", "content": "k", "commit_message": "kept"}
    )
    got = receiver.wait(4)
    assert got[3].body["commits"][0]["title"] == "kept"
    assert all(r.headers["x-gitlab-event"] == "Push Hook" for r in got)
