"""Who is calling and what their token may do.

Tokens: `FakeConfig.tokens` maps a token (personal or project access token) to a username; the
user is created on first start. REST calls send it as `PRIVATE-TOKEN: T`, `Authorization: Bearer T`
or `?private_token=T`; git over HTTP as the password of basic auth (any username, e.g. `oauth2`).

The rule (scopes, as GitLab token scopes; project membership is not modelled):

    scope             allows
    read_api          REST reads (GET, HEAD)
    api               REST reads and writes, git fetch and push
    read_repository   git fetch (clone, pull)
    write_repository  git fetch and push

Every user's token has all four scopes, except the users in `RULES`: `viewer` has only
`read_api` and `read_repository`. `FakeConfig.options["scopes.<username>"] = "read_api,read_repository"`
sets (overrides) a user's scopes. A missing or wrong token is 401 (`{"message": "401 Unauthorized"}`
on REST; `WWW-Authenticate: Basic realm="GitLab"` on git); a token without the scope is 403
(`{"message": "403 Forbidden"}` on REST; a text body on git).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

FULL = frozenset({"api", "read_api", "read_repository", "write_repository"})
READ_ONLY = frozenset({"read_api", "read_repository"})
RULES: dict[str, frozenset[str]] = {"viewer": READ_ONLY}


def scopes_for(username: str, options: Mapping[str, str]) -> frozenset[str]:
    override = options.get(f"scopes.{username}")
    if override is not None:
        return frozenset(s for s in override.replace(",", " ").split() if s)
    return RULES.get(username, FULL)


def may_read_api(scopes: frozenset[str]) -> bool:
    return bool(scopes & {"api", "read_api"})


def may_write_api(scopes: frozenset[str]) -> bool:
    return "api" in scopes


def may_fetch(scopes: frozenset[str]) -> bool:
    return bool(scopes & {"api", "read_repository", "write_repository"})


def may_push(scopes: frozenset[str]) -> bool:
    return bool(scopes & {"api", "write_repository"})


def api_token(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> str | None:
    if headers.get("private-token"):
        return headers["private-token"]
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    for name in ("private_token", "access_token"):
        if query.get(name):
            return query[name][-1]
    return None


def basic_password(headers: Mapping[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, sep, password = decoded.partition(":")
    return password if sep else None
