"""Argo CD's health of a Deployment during a rollout: only the current ReplicaSet's pods count."""

from __future__ import annotations

from typing import Any

from fakes.argocd.health import REVISION, resource_health

Obj = dict[str, Any]


def _deployment(revision: str, generation: int = 2) -> Obj:
    return {
        "metadata": {"name": "shop-api", "generation": generation, "annotations": {REVISION: revision}},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": generation, "replicas": 2, "updatedReplicas": 0},
    }


def _replicaset(uid: str, revision: str) -> Obj:
    return {"kind": "ReplicaSet", "metadata": {"name": f"shop-api-{uid}", "uid": uid,
                                               "annotations": {REVISION: revision}}}  # fmt: skip


def _pod(name: str, owner: str, *, waiting: str | None = None) -> Obj:
    state = {"waiting": {"reason": waiting, "message": "back-off"}} if waiting else {"running": {}}
    return {
        "kind": "Pod",
        "metadata": {"name": name, "ownerReferences": [{"kind": "ReplicaSet", "uid": owner}]},
        "status": {"containerStatuses": [{"name": "app", "state": state, "restartCount": 3}]},
    }


def test_the_old_replicasets_crash_loop_does_not_degrade_a_rollout_whose_pods_are_not_there_yet() -> None:
    children = [
        _replicaset("old", "1"),
        _replicaset("new", "2"),
        _pod("shop-api-old-a", "old", waiting="CrashLoopBackOff"),
    ]
    health = resource_health("Deployment", _deployment("2"), children)
    assert health["status"] == "Progressing", health


def test_the_current_replicasets_crash_loop_degrades_it() -> None:
    children = [_replicaset("old", "1"), _replicaset("new", "2"), _pod("shop-api-old-a", "old"),
                _pod("shop-api-new-a", "new", waiting="CrashLoopBackOff")]  # fmt: skip
    health = resource_health("Deployment", _deployment("2"), children)
    assert health["status"] == "Degraded" and "shop-api-new-a: CrashLoopBackOff" in health["message"]


def test_a_spec_the_controller_has_not_seen_is_progressing_whatever_the_pods_say() -> None:
    live = _deployment("1", generation=3) | {"status": {"observedGeneration": 2}}
    children = [_replicaset("old", "1"), _pod("shop-api-old-a", "old", waiting="CrashLoopBackOff")]
    assert resource_health("Deployment", live, children)["status"] == "Progressing"
