"""The Job controller: run pods until `completions` succeed (`parallelism` at a time), count failures
against `backoffLimit` (failed pods; restarts too under OnFailure) with a back-off between retries,
`activeDeadlineSeconds`, the Complete / Failed conditions, and `ttlSecondsAfterFinished`."""

from __future__ import annotations

import copy
import time
from typing import Any

from fakes.kubernetes import deletion
from fakes.kubernetes.controllers.replicaset import pod_from_template, ready
from fakes.kubernetes.errors import ApiError
from fakes.kubernetes.events import Recorder
from fakes.kubernetes.meta import condition, controlled_by, now, parse_time, set_condition
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.resources import JOBS, PODS
from fakes.kubernetes.settings import NodeSettings
from fakes.kubernetes.store import Obj

COMPONENT = "job-controller"


def _finished(job: Obj) -> str:
    for kind in ("Complete", "Failed"):
        c = condition(job, kind)
        if c is not None and c["status"] == "True":
            return kind
    return ""


def reconcile(registry: Registry, recorder: Recorder, settings: NodeSettings) -> None:
    for job in registry.store.list(JOBS.key):
        if not job["metadata"].get("deletionTimestamp"):
            sync(registry, recorder, settings, job)


def _last_failure(pods: list[Obj]) -> float:
    times = [parse_time(s["state"]["terminated"]["finishedAt"])
             for p in pods for s in p.get("status", {}).get("containerStatuses") or []
             if "terminated" in (s.get("state") or {})]  # fmt: skip
    return max(times, default=0.0)


def phase(pod: Obj) -> str:
    return str(pod.get("status", {}).get("phase", ""))


def sync(registry: Registry, recorder: Recorder, settings: NodeSettings, job: Obj) -> None:
    meta, spec = job["metadata"], job["spec"]
    ns = meta["namespace"]
    status: dict[str, Any] = copy.deepcopy(job.get("status") or {})
    finished = _finished(job)
    if finished:
        _expire(registry, job, status)
        return
    if spec.get("suspend"):
        return
    status.setdefault("startTime", now())
    pods = [p for p in registry.store.list(PODS.key, ns) if controlled_by(p, meta["uid"])]
    live = [
        p
        for p in pods
        if phase(p) not in ("Succeeded", "Failed") and not p["metadata"].get("deletionTimestamp")
    ]
    succeeded = max(int(status.get("succeeded", 0)), sum(phase(p) == "Succeeded" for p in pods))
    failed_pods = [p for p in pods if phase(p) == "Failed"]
    failed = max(int(status.get("failed", 0)), len(failed_pods))
    restarts = 0
    if spec["template"]["spec"].get("restartPolicy") == "OnFailure":
        restarts = sum(
            s.get("restartCount", 0) for p in pods for s in p.get("status", {}).get("containerStatuses") or []
        )
    completions, parallelism = int(spec.get("completions", 1)), int(spec.get("parallelism", 1))
    deadline = spec.get("activeDeadlineSeconds")
    outcome = ""
    if succeeded >= completions:
        outcome = "Complete"
        set_condition(status, "Complete", "True", touch="lastProbeTime")  # 1.27: no reason, no message
        status["completionTime"] = now()
        recorder.normal(job, "Completed", "Job completed", component=COMPONENT)
    elif failed + restarts > int(spec.get("backoffLimit", 6)):
        outcome = "BackoffLimitExceeded"
        message = "Job has reached the specified backoff limit"
    elif deadline is not None and time.time() - parse_time(status["startTime"]) > int(deadline):
        outcome = "DeadlineExceeded"
        message = "Job was active longer than specified deadline"
    if outcome and outcome != "Complete":
        set_condition(status, "Failed", "True", outcome, message, touch="lastProbeTime")
        recorder.warning(job, outcome, message, component=COMPONENT)
    if outcome:
        for pod in live:
            try:
                deletion.delete(registry, PODS, ns, pod["metadata"]["name"])
            except ApiError:
                continue
        live = []
    else:
        want = min(parallelism, completions - succeeded) - len(live)
        wait = settings.backoff(failed - 1) if failed else 0.0
        if want > 0 and time.time() - _last_failure(failed_pods) >= wait:
            for _ in range(want):
                try:
                    pod = registry.create(
                        PODS, ns, pod_from_template(job, spec["template"], f"{meta['name']}-")
                    )
                except ApiError as exc:
                    recorder.warning(
                        job, "FailedCreate", f"Error creating: {exc.message}", component=COMPONENT
                    )
                    break
                recorder.normal(
                    job, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", component=COMPONENT
                )
                live.append(pod)
    for key, value in (("active", len(live)), ("succeeded", succeeded), ("failed", failed)):
        if value:
            status[key] = value
        else:
            status.pop(key, None)
    status["ready"] = sum(ready(p) for p in live)
    status.setdefault("uncountedTerminatedPods", {})
    registry.write_status(JOBS, job, status)


def _expire(registry: Registry, job: Obj, status: dict[str, Any]) -> None:
    ttl = job["spec"].get("ttlSecondsAfterFinished")
    if ttl is None:
        return
    c = condition(job, "Complete") or condition(job, "Failed") or {}
    at = status.get("completionTime") or c.get("lastTransitionTime")
    if at and time.time() - parse_time(at) >= int(ttl):
        meta = job["metadata"]
        try:
            deletion.delete(registry, JOBS, meta["namespace"], meta["name"], propagation="Background")
        except ApiError:
            return
