"""What a use case can refuse, each mapped to one HTTP status at the edge (entrypoints/api/errors.py)."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400


class Unauthorized(ServiceError):
    """No credential, or one we do not know (401)."""

    status = 401


class Forbidden(ServiceError):
    """A known credential that may not do this (403)."""

    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    """The request clashes with what already happened, e.g. a callback token used before (409)."""

    status = 409


class Invalid(ServiceError):
    """Well-formed but unacceptable input (422)."""

    status = 422
