"""Small shared helpers: timestamps, names, quantities, owner references."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

ALNUM = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's generateName and pod-template-hash alphabet
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {
    None: 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stamp(at: float, *, nano: bool = False) -> str:
    when = dt.datetime.fromtimestamp(at, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f000Z" if nano else "%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(n))


def quantity(value: Any) -> float:
    """A Kubernetes quantity ("64Mi", "0.5", "100m", 1e6) as a float."""
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        raise ValueError(f"quantities must match the regular expression; got {value!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def dig(obj: Any, path: str, default: Any = None) -> Any:
    """`dig(pod, "status.phase")`; missing keys give `default`."""
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return default
        obj = obj[part]
    return obj


def owner_ref(owner: dict[str, Any], *, controller: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def controlled_by(obj: dict[str, Any], owner_uid: str) -> bool:
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    return any(r.get("uid") == owner_uid and r.get("controller") for r in refs)


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for c in dig(obj, "status.conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return None


def set_condition(
    status: dict[str, Any], kind: str, value: str, reason: str = "", message: str = "", *, touch: str = ""
) -> None:
    """Set a condition in `status`, keeping lastTransitionTime while the value holds.

    `touch` names a timestamp the kind also carries ("lastUpdateTime" for deployments, "lastProbeTime"
    for jobs), refreshed whenever reason or message change.
    """
    conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
    at = now()
    for c in conditions:
        if c["type"] == kind:
            changed = c.get("reason", "") != reason or c.get("message", "") != message
            if c["status"] != value:
                c["lastTransitionTime"] = at
                changed = True
            c["status"] = value
            if touch and changed:
                c[touch] = at
            _reason(c, reason, message)
            return
    new: dict[str, Any] = {"type": kind, "status": value, "lastTransitionTime": at}
    if touch:
        new[touch] = at
    _reason(new, reason, message)
    conditions.append(new)


def _reason(c: dict[str, Any], reason: str, message: str) -> None:
    for field, text in (("reason", reason), ("message", message)):
        if text:
            c[field] = text
        else:
            c.pop(field, None)
