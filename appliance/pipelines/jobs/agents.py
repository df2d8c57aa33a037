"""The jobs that schedule agents: each commits a Job manifest to `<app>-gitops/agents/` (Argo CD runs it).

The agent's callback token is stored in object storage, not in git (`Run.keep_callback_token`);
the Job names it in `CALLBACK_TOKEN_KEY`. `build-fix-agent` first builds the Fix Agent image: the
app's source at the failing commit in `/src`, run as `python -m appliance.agents fix`.
`schedule-evidence-collector` passes a security incident's `advisories` (JSON) on as `ADVISORIES`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from appliance.adapters.oci import build_layer, push_image
from appliance.logic import vulnerabilities
from appliance.pipelines import manifests
from appliance.pipelines.config import ConfigError
from appliance.pipelines.context import (
    EVIDENCE_BUCKET,
    Run,
    app_repo,
    gitops_repo,
    meta_repo,
)
from appliance.pipelines.git import Repo

log = logging.getLogger(__name__)
AGENT_COMMAND = ["python", "-m", "appliance.agents"]
FIX_AGENT_REPOSITORY = "fix-agent"


def _agent_env(run: Run, *, app: str, token_key: str) -> dict[str, str]:
    """What every agent gets; MINIO_BUCKET is the evidence bucket (snapshots), outputs have fixed buckets."""
    return {
        "APP_ID": app,
        "MINIO_ENDPOINT": run.config.s3.endpoint,
        "MINIO_BUCKET": EVIDENCE_BUCKET,
        "CONTROL_PLANE_CALLBACK_URL": run.input.callback_url,
        "CALLBACK_TOKEN_KEY": token_key,
    }


def _commit_job(run: Run, repo: Repo, path: str, manifest: dict[str, Any], message: str) -> str:
    """Commit the Job manifest to the gitops repo's default branch (once per key); the commit."""
    branch = repo.branch()
    found = repo.find_key("HEAD", run.key)
    if found is not None:
        log.info("%s is already committed as %s (key %s)", path, found[:12], run.key)
        return found
    repo.write({path: manifests.dump(manifest)})
    sha = repo.commit(message, run.key)
    return repo.push(branch) if sha is not None else repo.head()


async def schedule_evidence_collector(run: Run) -> None:
    app, env, incident, project = run.input.require("app", "env", "incident_id", "project")
    target_ns = run.input.get("target_namespace", f"{app}-{env}")
    agents_ns = run.input.get("agents_namespace", f"{app}-agents")
    token_key = await run.keep_callback_token()
    variables = _agent_env(run, app=app, token_key=token_key)
    variables |= {"INCIDENT_ID": incident, "ENV": env, "PROJECT": project, "TARGET_NAMESPACE": target_ns}
    variables |= {"TIME_WINDOW": run.input.get("time_window", "900")}
    if run.input.get("commit_sha"):
        variables["COMMIT_SHA"] = run.input.get("commit_sha")
    if run.input.get("advisories"):
        variables["ADVISORIES"] = _advisories(run.input.get("advisories"))
    name = manifests.dns_name(f"evidence-{incident}")
    manifest = manifests.agent_job(
        name=name, namespace=agents_ns, app=app, agent="evidence", image=run.config.agents.image,
        command=[*AGENT_COMMAND, "evidence"], env=variables, labels={"pathops.dev/incident": incident},
        secret=run.config.agents.secret,
    )  # fmt: skip
    repo = run.clone(gitops_repo(project, app))
    _commit_job(run, repo, f"agents/{name}.yaml", manifest, f"Evidence Collector for incident {incident}")


def _advisories(raw: str) -> str:
    """The `advisories` parameter (a security incident's, JSON), checked and made compact."""
    try:
        found = vulnerabilities.advisories(json.loads(raw))
    except ValueError as exc:
        raise ConfigError(f"parameter advisories: {exc}") from None
    return json.dumps(vulnerabilities.as_json(found), separators=(",", ":"))


async def build_fix_agent(run: Run) -> None:
    app, env, incident, project = run.input.require("app", "env", "incident_id", "project")
    snapshot, commit = run.input.require("snapshot_id", "commit_sha")
    source = run.clone(app_repo(project, app))
    sha = source.checkout_commit(commit)
    tag = manifests.image_tag(f"{incident}-{sha[:12]}")
    pushed = await push_image(
        registry_url=run.config.registry.url, repository=f"{project}/{FIX_AGENT_REPOSITORY}", tag=tag,
        layers=[build_layer(source.path, prefix="src")], cmd=[*AGENT_COMMAND, "fix"], workdir="/src",
        labels={"org.opencontainers.image.revision": sha, "org.opencontainers.image.source": app_repo(project, app),
                "dev.pathops.incident": incident},
        username=run.config.registry.username or None, password=run.config.registry.password or None,
    )  # fmt: skip
    image = f"{run.config.registry_host}/{project}/{FIX_AGENT_REPOSITORY}:{tag}"
    log.info("pushed %s (%s)", image, pushed.digest)
    token_key = await run.keep_callback_token()
    variables = _agent_env(run, app=app, token_key=token_key)
    variables |= {"INCIDENT_ID": incident, "ENV": env, "PROJECT": project, "SNAPSHOT_ID": snapshot}
    variables |= {"COMMIT_SHA": sha, "REPO": app_repo(project, app)}
    variables |= {"TARGET_NAMESPACE": run.input.get("target_namespace", f"{app}-{env}")}
    name = manifests.dns_name(f"fix-{incident}")
    manifest = manifests.agent_job(
        name=name, namespace=f"{app}-agents", app=app, agent="fix", image=image, command=None,
        env=variables, labels={"pathops.dev/incident": incident}, secret=run.config.agents.secret,
        pull_secret=run.config.agents.pull_secret or None,
    )  # fmt: skip
    repo = run.clone(gitops_repo(project, app))
    _commit_job(run, repo, f"agents/{name}.yaml", manifest, f"Fix Agent for incident {incident}")


async def schedule_verification(run: Run) -> None:
    preflight, app, project = run.input.require("preflight_id", "app", "project")
    namespace = run.input.get("namespace", f"{app}-preflight")
    agents_ns = run.input.get("agents_namespace", f"{app}-agents")
    repo = run.clone(gitops_repo(project, app))
    port = manifests.read_port(
        repo.show("HEAD", f"preflight/{manifests.PARAMS_FILE}"), f"{repo.project}/preflight/params.yaml"
    )
    meta = run.clone(meta_repo(project), shallow=True)
    contract = meta.show("HEAD", f"contracts/{app}.openapi.yaml")
    token_key = await run.keep_callback_token()
    variables = _agent_env(run, app=app, token_key=token_key)
    variables |= {"VERIFICATION_ID": f"ver-{preflight}", "PREFLIGHT_ID": preflight, "PROJECT": project}
    variables |= {"TARGET_ENV": "preflight"}
    try:
        target_url = run.config.agents.service_url.format(app=app, namespace=namespace, port=port)
    except (KeyError, IndexError, ValueError):
        raise ConfigError(f"agents.service_url {run.config.agents.service_url!r} is not a template of {{app}}, "
                          "{namespace}, {port}") from None  # fmt: skip
    variables |= {"TARGET_NAMESPACE": namespace, "TARGET_URL": target_url}
    variables |= {"CONTRACT": contract.decode() if contract is not None else ""}
    name = manifests.dns_name(f"verify-{preflight}")
    manifest = manifests.agent_job(
        name=name, namespace=agents_ns, app=app, agent="verify", image=run.config.agents.image,
        command=[*AGENT_COMMAND, "verify"], env=variables, labels={"pathops.dev/preflight": preflight},
        secret=run.config.agents.secret,
    )  # fmt: skip
    _commit_job(run, repo, f"agents/{name}.yaml", manifest, f"Verification Agent for preflight {preflight}")
