"""The agents' environment contract (docs/golden-paths.md, "Agents"), read once into typed settings.

Common to every agent:
    CONTROL_PLANE_CALLBACK_URL   base URL of PathOps; callbacks go to <url>/api/...
    CALLBACK_TOKEN               the job's one-time callback token, or, when unset,
    CALLBACK_TOKEN_KEY           the key of an object in bucket `pathops-evidence` that holds it
    MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MINIO_BUCKET (default pathops-evidence)
    INCIDENT_ID, APP_ID
Evidence: TARGET_NAMESPACE, TIME_WINDOW (seconds, default 3600), COMMIT_SHA (when the pods do not
    say it; with ADVISORIES, the commit they are about), ADVISORIES (a security incident's, JSON:
    [{id, package, version, fixed, severity}], put into `signals.advisories`), KUBE_TOKEN (else the service
    account's token file), KUBERNETES_SERVICE_HOST / _PORT (https when the port is 443 or 6443 or a CA
    file is mounted, else http; KUBERNETES_SERVICE_SCHEME forces one), KUBE_CA_FILE.
Fix: SNAPSHOT_ID, SOURCE_DIR (default the working directory), COMMIT_SHA (else <source>/.pathops-commit),
    REPO (default <PROJECT>/<APP_ID>), OPENAI_BASE_URL + OPENAI_MODEL (+ OPENAI_API_KEY) for the LLM.
Verify: VERIFICATION_ID (default PREFLIGHT_ID), PREFLIGHT_ID, TARGET_URL, CONTRACT (OpenAPI text),
    TARGET_ENV (preflight | production, default preflight), HEALTH_TIMEOUT (seconds, default 20).

A missing variable is a `PermanentError` naming it. `secrets()` lists the values never to print.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appliance.contracts.entities import Advisory
from appliance.logic import vulnerabilities
from appliance.ports.errors import PermanentError

EVIDENCE_BUCKET = "pathops-evidence"
PATCH_BUCKET = "pathops-patches"
REPORT_BUCKET = "pathops-reports"
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
SECRET_VARIABLES = ("CALLBACK_TOKEN", "MINIO_SECRET_KEY", "KUBE_TOKEN", "OPENAI_API_KEY")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise PermanentError(f"missing environment variable {name}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise PermanentError(f"{name} is not a number: {raw!r}") from None


def secrets(env: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(v for name in SECRET_VARIABLES if (v := env.get(name, "").strip()))


@dataclass(frozen=True)
class Common:
    callback_url: str
    callback_token: str  # "" when it is read from object storage
    callback_token_key: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    bucket: str
    incident_id: str
    app_id: str

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, incident: bool = True) -> Common:
        token = env.get("CALLBACK_TOKEN", "").strip()
        return cls(
            callback_url=_required(env, "CONTROL_PLANE_CALLBACK_URL"),
            callback_token=token,
            callback_token_key="" if token else _required(env, "CALLBACK_TOKEN_KEY"),
            s3_endpoint=_required(env, "MINIO_ENDPOINT"),
            s3_access_key=_required(env, "MINIO_ACCESS_KEY"),
            s3_secret_key=_required(env, "MINIO_SECRET_KEY"),
            bucket=env.get("MINIO_BUCKET", "").strip() or EVIDENCE_BUCKET,
            incident_id=_required(env, "INCIDENT_ID") if incident else env.get("INCIDENT_ID", ""),
            app_id=_required(env, "APP_ID"),
        )


@dataclass(frozen=True)
class Kube:
    url: str
    token: str
    ca_file: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Kube:
        host = _required(env, "KUBERNETES_SERVICE_HOST")
        port = env.get("KUBERNETES_SERVICE_PORT", "").strip() or "443"
        configured = env.get("KUBE_CA_FILE", "").strip()
        if configured and not os.path.isfile(configured):
            raise PermanentError(f"KUBE_CA_FILE {configured} does not exist")
        mounted = str(SERVICE_ACCOUNT / "ca.crt")
        ca_file = configured or (mounted if os.path.isfile(mounted) else None)
        scheme = env.get("KUBERNETES_SERVICE_SCHEME", "").strip() or (
            "https" if port in ("443", "6443") or ca_file else "http"
        )
        token = env.get("KUBE_TOKEN", "").strip()
        if not token and (SERVICE_ACCOUNT / "token").is_file():
            token = (SERVICE_ACCOUNT / "token").read_text().strip()
        if not token:
            raise PermanentError("missing environment variable KUBE_TOKEN")
        shown = f"[{host}]" if ":" in host else host
        return cls(url=f"{scheme}://{shown}:{port}", token=token, ca_file=ca_file)


@dataclass(frozen=True)
class EvidenceSettings:
    common: Common
    kube: Kube
    namespace: str
    window_s: int
    commit_sha: str  # "" unless the Job knows it; the pods' annotation wins, unless there are advisories
    advisories: tuple[Advisory, ...] = ()  # what a registry scan of `commit_sha` found

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EvidenceSettings:
        window = int(_number(env, "TIME_WINDOW", 3600))
        if window <= 0:
            raise PermanentError(f"TIME_WINDOW must be positive, not {window}")
        namespace, sha = _required(env, "TARGET_NAMESPACE"), env.get("COMMIT_SHA", "").strip()
        raw = env.get("ADVISORIES", "").strip()
        try:
            advisories = vulnerabilities.advisories(json.loads(raw)) if raw else ()
        except ValueError as exc:
            raise PermanentError(f"ADVISORIES is not a JSON list of advisories: {exc}") from None
        return cls(Common.from_env(env), Kube.from_env(env), namespace, window, sha, advisories)


@dataclass(frozen=True)
class LlmSettings:
    base_url: str
    api_key: str
    model: str


@dataclass(frozen=True)
class FixSettings:
    common: Common
    snapshot_id: str
    source_dir: Path
    commit_sha: str
    repo: str
    llm: LlmSettings | None

    @classmethod
    def from_env(cls, env: Mapping[str, str], cwd: Path) -> FixSettings:
        common = Common.from_env(env)
        source = Path(env.get("SOURCE_DIR", "").strip() or cwd)
        if not source.is_dir():
            raise PermanentError(f"source directory {source} does not exist")
        sha = env.get("COMMIT_SHA", "").strip()
        marker = source / ".pathops-commit"
        if not sha and marker.is_file():
            sha = marker.read_text().strip()
        if not sha:
            raise PermanentError(
                "missing environment variable COMMIT_SHA (and no .pathops-commit in the source)"
            )
        project = env.get("PROJECT", "").strip()
        repo = env.get("REPO", "").strip() or (f"{project}/{common.app_id}" if project else common.app_id)
        base, model = env.get("OPENAI_BASE_URL", "").strip(), env.get("OPENAI_MODEL", "").strip()
        llm = LlmSettings(base, env.get("OPENAI_API_KEY", "").strip(), model) if base and model else None
        return cls(common, _required(env, "SNAPSHOT_ID"), source, sha, repo, llm)


@dataclass(frozen=True)
class VerifySettings:
    common: Common
    verification_id: str
    target_url: str
    contract: str
    env: str
    health_timeout_s: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> VerifySettings:
        verification = env.get("VERIFICATION_ID", "").strip() or _required(env, "PREFLIGHT_ID")
        target_env = env.get("TARGET_ENV", "").strip() or "preflight"
        if target_env not in ("preflight", "production"):
            raise PermanentError(f"TARGET_ENV must be preflight or production, not {target_env!r}")
        return cls(
            common=Common.from_env(env, incident=False),
            verification_id=verification,
            target_url=_required(env, "TARGET_URL").rstrip("/"),
            contract=env.get("CONTRACT", ""),
            env=target_env,
            health_timeout_s=_number(env, "HEALTH_TIMEOUT", 20.0),
        )
