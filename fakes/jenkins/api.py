"""What `api/json` exports for each model object (see remote-access-api.md), and the `tree=` filter.

At depth 0 nested runs and jobs are references (`{_class, number, url}`, `{_class, name, url, color}`);
`rich=True` (depth >= 1, or a `tree=` query, which Jenkins answers from the whole object graph)
nests the full objects, and `apply_tree` then keeps the asked fields (plus `_class`, as Jenkins does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fakes.jenkins.engine import Engine
from fakes.jenkins.model import KINDS, RUN_CLASS, Build, Job, ParamDef, QueueItem, now_ms

Json = dict[str, Any]
SUCCESSFUL = ("SUCCESS", "UNSTABLE")
PERMALINKS: dict[str, Callable[[Build], bool]] = {
    "firstBuild": lambda b: True,
    "lastBuild": lambda b: True,
    "lastCompletedBuild": lambda b: not b.building,
    "lastFailedBuild": lambda b: b.result == "FAILURE",
    "lastStableBuild": lambda b: b.result == "SUCCESS",
    "lastSuccessfulBuild": lambda b: b.result in SUCCESSFUL,
    "lastUnstableBuild": lambda b: b.result == "UNSTABLE",
    "lastUnsuccessfulBuild": lambda b: not b.building and b.result != "SUCCESS",
}
COLORS = {
    "SUCCESS": "blue",
    "UNSTABLE": "yellow",
    "FAILURE": "red",
    "ABORTED": "aborted",
    "NOT_BUILT": "notbuilt",
}


def permalink(job: Job, name: str) -> Build | None:
    test = PERMALINKS.get(name)
    if test is None:
        return None
    numbers = sorted(job.builds) if name == "firstBuild" else sorted(job.builds, reverse=True)
    return next((job.builds[n] for n in numbers if test(job.builds[n])), None)


def color(job: Job) -> str:
    """BallColor.toString(): the enum name in lower case (so `notbuilt`), `_anime` while building."""
    if job.disabled:
        return "disabled"
    last = permalink(job, "lastCompletedBuild")
    base = COLORS.get(last.result or "", "notbuilt") if last else "notbuilt"
    return base + ("_anime" if any(b.building for b in job.builds.values()) else "")


def job_url(root: str, job: Job | str) -> str:
    return f"{root}job/{job if isinstance(job, str) else job.name}/"


def run_ref(root: str, job: Job, build: Build | None) -> Json | None:
    if build is None:
        return None
    return {
        "_class": RUN_CLASS[job.kind],
        "number": build.number,
        "url": f"{job_url(root, job)}{build.number}/",
    }


def _value_json(name: str, value: str, kind: str) -> Json:
    out: Json = {"_class": f"hudson.model.{KINDS[kind][1]}", "name": name}
    if kind == "boolean":
        out["value"] = value == "true"
    elif kind != "password":
        out["value"] = value
    return out


def parameters_action(job: Job | None, params: list[tuple[str, str]]) -> Json:
    kinds = {p.name: p.kind for p in (job.params if job else [])}
    return {
        "_class": "hudson.model.ParametersAction",
        "parameters": [_value_json(n, v, kinds.get(n, "string")) for n, v in params],
    }


def cause_action(user: str) -> Json:
    return {
        "_class": "hudson.model.CauseAction",
        "causes": [{"_class": "hudson.model.Cause$UserIdCause", "shortDescription": f"Started by user {user}",
                    "userId": user, "userName": user}],
    }  # fmt: skip


def run_json(root: str, job: Job, build: Build) -> Json:
    actions = [parameters_action(job, build.params)] if build.params else []
    estimated = permalink(job, "lastSuccessfulBuild")
    out: Json = {
        "_class": RUN_CLASS[job.kind],
        "actions": [*actions, cause_action(build.user)],
        "artifacts": [],
        "building": build.building,
        "description": None,
        "displayName": f"#{build.number}",
        "duration": build.duration,
        "estimatedDuration": estimated.duration if estimated else -1,
        "executor": {"_class": "hudson.model.OneOffExecutor"} if build.building else None,
        "fullDisplayName": f"{job.name} #{build.number}",
        "id": str(build.number),
        "keepLog": False,
        "number": build.number,
        "queueId": build.queue_id,
        "result": build.result,
        "timestamp": build.timestamp,
        "url": f"{job_url(root, job)}{build.number}/",
        "inProgress": build.building,
        "nextBuild": run_ref(root, job, job.builds.get(build.number + 1)),
        "previousBuild": run_ref(root, job, job.builds.get(build.number - 1)),
    }
    if job.kind.endswith("FreeStyleProject"):
        out.update(builtOn="", changeSet={"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None},
                   culprits=[])  # fmt: skip
    else:
        out.update(changeSets=[], culprits=[])
    return out


def _definition_json(p: ParamDef) -> Json:
    definition, _ = KINDS[p.kind]
    default = p.choices[0] if p.kind == "choice" and p.choices else p.default
    out: Json = {
        "_class": f"hudson.model.{definition}",
        "defaultParameterValue": _value_json(p.name, default, p.kind),
        "description": p.description,
        "name": p.name,
        "type": definition,
    }
    if p.kind == "choice":
        out["choices"] = list(p.choices)
    return out


def job_json(engine: Engine, root: str, job: Job, *, rich: bool) -> Json:
    def link(build: Build | None) -> Json | None:
        if build is None:
            return None
        return run_json(root, job, build) if rich else run_ref(root, job, build)

    newest = [job.builds[n] for n in sorted(job.builds, reverse=True)]
    queued = [i for i in engine.waiting() if i.job == job.name]
    props = []
    if job.params:
        props = [{"_class": "hudson.model.ParametersDefinitionProperty",
                  "parameterDefinitions": [_definition_json(p) for p in job.params]}]  # fmt: skip
    out: Json = {
        "_class": job.kind,
        "actions": [*props, {}],
        "description": job.description,
        "displayName": job.name,
        "displayNameOrNull": None,
        "fullDisplayName": job.name,
        "fullName": job.name,
        "name": job.name,
        "url": job_url(root, job),
        "buildable": not job.disabled,
        "builds": [link(b) for b in newest[:100]],
        "color": color(job),
        "healthReport": [],
        "inQueue": bool(queued),
        "keepDependencies": False,
        **{name: link(permalink(job, name)) for name in PERMALINKS},
        "nextBuildNumber": job.next_build_number,
        "property": props,
        "queueItem": queue_item_json(engine, root, queued[0]) if queued else None,
        "concurrentBuild": True,
        "disabled": job.disabled,
        "resumeBlocked": False,
    }
    if rich:
        out["allBuilds"] = [link(b) for b in newest]
    return out


def job_ref(root: str, job: Job) -> Json:
    return {"_class": job.kind, "name": job.name, "url": job_url(root, job), "color": color(job)}


def queue_item_json(engine: Engine, root: str, item: QueueItem) -> Json:
    job = engine.jobs.get(item.job)
    state = "Left" if item.state == "left" else item.state.capitalize()
    actions = [parameters_action(job, item.params)] if item.params else []
    kinds = {p.name: p.kind for p in (job.params if job else [])}
    out: Json = {
        "_class": f"hudson.model.Queue${state}Item",
        "actions": [*actions, cause_action(item.user)],
        "blocked": False,
        "buildable": item.state == "buildable",
        "id": item.id,
        "inQueueSince": item.in_queue_since,
        "params": "".join(f"\n{n}=****" if kinds.get(n) == "password" else f"\n{n}={v}" for n, v in item.params),
        "stuck": False,
        "task": job_ref(root, job) if job else {"_class": "hudson.model.FreeStyleProject", "name": item.job,
                                                "url": job_url(root, item.job), "color": "notbuilt"},
        "url": f"queue/item/{item.id}/",
        "why": None,
    }  # fmt: skip
    if item.state == "waiting":
        left = max(item.buildable_at - now_ms(), 0) / 1000
        out.update(timestamp=item.buildable_at, why=f"In the quiet period. Expires in {left:.1f} sec")
    elif item.state == "buildable":
        out.update(buildableStartMilliseconds=item.buildable_at, pending=False,
                   why="Waiting for next available executor")  # fmt: skip
    else:
        build = job.builds.get(item.build_number or 0) if job else None
        out.update(cancelled=item.cancelled, executable=run_ref(root, job, build) if job else None)
    return out


def root_json(engine: Engine, root: str, *, rich: bool, executors: int) -> Json:
    jobs = [engine.jobs[name] for name in sorted(engine.jobs, key=str.lower)]
    view = {"_class": "hudson.model.AllView", "name": "all", "url": root}
    return {
        "_class": "hudson.model.Hudson",
        "assignedLabels": [{"name": "built-in"}],
        "mode": "NORMAL",
        "nodeDescription": "the Jenkins controller's built-in node",
        "nodeName": "",
        "numExecutors": executors,
        "description": None,
        "jobs": [job_json(engine, root, j, rich=True) if rich else job_ref(root, j) for j in jobs],
        "overallLoad": {},
        "primaryView": view,
        "quietDownReason": None,
        "quietingDown": False,
        "slaveAgentPort": -1,
        "unlabeledLoad": {"_class": "jenkins.model.UnlabeledLoadStatistics"},
        "url": root,
        "useCrumbs": True,
        "useSecurity": True,
        "views": [view],
    }


# --- tree=a,b[c,d]{M,N} --------------------------------------------------------------------------
class TreeError(ValueError):
    pass


@dataclass(frozen=True)
class Field:
    name: str
    sub: tuple[Field, ...] | None = None
    lo: int | None = None
    hi: int | None = None


def parse_tree(spec: str) -> tuple[Field, ...]:
    fields, pos = _fields(spec, 0)
    if pos != len(spec):
        raise TreeError(f"unexpected {spec[pos]!r} at {pos} in tree={spec}")
    return fields


def _fields(spec: str, pos: int) -> tuple[tuple[Field, ...], int]:
    out: list[Field] = []
    while True:
        start = pos
        while pos < len(spec) and spec[pos] not in ",[]{}":
            pos += 1
        name, sub, lo, hi = spec[start:pos].strip(), None, None, None
        if pos < len(spec) and spec[pos] == "[":
            sub, pos = _fields(spec, pos + 1)
            if pos >= len(spec) or spec[pos] != "]":
                raise TreeError(f"unbalanced [ in tree={spec}")
            pos += 1
        if pos < len(spec) and spec[pos] == "{":
            end = spec.find("}", pos)
            if end < 0:
                raise TreeError(f"unbalanced {{ in tree={spec}")
            lo, hi = _range(spec[pos + 1 : end])
            pos = end + 1
        if name:
            out.append(Field(name, sub, lo, hi))
        if pos < len(spec) and spec[pos] == ",":
            pos += 1
            continue
        return tuple(out), pos


def _range(text: str) -> tuple[int | None, int | None]:
    try:
        if "," not in text:
            n = int(text)
            return n, n + 1
        lo, hi = text.split(",", 1)
        return (int(lo) if lo.strip() else None), (int(hi) if hi.strip() else None)
    except ValueError:
        raise TreeError(f"bad range {{{text}}}") from None


def apply_tree(value: Any, fields: tuple[Field, ...]) -> Any:
    if not isinstance(value, dict):
        return value
    out = {"_class": value["_class"]} if "_class" in value else {}
    for f in fields:
        if f.name in value:
            v = value[f.name]
            if isinstance(v, list):
                out[f.name] = [apply_tree(x, f.sub or ()) for x in v[f.lo : f.hi]]
            else:
                out[f.name] = apply_tree(v, f.sub or ())
    return out
