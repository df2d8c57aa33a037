"""create-mr-from-patch: the patch bundle becomes a branch, a merge request, a meta record and a callback;
a rerun with the same key makes none of them again; a patch that does not apply fails with its reason."""

from __future__ import annotations

import json

import yaml

from tests.pipelines.support import APP, APP_PY, CALLBACK_TOKEN, PROJECT, Stack, patch_bundle

REPO, META = f"{PROJECT}/{APP}", f"{PROJECT}/{PROJECT}-meta"
POLITE = APP_PY.replace('return "hello"', 'return "hello, and welcome"')


def test_a_patch_becomes_one_branch_one_mr_one_record_even_when_run_twice(stack: Stack) -> None:
    patch_id = patch_bundle(stack, incident="inc-21", after=POLITE)
    params = {"changeset_id": "cs-21", "project": PROJECT, "branch": "cs-21-fix-greeting", "title": "Fix greeting",
              "patch_id": patch_id, "apps": APP, "origin": "inc-21"}  # fmt: skip
    key = "inc-21:create-mr-from-patch:1"
    first = stack.run("create-mr-from-patch", key, token="mr-token-21", **params)
    assert first.returncode == 0, first.stderr
    second = stack.run("create-mr-from-patch", key, token="mr-token-21", **params)
    assert second.returncode == 0, second.stderr

    project = stack.gl.projects.get(REPO)
    assert project.files.get("app.py", ref="cs-21-fix-greeting").decode().decode() == POLITE
    on_branch = stack.commits(REPO, "cs-21-fix-greeting")
    assert [c.id for c in on_branch[1:]] == [c.id for c in stack.commits(REPO, stack.source_sha)]
    assert f"PathOps-Key: {key}" in on_branch[0].message  # one commit on top of base_sha
    [mr] = project.mergerequests.list(source_branch="cs-21-fix-greeting", get_all=True)
    assert mr.target_branch == "main" and mr.title == "Fix greeting" and mr.state == "opened"
    for text in ("greet politely", "python -m unittest discover -s ci", "20/100", f"patches/{patch_id}.json",
                 "snapshots/snap-111111111111111111111111.tar.gz"):  # fmt: skip
        assert text in mr.description

    record = yaml.safe_load(stack.file(META, "incidents/inc-21.yaml"))
    assert record["merge_request"] == {
        "url": mr.web_url,
        "branch": "cs-21-fix-greeting",
        "changeset_id": "cs-21",
    }
    assert record["patch"]["key"] == f"patches/{patch_id}.json" and record["evidence"][
        "snapshot_id"
    ].startswith("snap-")
    assert sum(f"PathOps-Key: {key}" in c.message for c in stack.commits(META)) == 1

    reports = stack.receiver.bodies("create-mr-from-patch", changeset_id="cs-21")
    assert (
        reports
        == [
            {
                "job": "create-mr-from-patch",
                "changeset_id": "cs-21",
                "status": "success",
                "mr_url": mr.web_url,
                "commit_sha": on_branch[0].id,  # the MR's head, for its preflight before the merge
            }
        ]
        * 2
    )  # fmt: skip  (the second answered 409: already delivered)
    assert ("Bearer mr-token-21", reports[0]) in stack.receiver.got


def test_without_branch_and_title_the_defaults_come_from_the_patch(stack: Stack) -> None:
    patch_id = patch_bundle(stack, incident="inc-22", after=APP_PY.replace("8080", "9090"))
    done = stack.run("create-mr-from-patch", "inc-22:create-mr-from-patch:1", token="mr-token-22",
                     changeset_id="cs-22", project=PROJECT, patch_id=patch_id)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [mr] = stack.gl.projects.get(REPO).mergerequests.list(source_branch="cs-22-fix-greeting", get_all=True)
    assert mr.title == "Fix: greet politely"


def test_a_patch_that_does_not_apply_fails_with_its_reason(stack: Stack) -> None:
    patch_id = patch_bundle(stack, incident="inc-23", after=POLITE)
    bundle_key = f"patches/{patch_id}.json"
    s3 = stack.s3()
    bundle = json.loads(s3.get_object(Bucket="pathops-patches", Key=bundle_key)["Body"].read())
    bundle["diff"] = bundle["diff"].replace('return "hello"', 'return "howdy"')  # context that is not there
    s3.put_object(Bucket="pathops-patches", Key=bundle_key, Body=json.dumps(bundle).encode())
    done = stack.run("create-mr-from-patch", "inc-23:create-mr-from-patch:1", token="mr-token-23",
                     changeset_id="cs-23", project=PROJECT, patch_id=patch_id, branch="cs-23-fix")  # fmt: skip
    assert done.returncode == 1
    [line] = [x for x in done.stderr.splitlines() if x.startswith("pathops-ci ")]
    assert "the patch does not apply" in line and CALLBACK_TOKEN not in done.stderr
    [report] = stack.receiver.bodies("create-mr-from-patch", changeset_id="cs-23")
    assert report["status"] == "failure" and "the patch does not apply" in report["detail"]
    assert stack.gl.projects.get(REPO).branches.list(search="cs-23", get_all=True) == []


def test_a_missing_patch_fails_and_says_which(stack: Stack) -> None:
    done = stack.run("create-mr-from-patch", "cs-24:create-mr-from-patch:1", token="mr-token-24",
                     changeset_id="cs-24", project=PROJECT, patch_id="patch-nothere")  # fmt: skip
    assert done.returncode == 1 and "patch patch-nothere is not in object storage" in done.stderr
    [report] = stack.receiver.bodies("create-mr-from-patch", changeset_id="cs-24")
    assert report["status"] == "failure"


def test_a_patch_for_another_project_is_refused(stack: Stack) -> None:
    patch_id = patch_bundle(stack, incident="inc-25", after=POLITE, repo="other/shop-api")
    done = stack.run("create-mr-from-patch", "cs-25:create-mr-from-patch:1", token="mr-token-25",
                     changeset_id="cs-25", project=PROJECT, patch_id=patch_id)  # fmt: skip
    assert done.returncode == 1 and "not a repository of shop" in done.stderr


def test_a_feature_without_a_patch_gets_one_branch_and_mr_per_app_once(stack: Stack) -> None:
    group = stack.gl.groups.get(PROJECT)
    web = stack.gl.projects.create(
        {"name": "shop-web", "namespace_id": group.id, "initialize_with_readme": True}
    )
    params = {"changeset_id": "cs-31", "project": PROJECT, "branch": "cs-31-product-search",
              "title": "Product search", "apps": f"{APP},shop-web", "origin": "feature"}  # fmt: skip
    key = "cs-31:create-mr-from-patch:1"
    for _ in range(2):
        done = stack.run("create-mr-from-patch", key, token="mr-token-31", **params)
        assert done.returncode == 0, done.stderr
    urls = {}
    for repo in (REPO, f"{PROJECT}/shop-web"):
        [mr] = stack.gl.projects.get(repo).mergerequests.list(
            source_branch="cs-31-product-search", get_all=True
        )
        assert mr.title == "Product search" and f"Deploy order: {APP} -> shop-web" in mr.description
        task = stack.file(repo, "docs/changes/cs-31.md", ref="cs-31-product-search")
        assert task.startswith("# Product search")
        assert (
            sum(f"PathOps-Key: {key}" in c.message for c in stack.commits(repo, "cs-31-product-search")) == 1
        )
        urls[repo.rpartition("/")[2]] = mr.web_url
    [report, _] = stack.receiver.bodies("create-mr-from-patch", changeset_id="cs-31")
    assert report["mrs"] == urls and report["mr_url"] == urls[APP]
    assert web.id  # created by this test


def test_merge_mr_merges_at_the_verified_head_once(stack: Stack) -> None:
    project = stack.gl.projects.get(REPO)
    project.branches.create({"branch": "cs-41-fix", "ref": "main"})
    head = project.commits.create({"branch": "cs-41-fix", "commit_message": "fix", "actions": [
        {"action": "create", "file_path": "docs/cs-41.md", "content": "fix\n"}]}).id  # fmt: skip
    mr = project.mergerequests.create(
        {"source_branch": "cs-41-fix", "target_branch": "main", "title": "Fix 41"}
    )
    params = {
        "changeset_id": "cs-41",
        "project": PROJECT,
        "app": APP,
        "mr_url": mr.web_url,
        "commit_sha": head,
    }
    for _ in range(2):  # a rerun finds it merged and is done
        done = stack.run("merge-mr", "cs-41:merge-mr:1", token="merge-token-41", **params)
        assert done.returncode == 0, done.stderr
    merged = project.mergerequests.get(mr.iid)
    assert merged.state == "merged" and merged.merged_by["username"] == "ci"
    stale = stack.run("merge-mr", "cs-41:merge-mr:2", token="merge-token-42",
                      **(params | {"mr_url": "http://gitlab.test/nowhere"}))  # fmt: skip
    assert stale.returncode == 1 and "not a GitLab merge request URL" in stale.stderr
