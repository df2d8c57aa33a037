"""Who is calling and what they may do: Harbor users, robot accounts, registry tokens.

Users come from `FakeConfig.tokens` (password -> username, checked with HTTP basic auth); those
named in `options["admins"]` (default "admin") are system admins, the others may create projects
and administer the projects they own. Anyone, anonymous included, may read and pull from public
projects. Robot accounts (`robot$...` + secret) may do exactly what their permissions list:
`{"kind": "project", "namespace": "<project>" or "*", "access": [{"resource", "action"}]}`, plus
`{"kind": "system", "namespace": "/", ...}` entries for system resources.

Registry tokens are JWTs (HS256 with a key of this fake) carrying the `access` claim the
distribution token spec defines; `/service/token` issues them for what the caller may do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fakes.harbor.http import HarborError
from fakes.harbor.store import Project, Robot, Store, robot_project

ROBOT_PREFIX = "robot$"
READ_ACTIONS = frozenset({"read", "list", "pull"})
TOKEN_TTL_S = 1800


@dataclass(frozen=True)
class Principal:
    name: str
    kind: str  # "user", "robot" or "anonymous"
    admin: bool = False
    robot: Robot | None = None

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"


ANONYMOUS = Principal("anonymous", "anonymous")


class Access:
    def __init__(self, store: Store, users: dict[str, str], admins: set[str]) -> None:
        self.store = store
        self.users = users  # username -> password
        self.admins = admins
        self.key = secrets.token_bytes(32)

    # -- authentication
    def from_basic(self, header: str) -> Principal | None:
        """The principal of an `Authorization: Basic ...` header; None if the credentials are wrong."""
        try:
            username, _, password = (
                base64.b64decode(header.split(" ", 1)[1], validate=True).decode().partition(":")
            )
        except (IndexError, binascii.Error, UnicodeDecodeError):
            return None
        if username.startswith(ROBOT_PREFIX):
            robot = self.store.robot_by_name(username)
            if robot is None or robot.disable or not hmac.compare_digest(robot.secret, password):
                return None
            if robot.expires_at != -1 and robot.expires_at < time.time():
                return None
            return Principal(username, "robot", robot=robot)
        expected = self.users.get(username)
        if expected is None or not hmac.compare_digest(expected, password):
            return None
        return Principal(username, "user", admin=username in self.admins)

    def authenticate(self, headers: dict[str, str]) -> Principal:
        """For the API: anonymous without credentials; wrong credentials are a 401."""
        auth = headers.get("authorization", "")
        if not auth:
            return ANONYMOUS
        if auth[:6].lower() == "basic ":
            principal = self.from_basic(auth)
            if principal is not None:
                return principal
        raise HarborError(401, "unauthorized")

    def user_id(self, name: str) -> int:
        """A stable id per user: 1 for admin (as in Harbor), then in name order."""
        others = sorted(u for u in self.users if u != "admin")
        return 2 + others.index(name) if name in others else 1

    # -- authorisation
    def can(self, who: Principal, project: Project, resource: str, action: str) -> bool:
        if who.admin:
            return True
        if project.public and action in READ_ACTIONS and resource != "robot":
            return True
        if who.kind == "user":
            return project.owner_name == who.name
        if who.robot is not None:
            return _robot_allows(who.robot, project.name, resource, action)
        return False

    def can_system(self, who: Principal, resource: str, action: str) -> bool:
        if who.admin:
            return True
        if who.kind == "user":
            return resource == "project" and action == "create"
        if who.robot is not None:
            return any(
                perm.get("kind") == "system" and _grants(perm, resource, action)
                for perm in who.robot.permissions
            )
        return False

    def sees(self, who: Principal, project: Project) -> bool:
        """Whether a project shows up for `who` at all."""
        if who.admin or project.public:
            return True
        if who.kind == "user":
            return project.owner_name == who.name
        if who.robot is not None:
            return any(
                perm.get("kind") == "project" and perm.get("namespace") in (project.name, "*")
                for perm in who.robot.permissions
            )
        return False

    def require(self, who: Principal, project: Project, resource: str, action: str) -> None:
        if not self.can(who, project, resource, action):
            deny(who)

    def manages_robot(self, who: Principal, robot: Robot) -> bool:
        if who.admin:
            return True
        project = self.store.project_by_name(robot_project(robot) or "")
        if project is None:
            return self.can_system(who, "robot", "read")
        return self.can(who, project, "robot", "read")

    # -- registry tokens
    def issue_token(self, who: Principal, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind == "repository" and name:
                granted = [a for a in actions.split(",") if self.registry_allows(who, name, a)]
                access.append({"type": "repository", "name": name, "actions": granted})
            elif kind == "registry" and name == "catalog":
                access.append({"type": "registry", "name": "catalog", "actions": ["*"] if who.admin else []})
        now = int(time.time())
        claims = {
            "iss": "harbor-token-issuer",
            "sub": who.name,
            "aud": "harbor-registry",
            "iat": now,
            "nbf": now - 5,
            "exp": now + TOKEN_TTL_S,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        header = {"typ": "JWT", "alg": "HS256"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self.key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def read_token(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this fake issued and that has not expired; None otherwise."""
        try:
            head, body, signature = token.split(".")
            expected = hmac.new(self.key, f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_unb64(signature), expected):
                return None
            claims: dict[str, Any] = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            return None
        return claims if claims.get("exp", 0) > time.time() else None

    def registry_allows(self, who: Principal, repository: str, action: str) -> bool:
        project = self.store.project_by_name(repository.split("/", 1)[0]) if "/" in repository else None
        if project is None:
            return False
        if action == "*":
            return who.admin
        resource = "artifact" if action == "delete" else "repository"
        return self.can(who, project, resource, action)


def deny(who: Principal) -> None:
    if who.authenticated:
        raise HarborError(403, "forbidden")
    raise HarborError(401, "unauthorized")


def _grants(perm: dict[str, Any], resource: str, action: str) -> bool:
    for access in perm.get("access") or []:
        if not isinstance(access, dict) or access.get("effect", "allow") == "deny":
            continue
        if access.get("resource") in (resource, "*") and access.get("action") in (action, "*"):
            return True
    return False


def _robot_allows(robot: Robot, project: str, resource: str, action: str) -> bool:
    for perm in robot.permissions:
        if perm.get("kind") != "project" or perm.get("namespace") not in (project, "*"):
            continue
        if _grants(perm, resource, action):
            return True
        if resource == "project" and action == "read":  # any grant in a project lets a robot see it
            return True
    return False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
