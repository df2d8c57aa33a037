"""What the Jenkins fake keeps: jobs (from jobs.yaml or a posted config.xml), queue items and builds.

A job's truth is its parameter definitions and its steps (each an argv run as a local process);
its config.xml is kept as posted, or rendered for a job defined in YAML. Parameters follow
`ParametersDefinitionProperty.buildWithParameters`: every definition takes the submitted value
or its default, and submitted names that no definition declares are dropped (SECURITY-170).
"""

from __future__ import annotations

import re
import shlex
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

FREESTYLE, PIPELINE = "hudson.model.FreeStyleProject", "org.jenkinsci.plugins.workflow.job.WorkflowJob"
RUN_CLASS = {
    FREESTYLE: "hudson.model.FreeStyleBuild",
    PIPELINE: "org.jenkinsci.plugins.workflow.job.WorkflowRun",
}
KINDS = {  # parameter type -> (definition class suffix, value class suffix)
    "string": ("StringParameterDefinition", "StringParameterValue"),
    "text": ("TextParameterDefinition", "TextParameterValue"),
    "boolean": ("BooleanParameterDefinition", "BooleanParameterValue"),
    "choice": ("ChoiceParameterDefinition", "StringParameterValue"),
    "password": ("PasswordParameterDefinition", "PasswordParameterValue"),
}
NAME = re.compile(r"^(?!\.{1,2}$)(?!\s)[^/\\:?*\"<>|#%&;\[\]@!$^]+(?<!\s)$")  # Jenkins.checkGoodName


class JobError(ValueError):
    """A job definition or a submitted parameter that Jenkins would refuse (400)."""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class ParamDef:
    name: str
    kind: str = "string"
    default: str = ""
    description: str = ""
    choices: tuple[str, ...] = ()

    def value_of(self, submitted: list[str] | None) -> str:
        if not submitted:
            return self.choices[0] if self.kind == "choice" and self.choices else self.default
        if len(submitted) != 1:
            raise JobError(f"Illegal number of parameter values for {self.name}: {len(submitted)}")
        value = submitted[0]
        if self.kind == "boolean":
            return "true" if value.lower() == "true" else "false"
        if self.kind == "choice" and value not in self.choices:
            raise JobError(f"Illegal choice for parameter {self.name}: {value}")
        return value


@dataclass
class Build:
    job: str
    number: int
    queue_id: int
    params: list[tuple[str, str]]
    user: str
    timestamp: int = field(default_factory=now_ms)
    duration: int = 0
    result: str | None = None
    building: bool = True
    workspace: str = ""
    console: bytearray = field(default_factory=bytearray)
    aborted_by: str | None = None

    def record(self) -> dict[str, Any]:
        keys = (
            "job",
            "number",
            "queue_id",
            "user",
            "timestamp",
            "duration",
            "result",
            "building",
            "workspace",
        )
        return {k: getattr(self, k) for k in keys} | {"params": [list(p) for p in self.params]}

    @classmethod
    def from_record(cls, data: dict[str, Any], console: bytes) -> Build:
        build = cls(
            **{k: v for k, v in data.items() if k != "params"}, params=[tuple(p) for p in data["params"]]
        )
        build.console = bytearray(console)
        return build


@dataclass
class QueueItem:
    id: int
    job: str
    params: list[tuple[str, str]]
    user: str
    in_queue_since: int = field(default_factory=now_ms)
    buildable_at: int = 0  # end of the quiet period (ms)
    state: str = "waiting"  # waiting | buildable | left
    cancelled: bool = False
    build_number: int | None = None
    root_url: str = ""  # Jenkins' root URL as the triggering client saw it (BUILD_URL, JENKINS_URL)


@dataclass
class Job:
    name: str
    params: list[ParamDef] = field(default_factory=list)
    steps: list[list[str]] = field(default_factory=lambda: [["true"]])
    timeout_s: float = 600.0
    description: str = ""
    disabled: bool = False
    kind: str = PIPELINE
    config_xml: str = ""
    next_build_number: int = 1
    builds: dict[int, Build] = field(default_factory=dict)

    def resolve(
        self, submitted: dict[str, list[str]], *, keep_undefined: bool = False
    ) -> list[tuple[str, str]]:
        values = [(p.name, p.value_of(submitted.get(p.name))) for p in self.params]
        if keep_undefined:
            declared = {p.name for p in self.params}
            values += [(k, v[-1]) for k, v in submitted.items() if k not in declared and v]
        return values

    def param(self, name: str) -> ParamDef | None:
        return next((p for p in self.params if p.name == name), None)

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "steps": self.steps,
            "timeout_s": self.timeout_s,
            "next_build_number": self.next_build_number,
        }


# --- jobs.yaml -----------------------------------------------------------------------------------


def load_yaml_jobs(path: Path, *, default_timeout: float) -> list[Job]:
    """`name: {parameters: [NAME | {name, type, default, description, choices}], command: [argv], timeout: s}`."""
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise JobError(f"{path}: a mapping of job name to job is expected")
    return [yaml_job(str(name), spec or {}, default_timeout=default_timeout) for name, spec in data.items()]


def yaml_job(name: str, spec: dict[str, Any], *, default_timeout: float) -> Job:
    if not NAME.match(name):
        raise JobError(f"{name!r} is not a valid job name")
    params = []
    for p in spec.get("parameters") or []:
        p = {"name": p} if isinstance(p, str) else dict(p)
        kind = str(p.get("type", "string"))
        if kind not in KINDS:
            raise JobError(f"job {name}: parameter type {kind!r} is not one of {', '.join(KINDS)}")
        default = p.get("default", "")
        default = ("true" if default else "false") if isinstance(default, bool) else str(default)
        params.append(ParamDef(str(p["name"]), kind, default, str(p.get("description", "")),
                               tuple(str(c) for c in p.get("choices") or ())))  # fmt: skip
    command = spec.get("command") or ["true"]
    if isinstance(command, str):
        command = ["/bin/sh", "-xe", "-c", command]
    job = Job(
        name=name,
        params=params,
        steps=[[str(a) for a in command]],
        timeout_s=float(spec.get("timeout", default_timeout)),
        description=str(spec.get("description", "")),
        disabled=bool(spec.get("disabled", False)),
    )
    job.config_xml = render_pipeline_xml(job)
    return job


# --- config.xml ----------------------------------------------------------------------------------


def _param_xml(p: ParamDef) -> str:
    cls = f"hudson.model.{KINDS[p.kind][0]}"
    inner = f"<name>{escape(p.name)}</name><description>{escape(p.description)}</description>"
    if p.kind == "choice":
        items = "".join(f"<string>{escape(c)}</string>" for c in p.choices)
        inner += f'<choices class="java.util.Arrays$ArrayList"><a class="string-array">{items}</a></choices>'
    else:
        inner += f"<defaultValue>{escape(p.default)}</defaultValue>"
    return f"<{cls}>{inner}</{cls}>"


def _properties_xml(params: list[ParamDef]) -> str:
    if not params:
        return "<properties/>"
    defs = "".join(_param_xml(p) for p in params)
    return (
        "<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
        f"{defs}</parameterDefinitions></hudson.model.ParametersDefinitionProperty></properties>"
    )


def render_pipeline_xml(job: Job) -> str:
    script = "node {\n" + "".join(f"  sh '{_groovy(shlex.join(s))}'\n" for s in job.steps) + "}"
    return (
        "<?xml version='1.1' encoding='UTF-8'?>\n"
        '<flow-definition plugin="workflow-job">'
        f"<description>{escape(job.description)}</description><keepDependencies>false</keepDependencies>"
        f"{_properties_xml(job.params)}"
        '<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">'
        f"<script>{escape(script)}</script><sandbox>true</sandbox></definition>"
        f"<triggers/><disabled>{str(job.disabled).lower()}</disabled></flow-definition>\n"
    )


def _groovy(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


SH_STEP = re.compile(r"""\bsh\s*\(?\s*(?:script\s*:\s*)?'((?:[^'\\]|\\.)*)'""")


def job_from_xml(name: str, xml: str, *, default_timeout: float) -> Job:
    """A job from a posted config.xml: freestyle `<project>` (shell builders) or `<flow-definition>`."""
    if not NAME.match(name):
        raise JobError(f"{name!r} is not a valid job name")
    try:
        root = ET.fromstring(xml.strip())
    except ET.ParseError as exc:
        raise JobError(f"Failed to parse config.xml: {exc}") from None
    params = []
    for d in root.iterfind("./properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions/*"):
        kind = next((k for k, (cls, _) in KINDS.items() if d.tag.endswith(cls)), "string")
        choices = tuple(s.text or "" for s in d.iterfind("./choices//string"))
        params.append(ParamDef(d.findtext("name", ""), kind, d.findtext("defaultValue", ""),
                               d.findtext("description", ""), choices))  # fmt: skip
    if root.tag == "flow-definition":
        script = root.findtext("./definition/script", "")
        steps = [["/bin/sh", "-xe", "-c", re.sub(r"\\(.)", r"\1", m)] for m in SH_STEP.findall(script)]
        kind = PIPELINE
    else:
        steps = [
            ["/bin/sh", "-xe", "-c", c.text or ""]
            for c in root.iterfind("./builders/hudson.tasks.Shell/command")
        ]
        kind = FREESTYLE
    return Job(
        name=name,
        params=[p for p in params if p.name],
        steps=steps or [["true"]],
        timeout_s=default_timeout,
        description=root.findtext("description", ""),
        disabled=root.findtext("disabled", "false").strip() == "true",
        kind=kind,
        config_xml=xml,
    )
