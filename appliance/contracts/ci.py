"""The CI jobs PathOps triggers, and the parameters each declares (docs/golden-paths.md).

Jenkins drops parameters a job does not declare, so every job declares the three the control plane
adds to each trigger as well (`COMMON`). The Jenkinsfiles in appliance/pipelines/jenkins declare the
same lists; a test holds them equal.
"""

from __future__ import annotations

COMMON = ("PATHOPS_IDEMPOTENCY_KEY", "CALLBACK_URL", "CALLBACK_TOKEN")

JOBS: dict[str, tuple[str, ...]] = {
    "schedule-evidence-collector": (
        "app",
        "env",
        "incident_id",
        "project",
        "target_namespace",
        "agents_namespace",
        "time_window",
        "commit_sha",
        "advisories",  # JSON: a security incident's advisories (a registry scan), for the bundle's signals
    ),
    "build-fix-agent": (
        "app",
        "env",
        "incident_id",
        "project",
        "snapshot_id",
        "commit_sha",
        "target_namespace",
    ),
    "create-mr-from-patch": ("changeset_id", "project", "branch", "title", "patch_id", "apps", "origin"),
    "build": ("app", "project", "commit_sha", "artifact_id"),
    "deploy-preflight": ("preflight_id", "app", "project", "image", "commit_sha", "artifact_id"),
    "schedule-verification": ("preflight_id", "app", "project", "namespace", "agents_namespace"),
    "promote": ("artifact_id", "app", "project", "image", "commit_sha", "report_id", "approved_by"),
    "merge-mr": ("changeset_id", "project", "app", "mr_url", "commit_sha"),
    "rollback": ("incident_id", "app", "project", "artifact_id", "image", "commit_sha", "report_id"),
}


def parameters(job: str) -> tuple[str, ...]:
    """Every parameter `job` declares, its own first."""
    return (*JOBS[job], *COMMON)
