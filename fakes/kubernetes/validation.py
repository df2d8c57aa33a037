"""Validation with the apiserver's messages: each failure is a cause (reason, field, message) of a 422."""

from __future__ import annotations

from typing import Any

from fakes.kubernetes.meta import DNS_LABEL, DNS_SUBDOMAIN, quantity
from fakes.kubernetes.resources import Resource
from fakes.kubernetes.selectors import from_label_selector, labels_match

Cause = tuple[str, str, str]
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
RESTART_POLICIES = ("Always", "OnFailure", "Never")


def _required(field: str, detail: str = "") -> Cause:
    return ("FieldValueRequired", field, f"Required value{': ' + detail if detail else ''}")


def _invalid(field: str, value: Any, detail: str) -> Cause:
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    return ("FieldValueInvalid", field, f"Invalid value: {shown}: {detail}")


def _unsupported(field: str, value: Any, allowed: tuple[str, ...]) -> Cause:
    options = ", ".join(f'"{a}"' for a in allowed)
    return ("FieldValueNotSupported", field, f'Unsupported value: "{value}": supported values: {options}')


def check_name(name: str, *, label: bool, field: str = "metadata.name") -> list[Cause]:
    limit, pattern, message = (63, DNS_LABEL, LABEL_MSG) if label else (253, DNS_SUBDOMAIN, SUBDOMAIN_MSG)
    if not pattern.match(name):
        return [_invalid(field, name, message)]
    if len(name) > limit:
        return [_invalid(field, name, f"must be no more than {limit} characters")]
    return []


def validate(res: Resource, obj: dict[str, Any]) -> list[Cause]:
    meta = obj.get("metadata") or {}
    causes: list[Cause] = []
    if not meta.get("name"):
        causes.append(_required("metadata.name", "name or generateName is required"))
    else:
        causes += check_name(meta["name"], label=res.dns_label)
    spec = obj.get("spec") or {}
    if res.plural == "pods":
        causes += pod_spec(spec, "spec")
    elif res.plural in ("deployments", "replicasets"):
        causes += _workload(spec, res.plural == "deployments")
    elif res.plural == "jobs":
        causes += _job(spec)
    elif res.plural == "services":
        causes += _service(spec)
    return causes


def _workload(spec: dict[str, Any], deployment: bool) -> list[Cause]:
    causes: list[Cause] = []
    if not spec.get("selector"):
        causes.append(_required("spec.selector"))
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if spec.get("selector") and not labels_match(
        from_label_selector(spec["selector"]), {"metadata": {"labels": labels}}
    ):
        causes.append(
            _invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")
        )
    if int(spec.get("replicas", 1)) < 0:
        causes.append(_invalid("spec.replicas", spec["replicas"], "must be greater than or equal to 0"))
    tspec = template.get("spec") or {}
    causes += pod_spec(tspec, "spec.template.spec")
    if tspec.get("restartPolicy", "Always") != "Always":
        causes.append(_unsupported("spec.template.spec.restartPolicy", tspec["restartPolicy"], ("Always",)))
    return causes


def _job(spec: dict[str, Any]) -> list[Cause]:
    tspec = (spec.get("template") or {}).get("spec") or {}
    causes = pod_spec(tspec, "spec.template.spec")
    policy = tspec.get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        if policy is None:
            causes.append(_required("spec.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"'))
        else:
            causes.append(_unsupported("spec.template.spec.restartPolicy", policy, ("OnFailure", "Never")))
    for field in (
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ):
        if spec.get(field) is not None and int(spec[field]) < 0:
            causes.append(_invalid(f"spec.{field}", spec[field], "must be greater than or equal to 0"))
    return causes


def _service(spec: dict[str, Any]) -> list[Cause]:
    if (
        spec.get("type", "ClusterIP") != "ExternalName"
        and spec.get("clusterIP") != "None"
        and not spec.get("ports")
    ):
        return [_required("spec.ports")]
    return [
        _invalid(f"spec.ports[{i}].port", p.get("port"), "must be between 1 and 65535, inclusive")
        for i, p in enumerate(spec.get("ports") or [])
        if not (isinstance(p.get("port"), int) and 0 < p["port"] < 65536)
    ]


def pod_spec(spec: dict[str, Any], at: str) -> list[Cause]:
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        return [_required(f"{at}.containers")]
    policy = spec.get("restartPolicy", "Always")
    if policy not in RESTART_POLICIES:
        causes.append(_unsupported(f"{at}.restartPolicy", policy, RESTART_POLICIES))
    seen: set[str] = set()
    for kind in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(kind) or []):
            causes += _container(c, f"{at}.{kind}[{i}]", seen)
    return causes


def _container(c: dict[str, Any], at: str, seen: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = c.get("name")
    if not name:
        causes.append(_required(f"{at}.name"))
    elif name in seen:
        causes.append(("FieldValueDuplicate", f"{at}.name", f'Duplicate value: "{name}"'))
    else:
        causes += check_name(name, label=True, field=f"{at}.name")
        seen.add(name)
    if not c.get("image"):
        causes.append(_required(f"{at}.image"))
    for i, port in enumerate(c.get("ports") or []):
        value = port.get("containerPort")
        if not (isinstance(value, int) and 0 < value < 65536):
            causes.append(
                _invalid(f"{at}.ports[{i}].containerPort", value, "must be between 1 and 65535, inclusive")
            )
    for i, env in enumerate(c.get("env") or []):
        if not env.get("name"):
            causes.append(_required(f"{at}.env[{i}].name"))
        for ref in ("configMapKeyRef", "secretKeyRef"):
            spec = (env.get("valueFrom") or {}).get(ref)
            if spec is not None and not spec.get("key"):
                causes.append(_required(f"{at}.env[{i}].valueFrom.{ref}.key"))
    for kind in ("limits", "requests"):
        for resource, value in ((c.get("resources") or {}).get(kind) or {}).items():
            try:
                quantity(value)
            except ValueError as exc:
                causes.append(_invalid(f"{at}.resources.{kind}[{resource}]", value, str(exc)))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        handlers = [h for h in ("httpGet", "tcpSocket", "exec", "grpc") if h in (c.get(probe) or {})]
        if probe in c and len(handlers) != 1:
            causes.append(_required(f"{at}.{probe}", "must specify a handler type"))
    return causes
