"""What the Verification Agent reads from an OpenAPI 3 document: the GET paths without path
parameters, the statuses each declares, and the JSON schema of a response, checked with jsonschema.

OpenAPI 3.0 schemas are JSON Schema draft 4 with `nullable` (turned into a `null` type here); 3.1
schemas are JSON Schema 2020-12. Local `$ref`s (`#/components/...`) resolve against the document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema
import yaml
from referencing.exceptions import Unresolvable

from appliance.ports.errors import PermanentError

JSON_TYPES = ("application/json", "*/*")


def parse(text: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PermanentError(f"CONTRACT is not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3"):
        raise PermanentError("CONTRACT is not an OpenAPI 3 document")
    return doc


def get_paths(doc: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, responses) of each GET operation whose path has no `{parameter}`."""
    found = []
    for path, item in (doc.get("paths") or {}).items():
        operation = (item or {}).get("get") if isinstance(item, dict) else None
        if isinstance(operation, dict) and "{" not in str(path):
            found.append((str(path), dict(operation.get("responses") or {})))
    return found


def _resolve(doc: Mapping[str, Any], node: Any) -> Any:
    """`node`, or what its local `$ref` points at (followed up to 10 times)."""
    for _ in range(10):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not (isinstance(ref, str) and ref.startswith("#/")):
            return node
        node = doc
        for part in ref[2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node


def declared(responses: Mapping[str, Any], status: int) -> str | None:
    """The `responses` key that covers `status` (exact, `2XX`, or `default`), or None."""
    for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
        if key in responses:
            return key
    return None


def _json_schema(node: Any, openapi_30: bool) -> Any:
    if isinstance(node, list):
        return [_json_schema(n, openapi_30) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v, openapi_30) for k, v in node.items() if not (openapi_30 and k == "nullable")}
    if openapi_30 and node.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def check_body(doc: Mapping[str, Any], response: Any, body: bytes) -> str | None:
    """None when `body` matches the response's JSON schema (or it declares none), else what is wrong."""
    response = _resolve(doc, response)
    content = (response or {}).get("content") or {} if isinstance(response, dict) else {}
    media = next((m for m in content if m in JSON_TYPES or str(m).endswith("+json")), None)
    schema = (content.get(media) or {}).get("schema") if media else None
    if schema is None:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    openapi_30 = not str(doc.get("openapi", "")).startswith("3.1")
    root = {
        **_json_schema(schema, openapi_30),
        "components": _json_schema(doc.get("components") or {}, openapi_30),
    }
    validator_class = jsonschema.Draft4Validator if openapi_30 else jsonschema.Draft202012Validator
    try:
        error = jsonschema.exceptions.best_match(validator_class(root).iter_errors(value))
    except Unresolvable as exc:  # a $ref the document does not hold
        return f"the contract's schema does not resolve: {exc}"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{error.message[:160]} at {where}"
