"""Where the systems of a stack answer and with which credentials (`Endpoints`), and the control
plane's webhook secrets the stack is configured with (`ControlPlaneSecrets`).

`Endpoints.load(fakes_json, ...)` reads what `python -m fakes up --json FILE` writes: per fake its
`url` and a token per identity (`tokens`: identity -> token; S3 also `secrets`: identity -> secret
key, the token being the access key). How a token is presented is each system's own: GitLab
`PRIVATE-TOKEN`, Argo CD and Kubernetes `Authorization: Bearer`, Jenkins and Harbor HTTP Basic
(identity, token), S3 a SigV4 signature with (token, secret).

No repr shows a credential.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from appliance.contracts.settings import Settings
from appliance.ports.errors import PermanentError

REQUIRED = ("gitlab", "jenkins", "argocd", "harbor", "s3", "kubernetes", "alertmanager")


class Service(msgspec.Struct, frozen=True, kw_only=True):
    """One system: its base URL and the credentials of each identity it knows."""

    name: str = ""
    url: str
    kind: str = "fake"  # or "real": the real system (Alertmanager, when it is installed)
    tokens: dict[str, str] = msgspec.field(default_factory=dict)
    secrets: dict[str, str] = msgspec.field(default_factory=dict)

    def token(self, identity: str) -> str:
        if identity not in self.tokens:
            raise PermanentError(f"{self.name or self.url} has no identity {identity!r}", system=self.name)
        return self.tokens[identity]

    def secret(self, identity: str) -> str:
        if identity not in self.secrets:
            raise PermanentError(
                f"{self.name or self.url} has no secret key for {identity!r}", system=self.name
            )
        return self.secrets[identity]

    @property
    def host(self) -> str:
        """`host:port`, as image references and KUBERNETES_SERVICE_HOST/PORT name it."""
        return urlsplit(self.url).netloc

    def __repr__(self) -> str:
        return f"Service({self.name}, {self.url}, identities={sorted(self.tokens)})"


class Endpoints(msgspec.Struct, frozen=True, kw_only=True):
    gitlab: Service
    jenkins: Service
    argocd: Service
    harbor: Service
    s3: Service
    kubernetes: Service
    alertmanager: Service
    monitor: Service | None = None
    argocd_webhook_secret: str = ""  # what GitLab sends as X-Gitlab-Token to Argo CD's /api/webhook
    ci_config: str = ""  # the CI credentials file (PATHOPS_CI_CONFIG of the CI's builds)

    @classmethod
    def load(cls, fakes_json: Path, *, argocd_webhook_secret: str = "", ci_config: str = "") -> Endpoints:
        try:
            raw = msgspec.json.decode(fakes_json.read_bytes(), type=dict[str, Service])
        except (OSError, msgspec.DecodeError) as exc:
            raise PermanentError(f"cannot read the stack's endpoints from {fakes_json}: {exc}") from None
        named = {name: msgspec.structs.replace(service, name=name) for name, service in raw.items()}
        missing = sorted(set(REQUIRED) - set(named))
        if missing:
            raise PermanentError(f"{fakes_json} names no {', '.join(missing)}")
        return cls(
            gitlab=named["gitlab"],
            jenkins=named["jenkins"],
            argocd=named["argocd"],
            harbor=named["harbor"],
            s3=named["s3"],
            kubernetes=named["kubernetes"],
            alertmanager=named["alertmanager"],
            monitor=named.get("monitor"),
            argocd_webhook_secret=argocd_webhook_secret,
            ci_config=ci_config,
        )

    def services(self) -> list[Service]:
        found = [
            self.gitlab,
            self.jenkins,
            self.argocd,
            self.harbor,
            self.s3,
            self.kubernetes,
            self.alertmanager,
        ]
        return found + ([self.monitor] if self.monitor is not None else [])

    def __repr__(self) -> str:
        return "Endpoints(" + ", ".join(f"{s.name}={s.url}" for s in self.services()) + ")"


class ControlPlaneSecrets(msgspec.Struct, frozen=True, kw_only=True):
    """The control plane's webhook secrets (its Settings' alertmanager/gitlab/argocd secrets)."""

    gitlab: str
    argocd: str
    alertmanager: str

    @classmethod
    def of(cls, settings: Settings) -> ControlPlaneSecrets:
        return cls(
            gitlab=settings.gitlab_secret,
            argocd=settings.argocd_secret,
            alertmanager=settings.alertmanager_secret,
        )

    def __repr__(self) -> str:
        return "ControlPlaneSecrets(***)"
