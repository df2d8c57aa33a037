"""A container's environment and command line, resolved as the kubelet does it: `env` (value with
$(VAR) expansion, valueFrom configMapKeyRef / secretKeyRef / fieldRef / resourceFieldRef), `envFrom`,
and command/args over the image's Entrypoint/Cmd. A missing object or key is a `ConfigError`, which the
kubelet reports as CreateContainerConfigError."""

from __future__ import annotations

import base64
import re
from typing import Any

from fakes.kubernetes.meta import dig, quantity
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.resources import CONFIGMAPS, SECRETS
from fakes.kubernetes.store import Obj

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_FIELD = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


class ConfigError(Exception):
    pass


def expand(text: str, env: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REF.sub(sub, text)


def _source(
    registry: Registry, kind: str, namespace: str, name: str, optional: bool
) -> dict[str, str] | None:
    res = CONFIGMAPS if kind == "ConfigMap" else SECRETS
    obj = registry.find(res, namespace, name)
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{"configmap" if kind == "ConfigMap" else "secret"} "{name}" not found')
    if kind == "ConfigMap":
        return {**{k: str(v) for k, v in (obj.get("data") or {}).items()},
                **{k: base64.b64decode(v).decode(errors="replace") for k, v in (obj.get("binaryData") or {}).items()}}  # fmt: skip
    return {k: base64.b64decode(v).decode(errors="replace") for k, v in (obj.get("data") or {}).items()}


def _key_ref(registry: Registry, kind: str, namespace: str, ref: dict[str, Any]) -> str | None:
    optional = bool(ref.get("optional"))
    values = _source(registry, kind, namespace, ref.get("name", ""), optional)
    if values is None:
        return None
    if ref["key"] not in values:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {ref['key']} in {kind} {namespace}/{ref.get('name', '')}")
    return values[ref["key"]]


def _field(pod: Obj, path: str) -> str:
    if match := _FIELD.match(path):
        return str((pod["metadata"].get(match.group(1)) or {}).get(match.group(2), ""))
    if path == "status.podIPs":
        return ",".join(ip["ip"] for ip in dig(pod, "status.podIPs") or [])
    value = dig(pod, path)
    if value is None and path not in ("status.podIP", "status.hostIP"):
        raise ConfigError(f"unsupported fieldRef {path}")
    return "" if value is None else str(value)


def resolve(registry: Registry, pod: Obj, container: dict[str, Any], base: dict[str, str]) -> dict[str, str]:
    namespace = pod["metadata"]["namespace"]
    env = dict(base)
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source:
                ref = source[key]
                values = _source(registry, kind, namespace, ref.get("name", ""), bool(ref.get("optional")))
                env.update({prefix + k: v for k, v in (values or {}).items()})
    for var in container.get("env") or []:
        frm = var.get("valueFrom")
        if frm is None:
            env[var["name"]] = expand(str(var.get("value", "")), env)
            continue
        value: str | None
        if "configMapKeyRef" in frm:
            value = _key_ref(registry, "ConfigMap", namespace, frm["configMapKeyRef"])
        elif "secretKeyRef" in frm:
            value = _key_ref(registry, "Secret", namespace, frm["secretKeyRef"])
        elif "fieldRef" in frm:
            value = _field(pod, frm["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in frm:
            value = _resource(container, frm["resourceFieldRef"])
        else:
            raise ConfigError(f"unsupported valueFrom for {var['name']}")
        if value is not None:
            env[var["name"]] = value
    return env


def _resource(container: dict[str, Any], ref: dict[str, Any]) -> str:
    kind, _, name = str(ref.get("resource", "")).partition(".")
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    if value is None:
        return "0"
    divisor = quantity(ref.get("divisor", "1"))
    return str(int(-(-quantity(value) // divisor)))


def command_line(container: dict[str, Any], config: dict[str, Any], env: dict[str, str]) -> list[str]:
    """command replaces the image's Entrypoint (and drops its Cmd); args replaces Cmd."""
    command = container.get("command")
    args = container.get("args")
    entrypoint = list(command) if command else list(config.get("Entrypoint") or [])
    default_args = [] if command else list(config.get("Cmd") or [])
    rest = list(args) if args is not None else default_args
    return [expand(str(part), env) for part in entrypoint + rest]
