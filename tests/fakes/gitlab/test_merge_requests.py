"""python-gitlab merge request flows: open, comment, approve, merge for real, close; CI statuses."""

from __future__ import annotations

from typing import Any

import gitlab
import pytest

from tests.fakes.gitlab.support import Fake, fixture


def _branch_with_change(project: Any, branch: str, path: str, content: str) -> str:
    commit = project.commits.create({
        "branch": branch, "start_branch": "main", "commit_message": f"change {path}",
        "actions": [{"action": "create", "file_path": path, "content": content}],
    })  # fmt: skip
    return str(commit.id)


def test_open_comment_approve_merge(fake: Fake, project: Any) -> None:
    head = _branch_with_change(project, "cs-1-fix-timeout", "app/config.py", "TIMEOUT = 30\n")
    mr = project.mergerequests.create({
        "source_branch": "cs-1-fix-timeout", "target_branch": "main", "title": "Fix timeout",
        "description": "from the fix agent", "labels": "pathops,fix", "remove_source_branch": True,
    })  # fmt: skip
    assert mr.iid == 1 and mr.state == "opened" and mr.sha == head
    assert mr.detailed_merge_status == "mergeable" and mr.has_conflicts is False
    assert mr.labels == ["pathops", "fix"] and mr.author["username"] == "ci"
    assert set(fixture("get_merge_request.json")) <= set(mr.attributes)
    assert mr.diff_refs["head_sha"] == head and mr.diff_refs["base_sha"] == mr.diff_refs["start_sha"]

    assert [c["new_path"] for c in mr.changes()["changes"]] == ["app/config.py"]
    assert [c.id for c in mr.commits()] == [head]
    versions = mr.diffs.list()
    assert versions[0].head_commit_sha == head
    assert mr.diffs.get(versions[0].id).diffs[0]["new_path"] == "app/config.py"

    note = mr.notes.create({"body": "Evidence: snapshot s-1"})
    assert note.body == "Evidence: snapshot s-1" and note.author["username"] == "ci"
    assert [n.body for n in mr.notes.list()] == ["Evidence: snapshot s-1"]

    owner = fake.client("glpat-owner").projects.get("shop/shop-api").mergerequests.get(1)
    approval = owner.approve()
    assert approval["approved"] is True and approval["approved_by"][0]["user"]["username"] == "owner"
    with pytest.raises(gitlab.GitlabAuthenticationError) as twice:  # GitLab answers 401 to a second approval
        owner.approve()
    assert twice.value.response_code == 401
    assert project.mergerequests.get(1).approvals.get().approved is True
    owner.unapprove()
    assert project.mergerequests.get(1).approvals.get().approved is False
    owner.approve()

    with pytest.raises(gitlab.GitlabMRClosedError) as stale:
        owner.merge(sha="0" * 40)
    assert stale.value.response_code == 409
    owner.merge()
    assert owner.state == "merged" and owner.merged_by["username"] == "owner"
    merge_commit = project.commits.get(owner.merge_commit_sha)
    assert merge_commit.parent_ids[1] == head
    assert merge_commit.title == "Merge branch 'cs-1-fix-timeout' into 'main'"
    assert project.files.raw("app/config.py", ref="main") == b"TIMEOUT = 30\n"
    assert "cs-1-fix-timeout" not in [b.name for b in project.branches.list()]
    merged = project.mergerequests.get(1)
    assert merged.state == "merged" and merged.sha == head and merged.detailed_merge_status == "not_open"
    assert [c["new_path"] for c in merged.changes()["changes"]] == ["app/config.py"]
    with pytest.raises(gitlab.GitlabMRClosedError) as again:
        merged.merge()
    assert again.value.response_code == 405


def test_close_reopen_update_and_list_by_state(project: Any) -> None:
    _branch_with_change(project, "a", "a.txt", "a\n")
    _branch_with_change(project, "b", "b.txt", "b\n")
    _branch_with_change(project, "c", "c.txt", "c\n")
    first = project.mergerequests.create({"source_branch": "a", "target_branch": "main", "title": "A"})
    second = project.mergerequests.create({"source_branch": "b", "target_branch": "main", "title": "B"})
    third = project.mergerequests.create({"source_branch": "c", "target_branch": "main", "title": "Draft: C"})
    assert third.draft is True and third.detailed_merge_status == "draft_status"
    with pytest.raises(gitlab.GitlabMRClosedError) as draft:
        third.merge()
    assert draft.value.response_code == 405

    second.state_event = "close"
    second.save()
    assert second.state == "closed" and second.closed_by["username"] == "ci"
    main_before = project.branches.get("main").commit["id"]
    first.merge(squash=True)
    squash = project.commits.get(first.squash_commit_sha)
    assert squash.parent_ids == [main_before] and squash.title == "A"
    assert project.commits.get("main").parent_ids == [main_before, squash.id]
    third.title = "C"
    third.save()
    assert project.mergerequests.get(third.iid).title == "C" and third.draft is False

    def iids(**filters: Any) -> list[int]:
        return sorted(m.iid for m in project.mergerequests.list(get_all=True, **filters))

    assert iids(state="opened") == [third.iid]
    assert iids(state="closed") == [second.iid]
    assert iids(state="merged") == [first.iid]
    assert iids(state="all") == [1, 2, 3]
    assert iids(source_branch="b") == [second.iid]
    assert iids(state="opened", source_branch="b") == []
    second.state_event = "reopen"
    second.save()
    assert iids(state="opened") == [second.iid, third.iid]

    with pytest.raises(gitlab.GitlabCreateError) as duplicate:
        project.mergerequests.create({"source_branch": "b", "target_branch": "main", "title": "B again"})
    assert duplicate.value.response_code == 409
    with pytest.raises(gitlab.GitlabCreateError) as same:
        project.mergerequests.create({"source_branch": "main", "target_branch": "main", "title": "self"})
    assert same.value.response_code == 422
    with pytest.raises(gitlab.GitlabCreateError) as missing:
        project.mergerequests.create({"source_branch": "nope", "target_branch": "main", "title": "x"})
    assert missing.value.response_code == 422
    with pytest.raises(gitlab.GitlabGetError) as unknown:
        project.mergerequests.get(99)
    assert unknown.value.response_code == 404
    with pytest.raises(gitlab.GitlabListError) as bad_state:
        project.mergerequests.list(state="sideways")
    assert bad_state.value.response_code == 400


def test_conflicting_merge_is_refused(project: Any) -> None:
    _branch_with_change(project, "left", "same.txt", "left\n")
    _branch_with_change(project, "right", "same.txt", "right\n")
    left = project.mergerequests.create({"source_branch": "left", "target_branch": "main", "title": "L"})
    right = project.mergerequests.create({"source_branch": "right", "target_branch": "main", "title": "R"})
    left.merge()
    right = project.mergerequests.get(right.iid)
    assert right.has_conflicts is True and right.detailed_merge_status == "conflict"
    with pytest.raises(gitlab.GitlabMRClosedError) as refused:
        right.merge()
    assert refused.value.response_code == 422
    assert project.files.raw("same.txt", ref="main") == b"left\n"


def test_commit_statuses_and_pipelines(project: Any) -> None:
    head = _branch_with_change(project, "feature", "f.txt", "f\n")
    project.only_allow_merge_if_pipeline_succeeds = True
    project.save()
    mr = project.mergerequests.create({"source_branch": "feature", "target_branch": "main", "title": "F"})
    assert mr.detailed_merge_status == "ci_must_pass"

    commit = project.commits.get(head)
    running = commit.statuses.create({"state": "running", "name": "jenkins/build", "ref": "feature",
                                      "target_url": "http://jenkins/job/1"})  # fmt: skip
    assert running.status == "running" and running.pipeline_id
    pipelines = project.pipelines.list(ref="feature")
    assert [(p.sha, p.status, p.source) for p in pipelines] == [(head, "running", "external")]
    assert [p.id for p in mr.pipelines.list()] == [pipelines[0].id]
    mr = project.mergerequests.get(mr.iid)
    assert mr.head_pipeline["status"] == "running" and mr.detailed_merge_status == "ci_still_running"
    with pytest.raises(gitlab.GitlabMRClosedError) as waiting:
        mr.merge()
    assert waiting.value.response_code == 405

    commit.statuses.create({"state": "failed", "name": "jenkins/test", "ref": "feature"})
    commit.statuses.create({"state": "success", "name": "jenkins/build", "ref": "feature"})
    assert project.pipelines.get(pipelines[0].id).status == "failed"
    commit.statuses.create({"state": "success", "name": "jenkins/test", "ref": "feature"})
    pipeline = project.pipelines.get(pipelines[0].id)
    assert pipeline.status == "success" and pipeline.finished_at is not None
    assert sorted((s.name, s.status) for s in commit.statuses.list()) == [
        ("jenkins/build", "success"), ("jenkins/test", "success"),
    ]  # fmt: skip
    assert project.commits.get(head).last_pipeline["status"] == "success"
    mr = project.mergerequests.get(mr.iid)
    assert mr.detailed_merge_status == "mergeable"
    mr.merge()
    assert project.mergerequests.get(mr.iid).state == "merged"

    with pytest.raises(gitlab.GitlabCreateError) as bad:
        commit.statuses.create({"state": "exploded", "name": "x"})
    assert bad.value.response_code == 400
    with pytest.raises(gitlab.GitlabHttpError) as unknown:
        project.manager.gitlab.http_post(
            f"/projects/{project.id}/statuses/{'1' * 40}", post_data={"state": "success"}
        )
    assert unknown.value.response_code == 404
