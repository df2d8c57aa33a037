"""Payloads that arrive from outside: webhooks (in the sender's own shape) and agent/CI callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
MaybeId = Annotated[str, msgspec.Meta(max_length=200)]  # "" when not given
Slug = Annotated[str, msgspec.Meta(pattern=r"^([a-z0-9][a-z0-9-]{0,59})?$")]


class AlertmanagerAlert(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One alert of Alertmanager's webhook (version 4), as `../shared/data/alertmanager/` shows."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str = msgspec.field(default="", name="generatorURL")
    fingerprint: Id


class AlertmanagerWebhook(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str
    alerts: Annotated[list[AlertmanagerAlert], msgspec.Meta(max_length=1000)]
    group_labels: dict[str, str] = {}
    common_labels: dict[str, str] = {}
    common_annotations: dict[str, str] = {}
    external_url: str = msgspec.field(default="", name="externalURL")
    group_key: str = ""
    truncated_alerts: int = 0


class EvidenceCallback(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: Id
    snapshot_id: Id
    summary: Text = ""
    pointers: dict[str, str] = {}
    commit_sha: str | None = None


class FixCallback(msgspec.Struct, frozen=True, kw_only=True):
    """A patch in object storage (`status: patch`, the default), or the agent's word that it found no
    fix (`status: no_fix`, `reason`): the incident then stalls with that reason for a person."""

    incident_id: Id
    patch_id: MaybeId = ""
    status: Literal["patch", "no_fix"] = "patch"
    reason: Text = ""
    summary: Text = ""
    slug: Slug = ""  # the fix's short name: the MR branch is `<changeset>-fix-<slug>`
    recommended_checks: list[str] = []
    risk: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None


class FixPatchInline(msgspec.Struct, frozen=True, kw_only=True):
    """A small patch sent inline instead of through object storage."""

    incident_id: Id
    patch_id: Id
    base_sha: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{7,64}$")]
    diff: Annotated[str, msgspec.Meta(min_length=1, max_length=64_000)]
    summary: Text = ""
    slug: Slug = ""
    recommended_checks: list[str] = []


class ScanFinding(msgspec.Struct, frozen=True, kw_only=True):
    """One vulnerability a registry scan found in an image (Harbor's report, the fields PathOps reads)."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    package: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    version: Annotated[str, msgspec.Meta(max_length=200)]
    fix_version: Annotated[str, msgspec.Meta(max_length=200)] = ""
    severity: Annotated[str, msgspec.Meta(max_length=20)] = "Unknown"


class JenkinsCallback(msgspec.Struct, frozen=True, kw_only=True):
    """What a CI job posts back to /webhooks/jenkins (docs/golden-paths.md): which fields a job must
    send depends on `job` (create-mr-from-patch: changeset_id, mr_url; build: artifact_id, image, and
    the scan's vulnerabilities and outcome;
    deploy-preflight: preflight_id, revision; promote: artifact_id; rollback: incident_id, revision;
    schedule-verification reports only a failure, with preflight_id: its success is the agent's
    callback)."""

    status: Literal["success", "failure", "aborted"]
    job: Literal[
        "create-mr-from-patch", "build", "deploy-preflight", "schedule-verification", "promote", "rollback"
    ] = "create-mr-from-patch"
    changeset_id: MaybeId = ""
    incident_id: MaybeId = ""
    artifact_id: MaybeId = ""
    preflight_id: MaybeId = ""
    mr_url: str = ""
    mrs: dict[str, str] = {}  # app -> its MR, when a change set spans several apps
    image: str = ""
    digest: str = ""
    revision: str = ""
    commit_sha: Annotated[str, msgspec.Meta(pattern=r"^([0-9a-f]{7,64})?$")] = (
        ""  # create-mr-from-patch: the MR's head
    )
    # build: what the registry's scan of the pushed image found that blocks it (fixable High/Critical),
    # and the scan's outcome in one line ("" when no scan was asked for)
    vulnerabilities: Annotated[list[ScanFinding], msgspec.Meta(max_length=500)] = []
    scan: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    detail: Text = ""
    # a failure a rerun may cure (a system the job needs was unreachable, slow or answered 5xx), as
    # against one only a person's change can (a failing test, a patch that does not apply)
    retryable: bool = False


class VerificationCallback(msgspec.Struct, frozen=True, kw_only=True):
    app_id: Id
    env: Literal["preflight", "production"]
    verification_id: Id
    status: Literal["passed", "failed"]
    report_id: Id
    summary: Text = ""


class ArgoCdNotification(msgspec.Struct, frozen=True, kw_only=True):
    """The body of the Argo CD notifications webhook template PathOps installs."""

    app: Id
    sync_status: str = ""
    health_status: str = ""
    revision: str = ""
    trigger: str = ""
    message: Text = ""
    # the images of the app's desired state (`{{toJson .app.status.summary.images}}`): the deploy
    # that is live, whatever later commit of the repo Argo CD reports it at
    images: Annotated[list[Annotated[str, msgspec.Meta(max_length=500)]], msgspec.Meta(max_length=50)] = []


class Accepted(msgspec.Struct, frozen=True, kw_only=True):
    """The reply to any webhook or callback."""

    accepted: int = 0
    duplicates: int = 0
    instances: list[str] = []
    detail: dict[str, Any] = {}
