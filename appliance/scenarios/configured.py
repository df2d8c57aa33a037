"""A target described by a YAML file: a PathOps that is already running and the systems it governs.

    pathops:
      url: http://127.0.0.1:8765
      token_file: .pathops/owner.token        # or `token_env: PATHOPS_TOKEN`
    systems: .pathops/embedded/fakes.json     # a file, or a mapping {name: {url, tokens, kind}}

`systems` has the shape `pathops demo` writes to `<data-dir>/embedded/fakes.json`: per system its URL,
the credentials of each identity (`tokens.admin` of GitLab is used to commit as a developer) and its
`kind`. Access logs are read from the systems that are fakes (`kind: fake`); real systems keep
their own audit data, which this target does not read, so those checks are reported as skipped.

Scenarios share such a target (they cannot have one each), so they run one after the other; a
scenario with a `kill` step or a fault in a real system fails at that step, saying why.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import yaml

from appliance.scenarios.embedded import EmbeddedTarget, TargetError

NEEDED = ("gitlab", "alertmanager")


class ConfigError(ValueError):
    """The target file is missing, unreadable or lacks a field: the message names file and field."""


class ConfigTarget(EmbeddedTarget):
    name = "config"
    outlives = True

    def __init__(self, path: Path) -> None:
        self.path = path
        raw = _read(path)
        pathops = raw.get("pathops")
        if not isinstance(pathops, dict) or not isinstance(pathops.get("url"), str):
            raise ConfigError(f"{path}: pathops.url: required (the URL of the running PathOps)")
        super().__init__(path.parent)
        self.url = pathops["url"].rstrip("/")
        self._token = _token(path, pathops)
        self._systems = _systems(path, raw.get("systems"))

    def start(self, crashpoint: str = "") -> None:
        raise TargetError(f"the {self.name} target runs already; it cannot be started from here")

    def up(self) -> None:
        if not self.healthy():
            raise TargetError(f"PathOps at {self.url} does not answer /api/health")
        status = httpx.get(f"{self.url}/api/status", headers={"Authorization": f"Bearer {self._token}"},
                           timeout=30)  # fmt: skip
        if status.status_code != 200:
            raise TargetError(f"PathOps at {self.url} refused the token: {status.status_code}")

    def supervise(self) -> None:
        return None

    def kill(self, *, crashpoint: str = "", restart_after: float = 1.0) -> None:
        raise TargetError(f"the {self.name} target cannot kill its PathOps; use the embedded target")

    def down(self) -> None:
        return None

    def owner_token(self) -> str:
        return self._token

    def endpoints(self) -> dict[str, Any]:
        return self._systems

    def has_access_log(self, system: str) -> bool:
        return str(self._systems.get(system, {}).get("kind", "fake")) == "fake"


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the target file ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a mapping with `pathops` and `systems` is expected")
    return raw


def _token(path: Path, pathops: dict[str, Any]) -> str:
    if isinstance(pathops.get("token_env"), str):
        token = os.environ.get(pathops["token_env"], "")
        if not token:
            raise ConfigError(f"{path}: pathops.token_env: ${pathops['token_env']} is not set")
        return token
    if isinstance(pathops.get("token_file"), str):
        file: Path = (path.parent / pathops["token_file"]).expanduser()
        if not file.is_file():
            raise ConfigError(f"{path}: pathops.token_file: {file} does not exist")
        return file.read_text().strip()
    raise ConfigError(f"{path}: pathops: token_file or token_env is required (an owner's API token)")


def _systems(path: Path, systems: object) -> dict[str, Any]:
    if isinstance(systems, str):
        file = (path.parent / systems).expanduser()
        try:
            systems = yaml.safe_load(file.read_text())
        except (OSError, yaml.YAMLError):
            raise ConfigError(f"{path}: systems: {file} is not a readable JSON or YAML file") from None
    if not isinstance(systems, dict):
        raise ConfigError(f"{path}: systems: a file or a mapping of systems is required")
    for name in NEEDED:
        entry = systems.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise ConfigError(f"{path}: systems.{name}.url: required")
    if not isinstance(systems["gitlab"].get("tokens", {}).get("admin"), str):
        raise ConfigError(f"{path}: systems.gitlab.tokens.admin: required (commits are made as it)")
    return systems
