"""The GitLab Scm adapter over real HTTP against the GitLab fake; python-gitlab sets up and checks state."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import gitlab
import httpx
import pytest

from appliance.adapters.gitlab import GitLabScm
from appliance.ports.errors import PermanentError, PortError, TransientError
from appliance.ports.scm import FileAction
from fakes.common.asgi import send_json
from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.gitlab import build
from tests.support.world import free_port

TOKEN = "glpat-ci-secret-0123456789"
VIEWER = "glpat-viewer-secret-987654"
PROJECT = "shop/shop-api"


def _serve(app: Any) -> ThreadedServer:
    server = ThreadedServer(app)
    server.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no delayed-ACK stalls
    return server.start()


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    server = _serve(build(FakeConfig(data_dir=tmp_path / "gitlab", tokens={TOKEN: "ci", VIEWER: "viewer"})))
    yield server.url
    server.stop()


@pytest.fixture
def gl(url: str) -> gitlab.Gitlab:
    return gitlab.Gitlab(url, private_token=TOKEN)


@pytest.fixture
def project(gl: gitlab.Gitlab) -> Any:
    group = gl.groups.create({"name": "shop", "path": "shop"})
    p = gl.projects.create({"name": "shop-api", "namespace_id": group.id, "initialize_with_readme": True})
    p.commits.create(
        {
            "branch": "main",
            "commit_message": "meta",
            "actions": [
                {"action": "create", "file_path": "project.yaml", "content": "name: shop\n"},
                {
                    "action": "create",
                    "file_path": "contracts/api/openapi.yaml",
                    "content": "openapi: 3.1.0\n",
                },
            ],
        }
    )
    return p


@pytest.fixture
async def scm(url: str) -> AsyncIterator[GitLabScm]:
    adapter = GitLabScm(url=url, token=TOKEN, timeout=5)
    yield adapter
    await adapter.aclose()


def _text(gl_project: Any, path: str, ref: str) -> str:
    return bytes(gl_project.files.raw(file_path=path, ref=ref)).decode()


async def test_reads_a_project_files_and_the_tree_by_encoded_paths(scm: GitLabScm, project: Any) -> None:
    got = await scm.get_project(project=PROJECT)
    assert (got.id, got.path, got.name, got.default_branch) == (project.id, PROJECT, "shop-api", "main")
    assert got.web_url.endswith("/shop/shop-api") and got.http_url.endswith("/shop/shop-api.git")
    assert (await scm.get_project(project=str(project.id))).path == PROJECT

    meta = await scm.get_file(project=PROJECT, path="project.yaml", ref="main")
    assert meta.content == b"name: shop\n"
    contract = await scm.get_file(project=PROJECT, path="contracts/api/openapi.yaml", ref="main")
    assert contract.content == b"openapi: 3.1.0\n" and contract.commit_id == project.commits.list()[0].id
    assert await scm.list_files(project=PROJECT, ref="main") == [
        "README.md",
        "contracts/api/openapi.yaml",
        "project.yaml",
    ]
    assert await scm.list_files(project=PROJECT, ref="main", path="contracts") == [
        "contracts/api/openapi.yaml"
    ]

    with pytest.raises(PermanentError, match="404 File Not Found"):
        await scm.get_file(project=PROJECT, path="missing.yaml", ref="main")
    with pytest.raises(PermanentError, match="404 Project Not Found"):
        await scm.get_project(project="shop/nope")


async def test_branches_are_listed_and_created_once(scm: GitLabScm, project: Any) -> None:
    main = project.branches.get("main")
    [only] = await scm.list_branches(project=PROJECT)
    assert (only.name, only.sha, only.default, only.protected) == ("main", main.commit["id"], True, True)

    made = await scm.create_branch(project=PROJECT, branch="cs-1-fix/db", ref="main")
    again = await scm.create_branch(project=PROJECT, branch="cs-1-fix/db", ref="main")
    assert made == again and made.sha == main.commit["id"] and not made.default
    assert [b.name for b in await scm.list_branches(project=PROJECT, search="cs-1")] == ["cs-1-fix/db"]
    assert len(project.branches.list(get_all=True)) == 2


async def test_commit_applies_several_actions_and_returns_the_new_sha(
    scm: GitLabScm, project: Any, gl: gitlab.Gitlab
) -> None:
    before = project.branches.get("main").commit["id"]
    actions = [
        FileAction(action="create", path="src/app.py", content=b"print('hi')\n"),
        FileAction(action="update", path="project.yaml", content=b"name: shop\nversion: 2\n"),
        FileAction(action="delete", path="README.md"),
    ]
    done = await scm.commit(
        project=PROJECT, branch="cs-2-feature", start_branch="main", message="Add app", actions=actions
    )
    assert done.sha == project.branches.get("cs-2-feature").commit["id"]
    assert done.parent_shas == (before,) and done.title == "Add app"
    assert _text(project, "src/app.py", "cs-2-feature") == "print('hi')\n"
    assert _text(project, "project.yaml", "cs-2-feature") == "name: shop\nversion: 2\n"
    with pytest.raises(gitlab.GitlabGetError):
        project.files.get(file_path="README.md", ref="cs-2-feature")

    fetched = await scm.get_commit(project=PROJECT, sha=done.sha)
    assert fetched.sha == done.sha and fetched.parent_shas == (before,) and fetched.author_name
    with pytest.raises(PermanentError, match="400"):
        await scm.commit(
            project=PROJECT, branch="main", message="x", actions=[FileAction(action="delete", path="nope")]
        )


async def test_a_commit_with_a_key_is_made_once(scm: GitLabScm, project: Any) -> None:
    action = [FileAction(action="update", path="project.yaml", content=b"name: shop\nreplicas: 3\n")]
    first = await scm.commit(
        project=PROJECT, branch="cs-3", start_branch="main", message="Scale", actions=action, key="cs-3:1"
    )
    again = await scm.commit(
        project=PROJECT, branch="cs-3", start_branch="main", message="Scale", actions=action, key="cs-3:1"
    )
    assert again.sha == first.sha
    assert first.message.splitlines()[-1] == "PathOps-Key: cs-3:1"
    commits = project.commits.list(ref_name="cs-3", get_all=True)
    assert [c.title for c in commits] == ["Scale", "meta", "Initial commit"]


async def test_open_mr_twice_returns_the_same_merge_request(scm: GitLabScm, project: Any) -> None:
    await scm.create_branch(project=PROJECT, branch="cs-4-fix", ref="main")
    await scm.commit(
        project=PROJECT,
        branch="cs-4-fix",
        message="Fix",
        actions=[FileAction(action="create", path="fix.txt", content=b"ok\n")],
    )
    first = await scm.open_mr(
        project=PROJECT,
        source_branch="cs-4-fix",
        target_branch="main",
        title="Fix it",
        description="why",
        labels=["pathops"],
    )
    again = await scm.open_mr(project=PROJECT, source_branch="cs-4-fix", target_branch="main", title="Fix it")
    assert again == first
    assert (first.iid, first.state, first.source_branch, first.target_branch) == (
        1,
        "opened",
        "cs-4-fix",
        "main",
    )
    assert first.web_url.endswith("/shop/shop-api/-/merge_requests/1")
    assert first.sha == project.branches.get("cs-4-fix").commit["id"]
    assert len(project.mergerequests.list(state="all", get_all=True)) == 1
    assert project.mergerequests.get(1).labels == ["pathops"]


async def test_review_and_merge_put_the_file_on_the_target(scm: GitLabScm, project: Any) -> None:
    await scm.create_branch(project=PROJECT, branch="cs-5-fix", ref="main")
    head = await scm.commit(
        project=PROJECT,
        branch="cs-5-fix",
        message="Fix",
        actions=[FileAction(action="create", path="fix.txt", content=b"fixed\n")],
    )
    mr = await scm.open_mr(project=PROJECT, source_branch="cs-5-fix", target_branch="main", title="Fix")
    got = await scm.get_mr(project=PROJECT, iid=mr.iid)
    assert (got.merge_status, got.detailed_merge_status, got.sha) == ("can_be_merged", "mergeable", head.sha)
    assert not got.approved and got.approved_by == () and not got.draft and not got.has_conflicts

    note = await scm.comment_mr(project=PROJECT, iid=mr.iid, body="Evidence: snap-1", key="cs-5:evidence")
    same = await scm.comment_mr(project=PROJECT, iid=mr.iid, body="Evidence: snap-1", key="cs-5:evidence")
    plain = await scm.comment_mr(project=PROJECT, iid=mr.iid, body="hello")
    assert same == note and note.author == "ci" and note.body.startswith("Evidence: snap-1")
    assert plain.body == "hello"
    assert len(project.mergerequests.get(mr.iid).notes.list(get_all=True)) == 2

    with pytest.raises(PermanentError, match="409"):
        await scm.approve_mr(project=PROJECT, iid=mr.iid, sha="0" * 40)
    approved = await scm.approve_mr(project=PROJECT, iid=mr.iid, sha=head.sha)
    assert (await scm.approve_mr(project=PROJECT, iid=mr.iid)) == approved  # a repeat is harmless
    assert approved.approved and approved.approved_by == ("ci",)

    with pytest.raises(PermanentError, match=r"409: SHA does not match"):
        await scm.merge_mr(project=PROJECT, iid=mr.iid, sha="0" * 40)
    assert _missing(project, "fix.txt", "main")
    merged = await scm.merge_mr(project=PROJECT, iid=mr.iid, sha=head.sha, remove_source_branch=True)
    assert merged.state == "merged" and merged.merge_commit_sha
    assert _text(project, "fix.txt", "main") == "fixed\n"
    assert project.branches.get("main").commit["id"] == merged.merge_commit_sha
    assert "cs-5-fix" not in [b.name for b in project.branches.list(get_all=True)]
    assert (await scm.merge_mr(project=PROJECT, iid=mr.iid, sha=head.sha)) == merged  # after a crash
    with pytest.raises(PermanentError, match="already merged"):
        await scm.merge_mr(project=PROJECT, iid=mr.iid, sha="1" * 40)


def _missing(gl_project: Any, path: str, ref: str) -> bool:
    try:
        gl_project.files.get(file_path=path, ref=ref)
    except gitlab.GitlabGetError:
        return True
    return False


async def test_close_mr(scm: GitLabScm, project: Any) -> None:
    await scm.create_branch(project=PROJECT, branch="cs-6", ref="main")
    await scm.commit(
        project=PROJECT,
        branch="cs-6",
        message="x",
        actions=[FileAction(action="create", path="x", content=b"x")],
    )
    mr = await scm.open_mr(project=PROJECT, source_branch="cs-6", target_branch="main", title="Try")
    closed = await scm.close_mr(project=PROJECT, iid=mr.iid)
    assert closed.state == "closed" and (await scm.close_mr(project=PROJECT, iid=mr.iid)).state == "closed"
    assert project.mergerequests.get(mr.iid).state == "closed"
    reopened = await scm.open_mr(project=PROJECT, source_branch="cs-6", target_branch="main", title="Again")
    assert reopened.iid == mr.iid + 1  # a closed request is not reused


async def test_add_hook_is_one_hook_per_url(scm: GitLabScm, project: Any) -> None:
    hook = await scm.add_hook(project=PROJECT, url="http://pathops.test/webhooks/gitlab", token="hook-secret")
    again = await scm.add_hook(
        project=PROJECT,
        url="http://pathops.test/webhooks/gitlab",
        token="hook-secret",
        events=["merge_requests_events"],
    )
    assert hook.events == ("push_events", "merge_requests_events")
    assert again.id == hook.id and again.events == ("merge_requests_events",)
    [only] = project.hooks.list(get_all=True)
    assert (only.url, only.push_events, only.merge_requests_events) == (hook.url, False, True)
    with pytest.raises(ValueError, match="unknown hook events"):
        await scm.add_hook(project=PROJECT, url="http://x.test/", token="t", events=["bogus_events"])


async def test_set_commit_status(scm: GitLabScm, project: Any) -> None:
    sha = project.branches.get("main").commit["id"]
    running = await scm.set_commit_status(project=PROJECT, sha=sha, state="running", name="pathops/preflight")
    done = await scm.set_commit_status(
        project=PROJECT,
        sha=sha,
        state="success",
        name="pathops/preflight",
        target_url="http://pathops.test/r/1",
        description="verified",
    )
    assert (running.state, done.state, done.ref, done.target_url) == (
        "running",
        "success",
        "main",
        "http://pathops.test/r/1",
    )
    statuses = project.commits.get(sha).statuses.list(get_all=True)
    assert [(s.name, s.status, s.description) for s in statuses] == [
        ("pathops/preflight", "success", "verified")
    ]


async def test_a_wrong_token_or_a_read_only_one_is_permanent(url: str, project: Any) -> None:
    wrong = GitLabScm(url=url, token="glpat-wrong-token-42", timeout=5)
    with pytest.raises(PermanentError, match="401 Unauthorized") as info:
        await wrong.get_project(project=PROJECT)
    await wrong.aclose()
    assert "glpat-wrong-token-42" not in str(info.value) and info.value.system == "gitlab"

    viewer = GitLabScm(url=url, token=VIEWER, timeout=5)
    assert (await viewer.get_project(project=PROJECT)).path == PROJECT
    with pytest.raises(PermanentError, match="403 Forbidden"):
        await viewer.create_branch(project=PROJECT, branch="nope", ref="main")
    await viewer.aclose()


async def test_an_injected_503_is_transient_and_the_next_call_succeeds(
    scm: GitLabScm, url: str, project: Any
) -> None:
    fault = {"kind": "error", "status": 503, "count": 1, "path": "/api/v4/projects/*"}
    assert httpx.post(f"{url}/_fake/faults", json=fault).status_code == 201
    with pytest.raises(TransientError, match="503") as info:
        await scm.get_project(project=PROJECT)
    assert info.value.delay is None
    assert (await scm.get_project(project=PROJECT)).path == PROJECT


async def test_a_timeout_is_transient(url: str, project: Any) -> None:
    fault = {"kind": "timeout", "delay_s": 1, "count": 1}
    assert httpx.post(f"{url}/_fake/faults", json=fault).status_code == 201
    slow = GitLabScm(url=url, token=TOKEN, timeout=0.3)
    with pytest.raises(TransientError, match="Timeout"):
        await slow.get_project(project=PROJECT)
    await slow.aclose()


async def test_retry_after_becomes_the_delay() -> None:
    async def busy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send_json(send, 429, {"message": "429 Too Many Requests"}, [(b"retry-after", b"7")])

    server = _serve(busy)
    scm = GitLabScm(url=server.url, token=TOKEN, timeout=5)
    try:
        with pytest.raises(TransientError, match="429 Too Many Requests") as info:
            await scm.list_branches(project=PROJECT)
    finally:
        await scm.aclose()
        server.stop()
    assert info.value.delay == 7.0


async def test_an_unreachable_gitlab_is_transient() -> None:
    scm = GitLabScm(url=f"http://127.0.0.1:{free_port()}", token=TOKEN, timeout=2)
    with pytest.raises(TransientError, match="ConnectError"):
        await scm.get_project(project=PROJECT)
    await scm.aclose()


async def test_the_token_never_appears_in_errors_or_logs(
    url: str, project: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scm = GitLabScm(url=url, token=TOKEN, timeout=5)
    wrong = GitLabScm(url=url, token=TOKEN + "-x", timeout=5)
    errors: list[PortError] = []
    await scm.create_branch(project=PROJECT, branch="cs-7", ref="main")
    httpx.post(f"{url}/_fake/faults", json={"kind": "error", "status": 503, "count": 1, "method": "POST"})
    for call in (
        scm.commit(
            project=PROJECT,
            branch="cs-7",
            message="m",
            actions=[FileAction(action="create", path="a", content=b"a")],
        ),
        scm.commit(
            project=PROJECT,
            branch="cs-7",
            message="m",
            actions=[FileAction(action="create", path="a", content=b"a")],
        ),
        scm.commit(
            project=PROJECT,
            branch="cs-7",
            message="m",
            actions=[FileAction(action="create", path="a", content=b"a")],
        ),
        scm.add_hook(project=PROJECT, url="http://pathops.test/hook", token=TOKEN),
        wrong.get_project(project=PROJECT),
    ):
        try:
            await call
        except PortError as exc:
            errors.append(exc)
    await scm.aclose()
    await wrong.aclose()
    assert [type(e).__name__ for e in errors] == ["TransientError", "PermanentError", "PermanentError"]
    assert caplog.records, "expected the adapter and httpx to log"
    for text in [*(str(e) for e in errors), *(r.getMessage() for r in caplog.records)]:
        assert TOKEN not in text
