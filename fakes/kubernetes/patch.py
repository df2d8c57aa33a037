"""The PATCH flavours: JSON merge patch (RFC 7386), strategic merge patch, JSON patch (RFC 6902).

Strategic merge knows the merge keys of the fields the fake serves (containers by name, env by name,
container ports by containerPort, ...); lists without a merge key are replaced, as the apiserver does.
Directives: `$patch: replace|delete|merge` on maps and list items, `$deleteFromPrimitiveList/<field>`;
`$setElementOrder/<field>` and `$retainKeys` are accepted and ignored.
"""

from __future__ import annotations

import copy
from typing import Any

from fakes.kubernetes.errors import ApiError, bad_request

MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "imagePullSecrets": "name", "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey", "secrets": "name", "resourceClaims": "name",
}  # fmt: skip
PRIMITIVE_SETS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return MERGE_KEYS.get(field)


def strategic_merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return _strip(copy.deepcopy(patch))
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return None
    result = dict(target)
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            merged = strategic_merge(result[key], value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = _strip(copy.deepcopy(value))
    return result


def _merge_list(field: str, current: list[Any], patch: list[Any]) -> list[Any]:
    if field in PRIMITIVE_SETS:
        return current + [v for v in patch if v not in current]
    key = _merge_key(field, current + patch)
    if key is None:
        replaced = [i for i in patch if not (isinstance(i, dict) and i.get("$patch"))]
        return list(_strip(copy.deepcopy(replaced)))
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return list(_strip([i for i in patch if not (isinstance(i, dict) and i.get("$patch"))]))
    result = list(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise bad_request(f"map: {item!r} does not contain declared merge key: {key}")
        index = next(
            (n for n, c in enumerate(result) if isinstance(c, dict) and c.get(key) == item[key]), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(_strip(copy.deepcopy(item)))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> tuple[Any, str]:
    for part in parts[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc, parts[-1]


def json_patch(target: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise bad_request("a JSON patch is a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        try:
            doc = _apply(doc, op)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(
                422,
                "Invalid",
                f"the server rejected our request due to an error in our request: {op!r}: {exc!r}",
            ) from None
    return doc


def _apply(doc: Any, op: dict[str, Any]) -> Any:
    kind, parts = op["op"], _pointer(op["path"])
    if kind == "test":
        value: Any = doc
        for part in parts:
            value = value[int(part)] if isinstance(value, list) else value[part]
        if value != op["value"]:
            raise ValueError("testing value failed")
        return doc
    if kind in ("move", "copy"):
        source, name = _parent(doc, _pointer(op["from"]))
        value = source[int(name)] if isinstance(source, list) else source[name]
        if kind == "move":
            doc = _apply(doc, {"op": "remove", "path": op["from"]})
        return _apply(doc, {"op": "add", "path": op["path"], "value": copy.deepcopy(value)})
    if not parts:
        return copy.deepcopy(op["value"]) if kind in ("add", "replace") else None
    parent, name = _parent(doc, parts)
    if kind == "remove":
        parent.pop(int(name) if isinstance(parent, list) else name)
    elif kind == "add" and isinstance(parent, list):
        parent.insert(len(parent) if name == "-" else int(name), copy.deepcopy(op["value"]))
    elif kind in ("add", "replace"):
        if isinstance(parent, list):
            parent[int(name)] = copy.deepcopy(op["value"])
        else:
            if kind == "replace" and name not in parent:
                raise KeyError(name)
            parent[name] = copy.deepcopy(op["value"])
    else:
        raise ValueError(f"unknown op {kind}")
    return doc
