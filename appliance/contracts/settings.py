"""The appliance's settings: read once at the edge (entrypoints/settings.py), passed down typed."""

from __future__ import annotations

from pathlib import Path

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8765
    public_url: str = ""  # how agents and CI reach this appliance; default http://host:port
    target: str = "embedded"  # embedded | stack | path of a config YAML
    owner: str = "admin"
    jenkins_url: str = ""
    jenkins_user: str = ""
    jenkins_token: str = msgspec.field(default="", name="jenkins_token")
    gitlab_url: str = ""  # read-only use: merge request states, when a webhook was missed
    gitlab_token: str = ""
    argocd_url: str = ""  # read-only use: application sync and health, when a notification was missed
    argocd_token: str = ""
    s3_url: str = ""  # object storage (MinIO/S3): evidence bundles, patches and reports the console shows
    s3_access_key: str = ""
    s3_secret_key: str = ""
    reconcile_s: float = 10.0  # how often missed webhooks are looked for
    alertmanager_secret: str = ""
    gitlab_secret: str = ""
    argocd_secret: str = ""
    callback_key: str = ""
    crashpoint: str = ""
    evidence_timeout_s: int | None = None
    fix_timeout_s: int | None = None
    mr_timeout_s: int | None = None
    max_attempts: int | None = None
    log_level: str = "INFO"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "pathops.sqlite3"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def __repr__(self) -> str:  # never print secrets
        return f"Settings(data_dir={self.data_dir!s}, target={self.target}, url={self.base_url})"
