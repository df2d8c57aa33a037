"""What every use case needs, built once by the composition root (appliance/bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.ports.clock import Clock, Ids
from appliance.ports.store import Store
from appliance.services.crashpoints import Crashpoints
from appliance.services.engine import Engine


@dataclass(frozen=True)
class WebhookSecrets:
    """One secret per webhook source, in the form that source sends it."""

    alertmanager: str  # Alertmanager http_config.authorization: `Authorization: Bearer <secret>`
    gitlab: str  # GitLab project hook secret token: `X-Gitlab-Token: <secret>`
    argocd: str  # Argo CD notifications webhook header: `Authorization: Bearer <secret>`


@dataclass(frozen=True)
class Context:
    store: Store
    engine: Engine
    clock: Clock
    ids: Ids
    secrets: WebhookSecrets
    incident_policy: dict[str, Any] = field(default_factory=dict)
    crashpoints: Crashpoints = field(default_factory=Crashpoints)
