"""What a CI job is given: credentials (the JSON file named by PATHOPS_CI_CONFIG) and its parameters.

Jenkins passes each build parameter as an environment variable under its own name and upper-cased,
so `app` is read from `app` or `APP`. The credentials file (docs/golden-paths.md, "CI jobs"):

    {"gitlab": {"url", "token"},
     "registry": {"url", "host", "username", "password", "project", "scan", "scan_timeout_s"},
     "s3": {"endpoint", "access_key", "secret_key"},
     "agents": {"image", "kube_host", "kube_port", "service_url", "secret", "pull_secret"}}

A missing or malformed file, or a missing parameter, is a `ConfigError` (a retry cannot help).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec

from appliance.contracts.ci import COMMON, JOBS
from appliance.ports.errors import PermanentError

CONFIG_ENV = "PATHOPS_CI_CONFIG"
KEY_PARAM, URL_PARAM, TOKEN_PARAM = COMMON


class ConfigError(PermanentError):
    def __init__(self, message: str) -> None:
        super().__init__(message, system="ci")


class GitLabConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    token: str


class RegistryConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str  # how the CI reaches it, e.g. http://127.0.0.1:5000
    host: str = ""  # how image references name it (the cluster pulls from there); default: url's host
    username: str = ""
    password: str = ""
    project: str = ""  # the Harbor project when a job has no `project` parameter
    scan: bool = True  # `build` asks Harbor's API (at `url`, as `username`) for a scan of what it pushed
    scan_timeout_s: float = 300.0  # how long `build` waits for the scan's report


class S3Config(msgspec.Struct, frozen=True, kw_only=True):
    endpoint: str
    access_key: str
    secret_key: str


class AgentsConfig(msgspec.Struct, frozen=True, kw_only=True):
    image: str = "local/pathops-agents:dev"  # evidence and verification agents
    kube_host: str = ""
    kube_port: int | str = ""
    service_url: str = "http://{app}.{namespace}.svc:{port}"  # the verification target
    secret: str = "pathops-agent"  # access_key, secret_key, kube_token in <app>-agents
    pull_secret: str = "pathops-registry"  # dockerconfigjson for the fix agent image, if it exists


class CiConfig(msgspec.Struct, frozen=True, kw_only=True):
    gitlab: GitLabConfig
    registry: RegistryConfig
    s3: S3Config
    agents: AgentsConfig = AgentsConfig()

    @property
    def registry_host(self) -> str:
        return self.registry.host or self.registry.url.split("://", 1)[-1].rstrip("/")

    def secrets(self) -> tuple[str, ...]:
        """Values that must never be printed."""
        values = (self.gitlab.token, self.registry.password, self.s3.secret_key)
        return tuple(v for v in values if v)


def load_config(environ: Mapping[str, str]) -> CiConfig:
    name = environ.get(CONFIG_ENV, "")
    if not name:
        raise ConfigError(f"{CONFIG_ENV} is not set: it names the CI credentials file")
    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{CONFIG_ENV} names {name}, which cannot be read: {exc.strerror}") from None
    try:
        return msgspec.json.decode(raw, type=CiConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"the CI credentials file {name} is not as expected: {exc}") from None
    except msgspec.DecodeError:
        raise ConfigError(f"the CI credentials file {name} is not JSON") from None


@dataclass(frozen=True)
class JobInput:
    """The parameters of one run of `job`, as Jenkins passed them."""

    job: str
    values: dict[str, str]

    @classmethod
    def from_env(cls, job: str, environ: Mapping[str, str]) -> JobInput:
        names = (*JOBS[job], *COMMON)
        values = {}
        for name in names:
            value = environ.get(name, environ.get(name.upper(), ""))
            values[name] = value.strip()
        return cls(job, values)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name) or default

    def require(self, *names: str) -> tuple[str, ...]:
        missing = [n for n in names if not self.values.get(n)]
        if missing:
            raise ConfigError(f"job {self.job}: parameter {', '.join(missing)} is missing")
        return tuple(self.values[n] for n in names)

    @property
    def key(self) -> str:
        return self.require(KEY_PARAM)[0]

    @property
    def callback_url(self) -> str:
        return self.get(URL_PARAM).rstrip("/")

    @property
    def callback_token(self) -> str:
        return self.get(TOKEN_PARAM)
