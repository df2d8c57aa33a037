"""What kube-state-metrics would export, from pods and ReplicaSets: one sample per container per scrape.

A sample carries the container's restart count, its waiting reason, the reason it last terminated
and the reason it is terminated now; its labels carry what PathOps needs to route an alert:

    namespace, pod, container
    app         the pod label `app` (else `app.kubernetes.io/name`, else the namespace minus its suffix)
    env         the namespace's suffix after the app name (shop-api-production -> production)
    project     the pod label `pathops.dev/project`, when set
    deployment  the Deployment owning the pod's ReplicaSet, when there is one
    commit_sha  the pod annotation `pathops.dev/commit-sha`, when set
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

Obj = dict[str, Any]
PROJECT_LABEL = "pathops.dev/project"
COMMIT_ANNOTATION = "pathops.dev/commit-sha"


@dataclass(frozen=True)
class Sample:
    at: float  # unix time of the scrape
    restarts: int
    waiting: str = ""  # state.waiting.reason
    terminated: str = ""  # state.terminated.reason
    last_terminated: str = ""  # lastState.terminated.reason
    created: float = 0.0  # the pod's creationTimestamp (unix time), 0 when unknown


@dataclass(frozen=True)
class Series:
    key: tuple[str, str, str]  # (namespace, pod, container)
    labels: dict[str, str]
    sample: Sample


def app_and_env(namespace: str, pod_labels: dict[str, str]) -> tuple[str, str]:
    app = pod_labels.get("app") or pod_labels.get("app.kubernetes.io/name") or ""
    if app and namespace.startswith(f"{app}-"):
        return app, namespace[len(app) + 1 :]
    stem, _, suffix = namespace.rpartition("-")
    return (app or stem or namespace), (suffix if stem else "")


def _owner(obj: Obj, kind: str) -> str:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == kind:
            return str(ref.get("name", ""))
    return ""


def _timestamp(text: Any) -> float:
    if not isinstance(text, str) or not text:
        return 0.0
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def deployments_by_replicaset(replicasets: list[Obj]) -> dict[tuple[str, str], str]:
    """(namespace, ReplicaSet name) -> the name of the Deployment that owns it."""
    out = {}
    for rs in replicasets:
        meta = rs.get("metadata", {})
        deployment = _owner(rs, "Deployment")
        if deployment:
            out[(str(meta.get("namespace", "")), str(meta.get("name", "")))] = deployment
    return out


def scrape(pods: list[Obj], deployments: dict[tuple[str, str], str], at: float) -> list[Series]:
    """One series per container of each pod (init containers are not watched)."""
    out = []
    for pod in pods:
        meta = pod.get("metadata", {})
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        pod_labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        app, env = app_and_env(namespace, pod_labels)
        labels = {
            "namespace": namespace,
            "pod": name,
            "app": app,
            "env": env,
            "project": pod_labels.get(PROJECT_LABEL, ""),
            "deployment": deployments.get((namespace, _owner(pod, "ReplicaSet")), ""),
            "commit_sha": str((meta.get("annotations") or {}).get(COMMIT_ANNOTATION, "")),
        }
        created = _timestamp(meta.get("creationTimestamp"))
        for status in pod.get("status", {}).get("containerStatuses") or []:
            container = str(status.get("name", ""))
            state, last = status.get("state") or {}, status.get("lastState") or {}
            sample = Sample(
                at=at,
                restarts=int(status.get("restartCount") or 0),
                waiting=str((state.get("waiting") or {}).get("reason", "")),
                terminated=str((state.get("terminated") or {}).get("reason", "")),
                last_terminated=str((last.get("terminated") or {}).get("reason", "")),
                created=created,
            )
            series_labels = {k: v for k, v in {**labels, "container": container}.items() if v}
            out.append(Series((namespace, name, container), series_labels, sample))
    return out
