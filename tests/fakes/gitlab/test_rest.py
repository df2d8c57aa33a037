"""python-gitlab against the GitLab fake: groups, projects, branches, commits, files, tree, compare."""

from __future__ import annotations

import base64
from typing import Any

import gitlab
import httpx
import pytest

from tests.fakes.gitlab.support import Fake, fixture


def test_user_groups_projects_and_namespaces(fake: Fake, gl: gitlab.Gitlab) -> None:
    gl.auth()
    assert gl.user is not None and gl.user.username == "ci"
    group = gl.groups.create({"name": "Shop", "path": "shop", "description": "the shop"})
    project = gl.projects.create(
        {"name": "shop-api", "namespace_id": group.id, "initialize_with_readme": True}
    )
    assert project.path_with_namespace == "shop/shop-api"
    assert project.http_url_to_repo == f"{fake.url}/shop/shop-api.git"
    assert project.default_branch == "main" and project.empty_repo is False
    by_path = gl.projects.get("shop/shop-api")
    assert by_path.id == project.id and by_path.namespace["full_path"] == "shop"
    assert gl.projects.get(project.id).name == "shop-api"
    assert [p.path for p in gl.projects.list(search="shop", get_all=True)] == ["shop-api"]
    assert [p.id for p in gl.groups.get("shop").projects.list()] == [project.id]
    assert gl.namespaces.get("shop").kind == "group"
    assert gl.namespaces.get("ci").kind == "user"
    sub = gl.groups.create({"name": "team", "path": "team", "parent_id": group.id})
    assert sub.full_path == "shop/team"
    empty = gl.projects.create({"name": "empty", "namespace_id": sub.id})
    assert empty.empty_repo is True and gl.projects.get("shop/team/empty").id == empty.id
    mine = gl.projects.create({"name": "scratch"})
    assert mine.path_with_namespace == "ci/scratch"

    with pytest.raises(gitlab.GitlabCreateError) as taken:
        gl.projects.create({"name": "shop-api", "namespace_id": group.id})
    assert taken.value.response_code == 400
    with pytest.raises(gitlab.GitlabCreateError) as group_taken:
        gl.groups.create({"name": "Shop", "path": "shop"})
    assert group_taken.value.response_code == 400
    with pytest.raises(gitlab.GitlabGetError) as missing:
        gl.projects.get("shop/nope")
    assert missing.value.response_code == 404
    raw = httpx.get(f"{fake.url}/api/v4/projects/shop%2Fnope", headers={"PRIVATE-TOKEN": "glpat-ci"})
    assert raw.json() == {"message": "404 Project Not Found"}

    project.description = "REST API"
    project.save()
    assert gl.projects.get(project.id).description == "REST API"
    empty.delete()
    with pytest.raises(gitlab.GitlabGetError):
        gl.projects.get(empty.id)


def test_branches(fake: Fake, project: Any) -> None:
    main = project.branches.get("main")
    assert main.protected is True and main.default is True
    assert set(fixture("get_branch.json")) <= set(main.attributes)
    assert set(fixture("get_branch.json")["commit"]) <= set(main.commit)
    created = project.branches.create({"branch": "feature/login", "ref": "main"})
    assert created.name == "feature/login" and created.commit["id"] == main.commit["id"]
    assert created.protected is False and created.merged is True
    assert project.branches.get("feature/login").name == "feature/login"
    assert sorted(b.name for b in project.branches.list()) == ["feature/login", "main"]
    assert [b.name for b in project.branches.list(search="^feat")] == ["feature/login"]

    with pytest.raises(gitlab.GitlabCreateError) as exists:
        project.branches.create({"branch": "feature/login", "ref": "main"})
    assert exists.value.response_code == 400 and exists.value.error_message == "Branch already exists"
    with pytest.raises(gitlab.GitlabCreateError) as bad_ref:
        project.branches.create({"branch": "x", "ref": "no-such-ref"})
    assert bad_ref.value.response_code == 400
    with pytest.raises(gitlab.GitlabCreateError) as bad_name:
        project.branches.create({"branch": "bad..name", "ref": "main"})
    assert bad_name.value.response_code == 400
    with pytest.raises(gitlab.GitlabDeleteError) as default:
        project.branches.delete("main")
    assert default.value.response_code == 405

    project.branches.delete("feature/login")
    with pytest.raises(gitlab.GitlabGetError) as gone:
        project.branches.get("feature/login")
    assert gone.value.response_code == 404 and gone.value.error_message == "404 Branch Not Found"

    project.protectedbranches.create({"name": "release"})
    assert "release" in [p.name for p in project.protectedbranches.list()]
    project.protectedbranches.delete("release")


def test_commits_with_actions(project: Any) -> None:
    data = {
        "branch": "feature",
        "start_branch": "main",
        "commit_message": "add app\n\nwith a body",
        "author_name": "Ada",
        "author_email": "ada@example.com",
        "actions": [
            {"action": "create", "file_path": "app/main.py", "content": "print('hi')\n"},
            {"action": "create", "file_path": "bin/run", "content": base64.b64encode(b"#!/bin/sh\n").decode(),
             "encoding": "base64", "execute_filemode": True},
            {"action": "update", "file_path": "README.md", "content": "# shop-api\n"},
        ],
    }  # fmt: skip
    commit = project.commits.create(data)
    assert commit.title == "add app" and commit.author_name == "Ada" and commit.committer_name == "ci"
    assert commit.stats == {"additions": 2, "deletions": 2, "total": 4}
    assert project.files.raw("bin/run", ref="feature") == b"#!/bin/sh\n"
    assert project.files.get("bin/run", ref="feature").execute_filemode is True

    second = project.commits.create({
        "branch": "feature", "commit_message": "reshape",
        "actions": [
            {"action": "move", "file_path": "src/main.py", "previous_path": "app/main.py"},
            {"action": "delete", "file_path": "bin/run"},
            {"action": "chmod", "file_path": "README.md", "execute_filemode": True},
        ],
    })  # fmt: skip
    assert second.parent_ids == [commit.id]
    paths = {t["path"] for t in project.repository_tree(ref="feature", recursive=True, get_all=True)}
    assert paths == {"README.md", "src", "src/main.py"}
    assert project.files.raw("src/main.py", ref="feature") == b"print('hi')\n"
    diff = project.commits.get(second.id).diff(get_all=True)
    assert {d["new_path"] for d in diff} == {"src/main.py", "bin/run", "README.md"}
    assert any(d["renamed_file"] for d in diff) and any(d["deleted_file"] for d in diff)
    got = project.commits.get("feature")
    assert got.id == second.id and got.parent_ids == [commit.id] and got.project_id == project.id
    assert [c.id for c in project.commits.list(ref_name="feature", get_all=True)][:2] == [
        second.id,
        commit.id,
    ]
    by_path = project.commits.list(query_parameters={"ref_name": "feature", "path": "bin/run"}, get_all=True)
    assert [c.id for c in by_path] == [second.id, commit.id]

    def create_fails(actions: list[dict[str, Any]], **extra: Any) -> gitlab.GitlabCreateError:
        with pytest.raises(gitlab.GitlabCreateError) as caught:
            project.commits.create({"branch": "feature", "commit_message": "x", "actions": actions, **extra})
        return caught.value

    exists = create_fails([{"action": "create", "file_path": "README.md", "content": "x"}])
    assert exists.response_code == 400 and "already exists" in exists.error_message
    missing = create_fails([{"action": "update", "file_path": "nope.txt", "content": "x"}])
    assert missing.response_code == 400 and "doesn't exist" in missing.error_message
    traversal = create_fails([{"action": "create", "file_path": "../etc/passwd", "content": "x"}])
    assert traversal.response_code == 400
    assert create_fails([{"action": "explode", "file_path": "a"}]).response_code == 400
    assert create_fails([]).response_code == 400
    assert create_fails([{"action": "create", "file_path": "a", "content": "x"}], start_branch="main").response_code == 400  # fmt: skip
    with pytest.raises(gitlab.GitlabGetError) as unknown:
        project.commits.get("0" * 40)
    assert unknown.value.response_code == 404


def test_files(fake: Fake, project: Any) -> None:
    project.files.create({"file_path": "deploy/values.yaml", "branch": "main", "content": "replicas: 1\n",
                          "commit_message": "values"})  # fmt: skip
    f = project.files.get(file_path="deploy/values.yaml", ref="main")
    assert f.decode() == b"replicas: 1\n" and f.file_name == "values.yaml" and f.encoding == "base64"
    assert f.size == 12 and len(f.content_sha256) == 64 and f.last_commit_id == f.commit_id
    f.content = "replicas: 2\n"
    f.save(branch="main", commit_message="scale")
    assert project.files.raw("deploy/values.yaml", ref="main") == b"replicas: 2\n"
    project.files.update("deploy/values.yaml", {"branch": "main", "commit_message": "b64",
                                                 "content": base64.b64encode(b"replicas: 3\n").decode(),
                                                 "encoding": "base64"})  # fmt: skip
    assert project.files.get("deploy/values.yaml", ref="HEAD").decode() == b"replicas: 3\n"
    head = project.files.head("deploy/values.yaml", ref="main")
    assert head["X-Gitlab-File-Name"] == "values.yaml" and head["X-Gitlab-Size"] == "12"

    with pytest.raises(gitlab.GitlabUpdateError) as same:
        project.files.update("deploy/values.yaml", {"branch": "main", "commit_message": "noop",
                                                     "content": "replicas: 3\n"})  # fmt: skip
    assert same.value.response_code == 400
    with pytest.raises(gitlab.GitlabCreateError) as twice:
        project.files.create({"file_path": "deploy/values.yaml", "branch": "main", "content": "x",
                              "commit_message": "again"})  # fmt: skip
    assert twice.value.response_code == 400
    with pytest.raises(gitlab.GitlabCreateError) as no_branch:
        project.files.create({"file_path": "x.txt", "branch": "nope", "content": "x", "commit_message": "m"})
    assert no_branch.value.response_code == 400

    project.files.delete(file_path="deploy/values.yaml", branch="main", commit_message="drop")
    with pytest.raises(gitlab.GitlabGetError) as gone:
        project.files.get("deploy/values.yaml", ref="main")
    assert gone.value.response_code == 404 and gone.value.error_message == "404 File Not Found"
    old = project.commits.list(ref_name="main", get_all=True)[1].id
    assert project.files.raw("deploy/values.yaml", ref=old) == b"replicas: 3\n"
    response = httpx.get(f"{fake.url}/api/v4/projects/{project.id}/repository/files/README.md",
                         headers={"PRIVATE-TOKEN": "glpat-ci"})  # fmt: skip
    assert response.status_code == 400 and response.json() == {"error": "ref is missing"}


def test_compare_blobs_and_pagination(fake: Fake, project: Any) -> None:
    project.branches.create({"branch": "topic", "ref": "main"})
    for i in range(3):
        project.files.create({"file_path": f"f{i}.txt", "branch": "topic", "content": f"{i}\n",
                              "commit_message": f"file {i}"})  # fmt: skip
    compared = project.repository_compare("main", "topic")
    assert [c["title"] for c in compared["commits"]] == ["file 0", "file 1", "file 2"]
    assert compared["commit"]["title"] == "file 2"
    assert sorted(d["new_path"] for d in compared["diffs"]) == ["f0.txt", "f1.txt", "f2.txt"]
    assert all(d["new_file"] and d["diff"].startswith("@@") for d in compared["diffs"])
    entry = next(t for t in project.repository_tree(ref="topic") if t["name"] == "f1.txt")
    assert project.repository_raw_blob(entry["id"]) == b"1\n"
    assert base64.b64decode(project.repository_blob(entry["id"])["content"]) == b"1\n"

    page = project.commits.list(ref_name="topic", per_page=2, page=1)
    assert len(page) == 2
    everything = project.commits.list(ref_name="topic", per_page=2, get_all=True)
    assert len(everything) == 4
    response = httpx.get(f"{fake.url}/api/v4/projects/{project.id}/repository/commits",
                         params={"ref_name": "topic", "per_page": 3}, headers={"PRIVATE-TOKEN": "glpat-ci"})  # fmt: skip
    assert response.headers["x-total"] == "4" and response.headers["x-total-pages"] == "2"
    assert response.headers["x-next-page"] == "2" and 'rel="next"' in response.headers["link"]
