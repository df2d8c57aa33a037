"""Argo CD's built-in health checks, for the kinds PathOps deploys.

Healthy, Progressing, Degraded, Missing (not in the cluster), Suspended; an app's health is the
worst of its resources'.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
RANK = {"Healthy": 0, "Suspended": 1, "Progressing": 2, "Missing": 3, "Degraded": 4, "Unknown": 2}
BAD_WAITING = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "InvalidImageName",
}


def resource_health(kind: str, live: Obj | None, children: list[Obj]) -> Obj:
    """`children`: what the resource owns, with their kinds (a Deployment's ReplicaSets and their
    Pods, a Job's Pods)."""
    if live is None:
        return {"status": "Missing", "message": "resource is not in the cluster"}
    status = live.get("status") or {}
    if kind == "Deployment":
        return _deployment(live, status, children)
    if kind == "Job":
        return _job(status, [c for c in children if c.get("kind") == "Pod"])
    if kind == "Pod":
        return _pod(live)
    return {"status": "Healthy"}


def _deployment(live: Obj, status: Obj, children: list[Obj]) -> Obj:
    broken = _broken(_current(live, children)) if _observed(live, status) else ""
    if broken:
        return {"status": "Degraded", "message": broken}
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return {
                "status": "Degraded",
                "message": f"Deployment {live['metadata']['name']!r} exceeded its progress deadline",
            }
    want = (live.get("spec") or {}).get("replicas", 1)
    if (live["metadata"].get("generation") or 0) > (status.get("observedGeneration") or 0):
        return {
            "status": "Progressing",
            "message": "Waiting for rollout to finish: observed deployment generation less than desired generation",
        }
    if (status.get("updatedReplicas") or 0) < want:
        return {
            "status": "Progressing",
            "message": f"Waiting for rollout to finish: {status.get('updatedReplicas') or 0} out of {want} new replicas have been updated...",
        }
    if (status.get("availableReplicas") or 0) < want:
        return {
            "status": "Progressing",
            "message": f"Waiting for rollout to finish: {status.get('availableReplicas') or 0} of {want} updated replicas are available...",
        }
    return {"status": "Healthy"}


def _job(status: Obj, pods: list[Obj]) -> Obj:
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Failed" and cond.get("status") == "True":
            return {
                "status": "Degraded",
                "message": cond.get("message") or cond.get("reason") or "job failed",
            }
        if cond.get("type") == "Complete" and cond.get("status") == "True":
            return {"status": "Healthy", "message": "job completed"}
    broken = _broken(pods)
    return (
        {"status": "Degraded", "message": broken}
        if broken
        else {"status": "Progressing", "message": "job running"}
    )


def _pod(live: Obj) -> Obj:
    status = live.get("status") or {}
    broken = _broken([live])
    if broken:
        return {"status": "Degraded", "message": broken}
    phase = status.get("phase")
    if phase == "Succeeded":
        return {"status": "Healthy"}
    if phase == "Failed":
        return {"status": "Degraded", "message": status.get("message") or "pod failed"}
    ready = all(c.get("ready") for c in status.get("containerStatuses") or [{}])
    return {"status": "Healthy"} if phase == "Running" and ready else {"status": "Progressing"}


def _observed(live: Obj, status: Obj) -> bool:
    """The controller has seen the Deployment's latest spec (its pods say something about it)."""
    return (live["metadata"].get("generation") or 0) <= (status.get("observedGeneration") or 0)


def _current(live: Obj, children: list[Obj]) -> list[Obj]:
    """The pods of the Deployment's current ReplicaSet: the one whose pod template is the Deployment's
    own (an apply may rewrite the Deployment's annotations, its template says what it runs), not
    terminating. Until that ReplicaSet has pods there are none: the old ReplicaSet's pods of a rollout
    say nothing about the new template."""
    wanted = ((live.get("spec") or {}).get("template") or {}).get("spec")
    sets = [c for c in children if c.get("kind") == "ReplicaSet"]
    current = [s for s in sets if ((s.get("spec") or {}).get("template") or {}).get("spec") == wanted]
    if wanted is None or not current:
        return []
    newest = max(current, key=lambda s: int((s["metadata"].get("annotations") or {}).get(REVISION) or 0))
    uid = newest["metadata"].get("uid")
    return [
        c
        for c in children
        if c.get("kind") == "Pod"
        and not c["metadata"].get("deletionTimestamp")
        and any(o.get("uid") == uid for o in c["metadata"].get("ownerReferences") or [])
    ]


def _broken(pods: list[Obj]) -> str:
    for pod in pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in BAD_WAITING:
                return f"pod {pod['metadata']['name']}: {waiting['reason']}: {waiting.get('message', '')}".strip()
            last = (cs.get("lastState") or {}).get("terminated") or {}
            if last.get("reason") == "OOMKilled" and (cs.get("restartCount") or 0) > 0:
                return f"pod {pod['metadata']['name']}: OOMKilled"
    return ""


def app_health(healths: list[Obj]) -> Obj:
    if not healths:
        return {"status": "Healthy"}
    worst = max(healths, key=lambda h: RANK.get(h["status"], 2))
    return {"status": worst["status"], **({"message": worst["message"]} if worst.get("message") else {})}
