"""What the CI writes into gitops repositories: agent Jobs and the app's rendered deploy files.

- `agent_job(...)`: a batch/v1 Job in `<app>-agents` (backoffLimit 3, no TTL, restartPolicy Never)
  whose secrets come from `secretKeyRef`s of the Secret `pathops-agent` (keys `access_key`,
  `secret_key`, `kube_token`), never as values: nothing secret is committed.
- `render(text, image=..., port=...)`: an app's `deploy/*.yaml` with `${IMAGE}` and `${PORT}` filled.
- Kubernetes names and label values made valid from ids (`dns_name`, `label_value`), image tags too.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import yaml

from appliance.ports.errors import PermanentError

BACKOFF_LIMIT = 3
SECRET_ENV = {"MINIO_ACCESS_KEY": "access_key", "MINIO_SECRET_KEY": "secret_key", "KUBE_TOKEN": "kube_token"}
PARAMS_FILE = "params.yaml"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def dns_name(text: str, *, limit: int = 63) -> str:
    """A DNS-1123 label from `text` (lower case, `a-z0-9-`); shortened with a hash when too long."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"
    if len(name) > limit:
        name = f"{name[: limit - 9].rstrip('-')}-{_short_hash(text)}"
    return name


def label_value(text: str) -> str:
    """A valid label value (<= 63 of `A-Za-z0-9._-`, alphanumeric at both ends)."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")
    if len(value) > 63:
        value = f"{value[:54].rstrip('-._')}-{_short_hash(text)}"
    return value


def image_tag(text: str) -> str:
    """A valid OCI tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`)."""
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).lstrip(".-") or "latest"
    return tag if len(tag) <= 128 else f"{tag[:119]}-{_short_hash(text)}"


def agent_job(
    *,
    name: str,
    namespace: str,
    app: str,
    agent: str,
    image: str,
    command: list[str] | None,
    env: dict[str, str],
    labels: dict[str, str],
    secret: str,
    pull_secret: str | None = None,
) -> dict[str, Any]:
    """The Job that runs `agent` for `app` in `namespace` (`<app>-agents`); no `command`: the image's Cmd."""
    all_labels = {
        "app": label_value(app),
        "app.kubernetes.io/managed-by": "pathops",
        "pathops.dev/agent": agent,
        **{k: label_value(v) for k, v in labels.items()},
    }
    variables: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in env.items()]
    variables += [
        {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for var, key in SECRET_ENV.items()
    ]
    container: dict[str, Any] = {"name": agent, "image": image}
    if command:
        container["command"] = command
    container["env"] = variables
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    if pull_secret:
        pod["imagePullSecrets"] = [{"name": pull_secret}]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": dns_name(name), "namespace": namespace, "labels": all_labels},
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "template": {"metadata": {"labels": all_labels}, "spec": pod},
        },
    }


def dump(manifest: dict[str, Any]) -> bytes:
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, width=1000).encode()


def render(text: str, *, image: str, port: int, commit: str = "") -> str:
    """The app's manifest with its placeholders filled: `${IMAGE}`, `${PORT}` and `${COMMIT_SHA}`."""
    text = text.replace("${IMAGE}", image).replace("${PORT}", str(port))
    return text.replace("${COMMIT_SHA}", commit) if commit else text


def read_port(content: bytes | None, where: str) -> int:
    """`port` of a `params.yaml` ({port: N})."""
    if content is None:
        raise PermanentError(f"{where} is missing: it must hold the environment's port ({{port: N}})")
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError:
        raise PermanentError(f"{where} is not valid YAML") from None
    port = data.get("port") if isinstance(data, dict) else None
    if not isinstance(port, int) or not 0 < port < 65536:
        raise PermanentError(f"{where} has no valid port (want {{port: N}}, got {data!r})")
    return port
