"""Which function runs each CI job, what it does (for `--help`), and which ids its callback names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from appliance.pipelines.context import Run
from appliance.pipelines.jobs import agents, mr, release

Job = Callable[[Run], Awaitable[dict[str, Any] | None]]

JOBS: dict[str, tuple[Job, str]] = {
    "schedule-evidence-collector": (
        agents.schedule_evidence_collector,
        "commit agents/evidence-<incident>.yaml (an Evidence Collector Job in <app>-agents) to <app>-gitops",
    ),
    "build-fix-agent": (
        agents.build_fix_agent,
        "clone <project>/<app> at commit_sha, push image <registry>/<project>/fix-agent:<incident>-<sha12> "
        "with the source in /src, commit agents/fix-<incident>.yaml to <app>-gitops",
    ),
    "create-mr-from-patch": (
        mr.create_mr_from_patch,
        "apply pathops-patches/patches/<patch_id>.json at its base_sha, push `branch`, open the MR, record "
        "it in <project>-meta/incidents/<incident>.yaml; calls back /webhooks/jenkins",
    ),
    "build": (
        release.build,
        "clone <project>/<app> at commit_sha, run its ci/ tests, push <registry>/<project>/<app>:<sha12>; "
        "calls back /webhooks/jenkins",
    ),
    "deploy-preflight": (
        release.deploy_preflight,
        "render the app's deploy/*.yaml at commit_sha into <app>-gitops/preflight/ (${IMAGE}, ${PORT}); "
        "calls back /webhooks/jenkins",
    ),
    "schedule-verification": (
        agents.schedule_verification,
        "commit agents/verify-<preflight>.yaml (a Verification Agent Job) to <app>-gitops",
    ),
    "merge-mr": (
        mr.merge_mr,
        "merge the change set's MR at the head that passed preflight (the autopilot's approval at level 2)",
    ),
    "promote": (
        release.promote,
        "render the app's deploy/ into <app>-gitops/production/ on branch promote-<artifact>, open and "
        "merge the MR; calls back /webhooks/jenkins",
    ),
    "rollback": (
        release.rollback,
        "production back to an earlier verified release (autonomy level 3): render the app's deploy/ at "
        "commit_sha with image into <app>-gitops/production/ on branch rollback-<incident>, open and merge "
        "the MR; calls back /webhooks/jenkins",
    ),
}

# the ids each job's /webhooks/jenkins callback names; jobs absent here report through their agent
CALLBACK_IDS: dict[str, tuple[str, ...]] = {
    "create-mr-from-patch": ("changeset_id",),
    "build": ("artifact_id", "changeset_id"),
    "deploy-preflight": ("preflight_id",),
    "schedule-verification": ("preflight_id",),
    "promote": ("artifact_id",),
    "rollback": ("incident_id",),
}
