"""Label selectors (`app=web,tier in (a,b),!legacy`) and field selectors (`status.phase=Running`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fakes.kubernetes.errors import bad_request
from fakes.kubernetes.meta import dig

_SET = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*$")

COMMON_FIELDS = ("metadata.name", "metadata.namespace")
FIELDS: dict[str, tuple[str, ...]] = {
    "pods": ("status.phase", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
             "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName"),
    "events": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
               "reason", "reportingComponent", "source", "type"),
    "secrets": ("type",),
    "namespaces": ("status.phase",),
    "nodes": ("spec.unschedulable",),
    "apps/replicasets": ("status.replicas",),
    "batch/jobs": ("status.successful",),
}  # fmt: skip


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "in", "notin", "exists", "!exists" ("=" and "!=" become "in" / "notin")
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        if self.op == "in":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values


Selector = tuple[Requirement, ...]


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_labels(text: str | None) -> Selector:
    reqs: list[Requirement] = []
    for part in _split(text or ""):
        if m := _SET.match(part):
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(Requirement(m.group(1), m.group(2), values))
        elif m := _EQ.match(part):
            reqs.append(Requirement(m.group(1), "notin" if m.group(2) == "!=" else "in", (m.group(3),)))
        elif m := _EXISTS.match(part):
            reqs.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists"))
        else:
            raise bad_request(f"unable to parse requirement: {part.strip()!r}")
    return tuple(reqs)


def from_label_selector(selector: dict[str, Any] | None) -> Selector:
    """A `LabelSelector` object (matchLabels, matchExpressions) as requirements."""
    selector = selector or {}
    reqs = [Requirement(k, "in", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in selector.get("matchExpressions") or []:
        reqs.append(Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ())))
    return tuple(reqs)


def labels_match(selector: Selector, obj: dict[str, Any]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(r.matches(labels) for r in selector)


def parse_fields(text: str | None, resource_key: str) -> Callable[[dict[str, Any]], bool]:
    checks: list[tuple[str, bool, str]] = []
    allowed = COMMON_FIELDS + FIELDS.get(resource_key, ())
    for part in _split(text or ""):
        m = _EQ.match(part)
        if m is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part.strip()}'")
        if m.group(1) not in allowed:
            raise bad_request(f"field label not supported: {m.group(1)}")
        path = "source.component" if m.group(1) == "source" else m.group(1)
        checks.append((path, m.group(2) != "!=", m.group(3)))

    def match(obj: dict[str, Any]) -> bool:
        for path, equal, value in checks:
            got = dig(obj, path, "")
            got = ("true" if got else "false") if isinstance(got, bool) else str(got)
            if (got == value) != equal:
                return False
        return True

    return match
