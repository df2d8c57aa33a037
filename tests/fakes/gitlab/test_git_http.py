"""git clone / push over smart HTTP against the GitLab fake, seen back through python-gitlab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gitlab
import httpx

from tests.fakes.gitlab.support import Fake


def test_clone_commit_push_then_rest_sees_it(fake: Fake, gl: gitlab.Gitlab, project: Any, git: Any, tmp_path: Path) -> None:  # fmt: skip
    work = tmp_path / "shop-api"
    git("clone", fake.git_url("shop/shop-api"), str(work))
    assert (work / "README.md").exists()
    (work / "app.py").write_text("print('from git')\n")
    git("add", "app.py", cwd=work)
    git("commit", "-m", "Add app from a clone", cwd=work)
    sha = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    git("push", "origin", "main", "main:refs/heads/cs-7-fix", cwd=work)

    assert project.commits.get("main").id == sha
    assert project.commits.list(ref_name="main")[0].title == "Add app from a clone"
    assert project.branches.get("cs-7-fix").commit["id"] == sha
    assert project.files.raw("app.py", ref="main") == b"print('from git')\n"
    assert project.commits.get(sha).author_name == "Dev Eloper"

    project.files.create({"file_path": "rest.txt", "branch": "main", "content": "rest\n",
                          "commit_message": "from REST"})  # fmt: skip
    git("pull", "--ff-only", cwd=work)
    assert (work / "rest.txt").read_text() == "rest\n"

    git("push", "origin", "--delete", "cs-7-fix", cwd=work)
    assert [b.name for b in project.branches.list()] == ["main"]
    pushes = [a for a in httpx.get(f"{fake.url}/_fake/access-log").json() if "push refs/" in a["object"]]
    assert [(a["identity"], a["object"]) for a in pushes] == [
        ("ci", "repo shop/shop-api push refs/heads/cs-7-fix,refs/heads/main"),
        ("ci", "repo shop/shop-api push refs/heads/cs-7-fix"),
    ]


def test_push_to_empty_project_and_protocol_v0(
    fake: Fake, gl: gitlab.Gitlab, git: Any, tmp_path: Path
) -> None:
    empty = gl.projects.create({"name": "shop-api-gitops"})
    work = tmp_path / "gitops"
    git("-c", "protocol.version=0", "clone", fake.git_url("ci/shop-api-gitops"), str(work))
    (work / "kustomization.yaml").write_text("resources: []\n")
    git("add", ".", cwd=work)
    git("commit", "-m", "first", cwd=work)
    git("push", "origin", "HEAD:refs/heads/trunk", cwd=work)
    again = gl.projects.get(empty.id)
    assert again.default_branch == "trunk" and again.empty_repo is False
    assert again.branches.get("trunk").protected is True
    assert again.files.raw("kustomization.yaml", ref="HEAD") == b"resources: []\n"


def test_git_auth_and_scopes(fake: Fake, project: Any, git: Any, tmp_path: Path) -> None:
    info = f"{fake.url}/shop/shop-api.git/info/refs"
    anonymous = httpx.get(info, params={"service": "git-upload-pack"})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == 'Basic realm="GitLab"'
    wrong = httpx.get(info, params={"service": "git-upload-pack"}, auth=("oauth2", "glpat-wrong"))
    assert wrong.status_code == 401
    missing = httpx.get(f"{fake.url}/shop/nope.git/info/refs", params={"service": "git-upload-pack"},
                        auth=("oauth2", "glpat-ci"))  # fmt: skip
    assert missing.status_code == 404
    ok = httpx.get(info, params={"service": "git-upload-pack"}, auth=("anything", "glpat-ci"))
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/x-git-upload-pack-advertisement"

    failed = git("ls-remote", fake.git_url("shop/shop-api", "glpat-wrong"), check=False)
    assert failed.returncode != 0 and "Authentication failed" in failed.stderr

    work = tmp_path / "viewer"
    git("clone", fake.git_url("shop/shop-api", "glpat-viewer"), str(work))
    (work / "x.txt").write_text("x\n")
    git("add", ".", cwd=work)
    git("commit", "-m", "viewer change", cwd=work)
    denied = git("push", "origin", "HEAD:refs/heads/viewer", cwd=work, check=False)
    assert denied.returncode != 0 and "You are not allowed to push code to this project." in denied.stderr
    assert "viewer" not in [b.name for b in project.branches.list()]
