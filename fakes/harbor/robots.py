"""Robot accounts (`/api/v2.0/robots`): system robots `robot$<name>`, project robots
`robot$<project>+<name>`, each with a secret and a list of permissions (see access.py).
"""

from __future__ import annotations

import re
import secrets
import string
import time
from typing import Any

from fakes.harbor.access import ROBOT_PREFIX, Access, deny
from fakes.harbor.http import HarborError, Request, Response, now_iso, paginate, parse_q, sort_by
from fakes.harbor.store import Robot, Store, robot_project

NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")  # as project names
WEAK_SECRET = "the secret needs 8 to 128 characters with a digit, a lower and an upper case letter"


class Robots:
    def __init__(self, store: Store, access: Access) -> None:
        self.store, self.access = store, access

    def _robot(self, req: Request) -> Robot:
        if not req.principal.authenticated:
            raise HarborError(401, "unauthorized")
        raw = req.params["robot_id"]
        robot = self.store.robots.get(int(raw)) if raw.lstrip("-").isdigit() else None
        if robot is None:
            raise HarborError(404, f"robot {raw} not found")
        if not self.access.manages_robot(req.principal, robot):
            deny(req.principal)
        req.object = f"robot {robot.name}"
        return robot

    async def list_robots(self, req: Request) -> Response:
        if not req.principal.authenticated:
            raise HarborError(401, "unauthorized")
        conds = parse_q(req.arg("q"))
        items = []
        for robot in sorted(self.store.robots.values(), key=lambda r: r.id):
            if not self.access.manages_robot(req.principal, robot):
                continue
            if "Level" in conds and not conds["Level"].matches(robot.level):
                continue
            if "ProjectID" in conds:
                project = self.store.project_by_name(robot_project(robot) or "")
                if project is None or not conds["ProjectID"].matches(str(project.project_id)):
                    continue
            if "name" in conds and not conds["name"].matches(robot.name):
                continue
            items.append(_robot_json(robot))
        page, headers = paginate(req, sort_by(req, items), "/api/v2.0/robots")
        return Response(200, page, headers)

    async def create_robot(self, req: Request) -> Response:
        if not req.principal.authenticated:
            raise HarborError(401, "unauthorized")
        body = req.json_object()
        name, level = body.get("name"), body.get("level")
        if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > 255:
            raise HarborError(400, "robot name must match [a-z0-9]+(?:[._-][a-z0-9]+)*")
        if level not in ("system", "project"):
            raise HarborError(400, "level must be 'system' or 'project'")
        duration = body.get("duration", -1)
        if not isinstance(duration, int) or isinstance(duration, bool) or (duration != -1 and duration <= 0):
            raise HarborError(400, "duration must be either -1(Never) or a positive integer")
        permissions = _permissions(body.get("permissions"))
        if level == "project":
            if len(permissions) != 1 or permissions[0]["kind"] != "project":
                raise HarborError(400, "a project robot has exactly one permission, of kind 'project'")
            project = self.store.project_by_name(permissions[0]["namespace"])
            if project is None:
                raise HarborError(404, f"project {permissions[0]['namespace']} not found")
            self.access.require(req.principal, project, "robot", "create")
            full = f"{ROBOT_PREFIX}{project.name}+{name}"
        else:
            if not self.access.can_system(req.principal, "robot", "create"):
                deny(req.principal)
            for perm in permissions:
                missing = perm["namespace"] != "*" and self.store.project_by_name(perm["namespace"]) is None
                if perm["kind"] == "project" and missing:
                    raise HarborError(404, f"project {perm['namespace']} not found")
            full = f"{ROBOT_PREFIX}{name}"
        secret = body.get("secret") or _new_secret()
        if not isinstance(secret, str) or not _strong(secret):
            raise HarborError(400, WEAK_SECRET)
        if self.store.robot_by_name(full) is not None:
            raise HarborError(409, f"robot account {full} already exists")
        at = now_iso()
        expires = -1 if duration == -1 else int(time.time()) + duration * 86400
        description = body.get("description") if isinstance(body.get("description"), str) else ""
        robot = Robot(self.store.new_id("robots"), full, secret, level, duration, expires, permissions, at, at,
                      description=description, disable=body.get("disable") is True, creator=req.principal.name)  # fmt: skip
        self.store.robots[robot.id] = robot
        self.store.save()
        req.object = f"robot {full}"
        created = {"id": robot.id, "name": full, "secret": secret, "creation_time": at, "expires_at": expires}
        return Response(201, created, [("Location", f"/api/v2.0/robots/{robot.id}")])

    async def get_robot(self, req: Request) -> Response:
        return Response(200, _robot_json(self._robot(req)))

    async def refresh_robot_secret(self, req: Request) -> Response:
        robot = self._robot(req)
        secret = req.json_object().get("secret") or _new_secret()
        if not isinstance(secret, str) or not _strong(secret):
            raise HarborError(400, WEAK_SECRET)
        robot.secret, robot.update_time = secret, now_iso()
        self.store.save()
        return Response(200, {"secret": secret})

    async def delete_robot(self, req: Request) -> Response:
        robot = self._robot(req)
        self.store.robots.pop(robot.id, None)
        self.store.save()
        return Response(200)


def _robot_json(robot: Robot) -> dict[str, Any]:
    return {
        "id": robot.id,
        "name": robot.name,
        "description": robot.description,
        "level": robot.level,
        "duration": robot.duration,
        "editable": True,
        "disable": robot.disable,
        "expires_at": robot.expires_at,
        "permissions": robot.permissions,
        "creator_type": "local",
        "creator_ref": 1,
        "creation_time": robot.creation_time,
        "update_time": robot.update_time,
    }


def _permissions(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise HarborError(400, "a robot needs at least one permission")
    permissions = []
    for perm in raw:
        if not isinstance(perm, dict) or perm.get("kind") not in ("project", "system"):
            raise HarborError(400, "a permission has kind 'project' or 'system'")
        namespace = perm.get("namespace")
        if not isinstance(namespace, str) or not namespace:
            raise HarborError(400, "a permission needs a namespace")
        if perm["kind"] == "system" and namespace != "/":
            raise HarborError(400, "a system permission has namespace '/'")
        access = perm.get("access")
        if not isinstance(access, list) or not access:
            raise HarborError(400, "a permission needs a list of access")
        cleaned = []
        for entry in access:
            if not isinstance(entry, dict):
                raise HarborError(400, "an access is an object with resource and action")
            resource, action, effect = (
                entry.get("resource"),
                entry.get("action"),
                entry.get("effect", "allow"),
            )
            if not isinstance(resource, str) or not resource or not isinstance(action, str) or not action:
                raise HarborError(400, "an access needs a resource and an action")
            if effect not in ("allow", "deny", "", None):
                raise HarborError(400, f"invalid effect {effect!r}")
            cleaned.append({"resource": resource, "action": action, **({"effect": effect} if effect else {})})
        permissions.append({"kind": perm["kind"], "namespace": namespace, "access": cleaned})
    return permissions


def _new_secret() -> str:
    while True:
        secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        if _strong(secret):
            return secret


def _strong(secret: str) -> bool:
    return (
        8 <= len(secret) <= 128
        and any(c.isdigit() for c in secret)
        and any(c.islower() for c in secret)
        and any(c.isupper() for c in secret)
    )
