"""Validate what the fake sends against the official OpenAPI schemas (`components/schemas`).

`tests/fixtures/kubernetes/schemas.json` holds the schemas the tests need, with their `$ref` closure, taken unchanged (but for
descriptions) from ../shared/specs/kubernetes/*_openapi.json. Strict mode also rejects properties the
schema does not declare, so a misspelt field in the fake fails too.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPECS = json.loads((Path(__file__).parents[2] / "fixtures" / "kubernetes" / "schemas.json").read_text())[
    "schemas"
]
PREFIX = {"v1": "io.k8s.api.core.v1", "apps/v1": "io.k8s.api.apps.v1", "batch/v1": "io.k8s.api.batch.v1"}
META = "io.k8s.apimachinery.pkg.apis.meta.v1"


def _closed(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not any(k.startswith("x-kubernetes-preserve") for k in out)
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


@cache
def _validator(name: str, strict: bool) -> jsonschema.protocols.Validator:
    schemas = _closed(copy.deepcopy(SPECS)) if strict else SPECS
    root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}}
    cls = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
    return cls(root)


def schema_name(obj: dict[str, Any]) -> str:
    kind, api_version = obj["kind"], obj.get("apiVersion", "v1")
    if kind in ("Status", "APIResourceList"):
        return f"{META}.{kind}"
    if kind == "Scale":
        return "io.k8s.api.autoscaling.v1.Scale"
    return f"{PREFIX[api_version]}.{kind}"


def validate(obj: dict[str, Any], name: str | None = None, *, strict: bool = True) -> None:
    """Raise `jsonschema.ValidationError` unless `obj` matches its schema (named by kind, or `name`)."""
    errors = sorted(_validator(name or schema_name(obj), strict).iter_errors(obj), key=lambda e: list(e.path))
    if errors:
        lines = [f"{'.'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:10]]
        raise jsonschema.ValidationError("\n".join(lines))


ROOTS = [f"io.k8s.api.core.v1.{k}{s}" for k in ("Pod", "Event", "Namespace", "ConfigMap", "Secret", "Service",
                                                 "ServiceAccount", "Node") for s in ("", "List")]  # fmt: skip
ROOTS += [f"io.k8s.api.apps.v1.{k}{s}" for k in ("Deployment", "ReplicaSet") for s in ("", "List")]
ROOTS += ["io.k8s.api.batch.v1.Job", "io.k8s.api.batch.v1.JobList", "io.k8s.api.autoscaling.v1.Scale"]
ROOTS += [f"{META}.{k}" for k in ("Status", "WatchEvent", "APIResourceList")]


def extract(source: Path, target: Path = Path(__file__).parent / "specs" / "schemas.json") -> None:
    """Regenerate specs/schemas.json from the official OpenAPI documents (run by hand)."""
    everything: dict[str, Any] = {}
    for name in ("api__v1_openapi.json", "apis__apps__v1_openapi.json", "apis__batch__v1_openapi.json"):
        everything.update(json.loads((source / name).read_text())["components"]["schemas"])
    keep: dict[str, Any] = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep[name] = everything[name]
            todo += [r.rsplit("/", 1)[-1] for r in _refs(everything[name])]
    source_note = "components.schemas of ../shared/specs/kubernetes/*_openapi.json (descriptions dropped)"
    target.write_text(
        json.dumps({"source": source_note, "schemas": _undescribed(keep)}, indent=1, sort_keys=True)
    )


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _undescribed(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _undescribed(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_undescribed(v) for v in node]
    return node
