"""Missed webhooks are found by asking GitLab and Argo CD (port doubles answer as they would)."""

from __future__ import annotations

from typing import Any

from appliance.bootstrap import Appliance
from appliance.contracts.webhooks import JenkinsCallback
from appliance.ports.gitops import AppStatus
from appliance.ports.scm import MergeRequest
from appliance.services import callbacks, queries
from appliance.services.reconcile import Reconciler
from tests.services.test_release import SHA, _jenkins, _merge_hook, _setup, _token
from tests.support.doubles import RecordingCi

MR_URL = "http://gitlab/shop/shop-api/-/merge_requests/1"


class Argo:
    def __init__(self) -> None:
        self.apps: dict[str, AppStatus] = {}
        self.asked: list[str] = []

    async def get_app(self, *, name: str) -> AppStatus:
        self.asked.append(name)
        return self.apps[name]


class GitLab:
    def __init__(self) -> None:
        self.state = "opened"
        self.asked: list[tuple[str, int]] = []

    async def get_mr(self, *, project: str, iid: int) -> MergeRequest:
        self.asked.append((project, iid))
        return MergeRequest(
            id=1, iid=iid, project_id=7, title="fix", description="", state=self.state, source_branch="cs-1-fix",
            target_branch="main", sha="f" * 40, merge_status="can_be_merged", detailed_merge_status="mergeable",
            has_conflicts=False, draft=False, web_url=MR_URL, merge_commit_sha=SHA if self.state == "merged" else "",
        )  # fmt: skip


async def _phase(appliance: Appliance, kind: str, id: str) -> Any:
    return (await queries.instance(appliance.ctx, kind, id)).phase


async def test_a_merge_and_a_sync_nobody_was_told_of_are_found(appliance: Appliance, ci: RecordingCi) -> None:
    await _setup(appliance, ci, level=1, risk=10)
    argo, gitlab = Argo(), GitLab()
    reconciler = Reconciler(appliance.ctx, gitops=argo, scm=gitlab)  # type: ignore[arg-type]
    assert await reconciler.tick() == 0 and gitlab.asked == [("shop/shop-api", 1)]  # still open
    gitlab.state = "merged"  # merged in GitLab while the hook was lost
    assert await reconciler.tick() == 1
    assert await _phase(appliance, "changeset", "cs-1") == "merged"
    await appliance.dispatcher.tick()
    art = f"art-shop-api-{SHA[:12]}"
    assert [k for j, k, _ in ci.calls if j == "build"] == [f"{art}:build:1"]
    await callbacks.gitlab(
        appliance.ctx, "Merge Request Hook", _merge_hook()
    )  # the hook after all: no 2nd build
    await appliance.dispatcher.tick()
    assert [j for j, _, _ in ci.calls].count("build") == 1

    await _jenkins(appliance, JenkinsCallback(status="success", job="build", artifact_id=art, image="r/a:1"),
                   _token(ci, "build"))  # fmt: skip
    await appliance.dispatcher.tick()
    deployed = JenkinsCallback(
        status="success", job="deploy-preflight", preflight_id=f"pf-{art}", revision="g2"
    )
    await _jenkins(appliance, deployed, _token(ci, "deploy-preflight"))
    argo.apps["shop-api-preflight"] = AppStatus(name="shop-api-preflight", sync_status="Synced",
                                                health="Progressing", revision="g2")  # fmt: skip
    assert await reconciler.tick() == 0  # not final yet: wait
    argo.apps["shop-api-preflight"] = AppStatus(name="shop-api-preflight", sync_status="Synced",
                                                health="Healthy", revision="g1")  # fmt: skip
    assert await reconciler.tick() == 0  # another revision: not this run's deploy
    argo.apps["shop-api-preflight"] = AppStatus(name="shop-api-preflight", sync_status="Synced",
                                                health="Healthy", revision="g2")  # fmt: skip
    assert await reconciler.tick() == 1
    assert await _phase(appliance, "preflight", f"pf-{art}") == "verifying"
    assert await reconciler.tick() == 0  # nothing waits any more
