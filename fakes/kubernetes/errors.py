"""API errors as the apiserver sends them: `Status` objects with a reason, details and an HTTP code.

ApiError(code, reason, message, details)
  400 BadRequest   malformed body, unsupported selector, name mismatch
  401 Unauthorized no or unknown bearer token
  403 Forbidden    RBAC said no, or a namespace is terminating
  404 NotFound     object or namespace missing
  405 MethodNotAllowed
  409 AlreadyExists / Conflict (stale resourceVersion)
  410 Expired      watch from a resourceVersion older than the history
  415 UnsupportedMediaType
  422 Invalid      failed validation (details.causes lists the fields)
"""

from __future__ import annotations

from typing import Any

from fakes.kubernetes.resources import Resource


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(res: Resource, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    return details


def _qualified(res: Resource) -> str:
    return f"{res.plural}.{res.group}" if res.group else res.plural


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(res)} "{name}" not found', _details(res, name))


def namespace_not_found(name: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})


def already_exists(res: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{_qualified(res)} "{name}" already exists', _details(res, name))


def conflict(res: Resource, name: str, why: str = "") -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(res)} "{name}": {why}',
        _details(res, name),
    )


def invalid(res: Resource, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """`causes` are (reason, field, message), e.g. ("FieldValueRequired", "spec.containers", "Required value")."""
    text = ", ".join(f"{field}: {message}" for _, field, message in causes)
    details = _details(res, name) | {"kind": res.kind}
    details["causes"] = [{"reason": r, "message": m, "field": f} for r, f, m in causes]
    prefix = f'{res.kind} "{name}" is invalid' if name else f"{res.kind} is invalid"
    joined = f"[{text}]" if len(causes) > 1 else text
    return ApiError(422, "Invalid", f"{prefix}: {joined}", details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(
    user: str, verb: str, res: Resource | None, resource: str, namespace: str, name: str = ""
) -> ApiError:
    group = res.group if res is not None else ""
    what = f'{resource} "{name}"' if name else resource
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = f'{what} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{group}" {where}'
    details: dict[str, Any] = {"kind": resource.split("/")[0]}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return ApiError(403, "Forbidden", message, details)


def terminating(res: Resource, name: str, namespace: str) -> ApiError:
    message = (
        f'{res.plural} "{name}" is forbidden: unable to create new content in namespace {namespace} '
        "because it is being terminated"
    )
    return ApiError(403, "Forbidden", message, _details(res, name))


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def success(res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata", {})
    details = _details(res, meta.get("name", "")) | {"uid": meta.get("uid", "")}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
