"""Argo CD's health of a Deployment during a rollout: only the current ReplicaSet's pods count, the one
whose pod template is the Deployment's own."""

from __future__ import annotations

from typing import Any

from fakes.argocd.health import REVISION, resource_health

Obj = dict[str, Any]


def _template(image: str) -> Obj:
    return {
        "metadata": {"labels": {"app": "shop-api"}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def _deployment(image: str, generation: int = 2, annotations: Obj | None = None) -> Obj:
    return {
        "metadata": {"name": "shop-api", "generation": generation, "annotations": annotations or {}},
        "spec": {"replicas": 1, "template": _template(image)},
        "status": {"observedGeneration": generation, "replicas": 2, "updatedReplicas": 0},
    }


def _replicaset(uid: str, revision: str, image: str) -> Obj:
    return {"kind": "ReplicaSet", "metadata": {"name": f"shop-api-{uid}", "uid": uid, "annotations": {REVISION: revision}},
            "spec": {"template": _template(image)}}  # fmt: skip


def _pod(name: str, owner: str, *, waiting: str | None = None) -> Obj:
    state = {"waiting": {"reason": waiting, "message": "back-off"}} if waiting else {"running": {}}
    return {
        "kind": "Pod",
        "metadata": {"name": name, "ownerReferences": [{"kind": "ReplicaSet", "uid": owner}]},
        "status": {"containerStatuses": [{"name": "app", "state": state, "restartCount": 3}]},
    }


OLD, NEW = "reg/shop-api:bad", "reg/shop-api:fix"


def test_the_old_replicasets_crash_loop_does_not_degrade_a_rollout_whose_pods_are_not_there_yet() -> None:
    children = [_replicaset("old", "1", OLD), _replicaset("new", "2", NEW),
                _pod("shop-api-old-a", "old", waiting="CrashLoopBackOff")]  # fmt: skip
    health = resource_health("Deployment", _deployment(NEW), children)
    assert health["status"] == "Progressing", health


def test_the_current_replicasets_crash_loop_degrades_it() -> None:
    children = [_replicaset("old", "1", OLD), _replicaset("new", "2", NEW), _pod("shop-api-old-a", "old"),
                _pod("shop-api-new-a", "new", waiting="CrashLoopBackOff")]  # fmt: skip
    health = resource_health("Deployment", _deployment(NEW), children)
    assert health["status"] == "Degraded" and "shop-api-new-a: CrashLoopBackOff" in health["message"]


def test_an_annotation_an_apply_rewrote_does_not_make_the_old_replicaset_current() -> None:
    """An apply that replaces the Deployment's annotations may leave it naming the old revision; its
    template still says which ReplicaSet is current."""
    children = [_replicaset("old", "1", OLD), _replicaset("new", "2", NEW),
                _pod("shop-api-old-a", "old", waiting="CrashLoopBackOff"), _pod("shop-api-new-a", "new")]  # fmt: skip
    live = _deployment(NEW, annotations={REVISION: "1"})
    assert resource_health("Deployment", live, children)["status"] != "Degraded"


def test_a_spec_the_controller_has_not_seen_is_progressing_whatever_the_pods_say() -> None:
    live = _deployment(OLD, generation=3) | {"status": {"observedGeneration": 2}}
    children = [_replicaset("old", "1", OLD), _pod("shop-api-old-a", "old", waiting="CrashLoopBackOff")]
    assert resource_health("Deployment", live, children)["status"] == "Progressing"
