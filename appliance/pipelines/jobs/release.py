"""The release jobs: `build` (tests, then the app's image), `deploy-preflight`, `promote` and
`rollback` (gitops).

- build: `<project>/<app>` at `commit_sha`; `python -m unittest discover -s ci` when `ci/` exists
  (a failing test fails the build); the source under `/app` as one layer; Cmd and WorkingDir from
  `deploy/image.yaml` ({cmd, workdir}) or `["python", "/app/app.py"]` in `/app`; pushed as
  `<registry>/<project>/<app>:<sha12>`. The image depends on the content alone: a rebuild is the same digest.
  Then Harbor scans it (pipelines/scan.py); the callback carries the findings that block a release
  (`vulnerabilities`: fixable High/Critical) and the scan's outcome (`scan`).
- deploy-preflight: the app's `deploy/*.yaml` at `commit_sha` (not `image.yaml`), `${IMAGE}` and
  `${PORT}` filled (port from `preflight/params.yaml`), written to `<app>-gitops/preflight/` and pushed.
- promote: the same rendering with `production/params.yaml`'s port into `production/`, on branch
  `promote-<artifact_id>`; the MR is opened and merged (the approval was given in PathOps).
- rollback: a promotion of an earlier verified release (`artifact_id`, `image`, `commit_sha`) on branch
  `rollback-<incident_id>`; calls back with `incident_id` (autonomy level 3).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from typing import Any

import msgspec
import yaml

from appliance.adapters.gitlab import wire
from appliance.adapters.gitlab.http import enc
from appliance.adapters.oci import build_layer, push_image
from appliance.pipelines import manifests
from appliance.pipelines.context import Run, app_repo, gitops_repo
from appliance.pipelines.git import Repo
from appliance.pipelines.scan import scan_image
from appliance.ports.errors import PermanentError, TransientError

log = logging.getLogger(__name__)
TEST_TIMEOUT_S = 900
DEFAULT_CMD, DEFAULT_WORKDIR = ["python", "/app/app.py"], "/app"
IMAGE_SPEC = "deploy/image.yaml"
MERGE_ATTEMPTS = 10


# -- build


def _run_tests(repo: Repo) -> None:
    if not (repo.path / "ci").is_dir():
        log.info("%s has no ci/: no tests to run", repo.project)
        return
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME", "TMPDIR")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "unittest", "discover", "-s", "ci"], cwd=repo.path, env=env,
            capture_output=True, text=True, timeout=TEST_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise PermanentError(f"the tests in ci/ took longer than {TEST_TIMEOUT_S}s") from None
    sys.stderr.write(done.stderr[-20000:])
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        failed = [line for line in lines if line.startswith(("FAIL:", "ERROR:"))]
        last = lines[-1] if lines else f"exit code {done.returncode}"
        raise PermanentError(f"tests failed: {last}" + (f" ({'; '.join(failed[:3])})" if failed else ""))


def _image_spec(repo: Repo) -> tuple[list[str], str]:
    spec_file = repo.path / IMAGE_SPEC
    if not spec_file.is_file():
        return DEFAULT_CMD, DEFAULT_WORKDIR
    try:
        spec = yaml.safe_load(spec_file.read_text()) or {}
    except yaml.YAMLError:
        raise PermanentError(f"{IMAGE_SPEC} is not valid YAML") from None
    cmd = spec.get("cmd", DEFAULT_CMD) if isinstance(spec, dict) else None
    if not isinstance(cmd, list) or not cmd or not all(isinstance(a, str) for a in cmd):
        raise PermanentError(f"{IMAGE_SPEC}: cmd must be a list of strings")
    return cmd, str(spec.get("workdir") or DEFAULT_WORKDIR)


async def build(run: Run) -> dict[str, Any]:
    app, project, commit, artifact = run.input.require("app", "project", "commit_sha", "artifact_id")
    repo = run.clone(app_repo(project, app))
    sha = repo.checkout_commit(commit)
    await asyncio.to_thread(_run_tests, repo)
    cmd, workdir = _image_spec(repo)
    tag = sha[:12]
    pushed = await push_image(
        registry_url=run.config.registry.url, repository=f"{project}/{app}", tag=tag,
        layers=[build_layer(repo.path, prefix="app")], cmd=cmd, workdir=workdir,
        labels={"org.opencontainers.image.revision": sha, "org.opencontainers.image.source": repo.project},
        username=run.config.registry.username or None, password=run.config.registry.password or None,
    )  # fmt: skip
    image = f"{run.config.registry_host}/{project}/{app}:{tag}"
    log.info("pushed %s (%s)", image, pushed.digest)
    scanned = await scan_image(
        run.config.registry, project=project, repository=app, digest=pushed.digest, image=image
    )
    return {"job": "build", "artifact_id": artifact, "status": "success", "image": image,
            "digest": pushed.digest, "changeset_id": "", "scan": scanned.summary,
            "vulnerabilities": [msgspec.to_builtins(f) for f in scanned.blocking]}  # fmt: skip


# -- gitops


def _rendered(source: Repo, sha: str, *, image: str, port: int, into: str) -> dict[str, bytes]:
    """`deploy/*.yaml` of the app at `sha` (but image.yaml), rendered, as paths under `into/`."""
    names = [p for p in source.files(sha, "deploy") if p.endswith((".yaml", ".yml")) and p != IMAGE_SPEC]
    if not names:
        raise PermanentError(f"{source.project}@{sha[:12]} has no deploy/*.yaml to deploy")
    out = {}
    for path in names:
        text = (source.show(sha, path) or b"").decode()
        out[f"{into}/{path.rsplit('/', 1)[-1]}"] = manifests.render(
            text, image=image, port=port, commit=sha
        ).encode()
    return out


def _environment_files(repo: Repo, into: str, rendered: dict[str, bytes]) -> dict[str, bytes | None]:
    """`rendered`, plus the removal of files under `into/` that the app no longer has (params.yaml stays)."""
    keep = {f"{into}/{manifests.PARAMS_FILE}", *rendered}
    stale = {p: None for p in repo.files("HEAD", into) if p not in keep}
    return {**stale, **rendered}


async def deploy_preflight(run: Run) -> dict[str, Any]:
    preflight, app, project, image, commit = run.input.require(
        "preflight_id", "app", "project", "image", "commit_sha"
    )
    source = run.clone(app_repo(project, app))
    sha = source.checkout_commit(commit)
    gitops = run.clone(gitops_repo(project, app))
    branch = gitops.branch()
    revision = gitops.find_key("HEAD", run.key)
    if revision is None:
        port = manifests.read_port(
            gitops.show("HEAD", "preflight/params.yaml"), f"{gitops.project}/preflight/params.yaml"
        )
        files = _environment_files(
            gitops, "preflight", _rendered(source, sha, image=image, port=port, into="preflight")
        )
        gitops.write(files)
        committed = gitops.commit(f"Deploy {image} to preflight ({preflight})", run.key)
        revision = gitops.push(branch) if committed is not None else gitops.head()
    return {"job": "deploy-preflight", "preflight_id": preflight, "status": "success", "revision": revision}


async def promote(run: Run) -> dict[str, Any]:
    artifact, app, image = run.input.require("artifact_id", "app", "image")
    approved, report = run.input.get("approved_by", "an owner"), run.input.get("report_id")
    message = f"Promote {image} to production ({artifact})\n\nApproved by {approved}" + (
        f"; evidence {report}" if report else ""
    )
    url, revision = await _to_production(
        run, branch=f"promote-{manifests.dns_name(artifact)}", message=message,
        title=f"Promote {app} {image.rsplit(':', 1)[-1]} to production",
        description=_promotion_text(run, image, artifact), label="promotion",
    )  # fmt: skip
    return _promoted(artifact, url, revision)


async def rollback(run: Run) -> dict[str, Any]:
    """Production back to an earlier verified release (autonomy level 3): a promotion of that release,
    on branch rollback-<incident>."""
    incident, artifact, app, image = run.input.require("incident_id", "artifact_id", "app", "image")
    message = f"Roll production back to {image} ({artifact})\n\nIncident {incident}, autonomy level 3"
    description = (
        f"Rolls production back to `{image}` (artifact `{artifact}`, verified and promoted before) while "
        f"PathOps works on a fix for incident `{incident}`."
    )
    url, revision = await _to_production(
        run, branch=f"rollback-{manifests.dns_name(incident)}", message=message,
        title=f"Roll {app} back to {image.rsplit(':', 1)[-1]} in production", description=description,
        label="rollback",
    )  # fmt: skip
    return {"job": "rollback", "incident_id": incident, "artifact_id": artifact, "status": "success",
            "mr_url": url, "revision": revision}  # fmt: skip


async def _to_production(
    run: Run, *, branch: str, message: str, title: str, description: str, label: str
) -> tuple[str, str]:
    """Render the app's deploy/ at `commit_sha` with `image` into <app>-gitops/production/ on `branch`,
    open the MR and merge it: (MR url, or "" when production already held it; the target's revision).
    Each step is found, not made again, when a run is repeated."""
    app, project, image, commit = run.input.require("app", "project", "image", "commit_sha")
    source = run.clone(app_repo(project, app))
    sha = source.checkout_commit(commit)
    gitops = run.clone(gitops_repo(project, app))
    target = gitops.branch()
    merged = await _merged_mr(run, gitops.project, branch)
    if merged is not None:
        url, merge_sha = merged
        return url, merge_sha or gitops.remote_head(target) or ""
    remote = gitops.rev(f"refs/remotes/origin/{branch}")
    head = gitops.find_key(remote, run.key) if remote is not None else None
    if head is None:  # (re)made from the target branch: a branch left by an earlier attempt is replaced
        gitops.run("checkout", "--quiet", "-B", branch, f"origin/{target}")
        port = manifests.read_port(
            gitops.show(f"origin/{target}", "production/params.yaml"),
            f"{gitops.project}/production/params.yaml",
        )
        files = _environment_files(
            gitops, "production", _rendered(source, sha, image=image, port=port, into="production")
        )
        gitops.write(files)
        if gitops.commit(message, run.key) is None:
            log.info("production already holds %s", image)
            return "", gitops.remote_head(target) or gitops.head()
        head = gitops.push(branch, replacing=remote or "")
    elif gitops.contains(f"origin/{target}", head):
        return "", gitops.remote_head(target) or head
    mr = await run.scm.open_mr(
        project=gitops.project, source_branch=branch, target_branch=target, title=title,
        description=description, labels=("pathops", label),
    )  # fmt: skip
    done = mr
    for attempt in range(MERGE_ATTEMPTS):
        try:
            done = await run.scm.merge_mr(
                project=gitops.project, iid=mr.iid, sha=head, remove_source_branch=True
            )
            break
        except TransientError:
            if attempt == MERGE_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    return done.web_url, done.merge_commit_sha or gitops.remote_head(target) or head


async def _merged_mr(run: Run, project: str, branch: str) -> tuple[str, str] | None:
    """(web url, merge commit) of a merge request from `branch` already merged (an earlier run)."""
    found = await run.gitlab_http.pages(
        f"/projects/{enc(project)}/merge_requests", f"merge requests {project}:{branch}", wire.MergeRequest,
        {"state": "merged", "source_branch": branch},
    )  # fmt: skip
    if not found:
        return None
    latest = max(found, key=lambda m: m.iid)
    return latest.web_url, latest.merge_commit_sha or ""


def _promoted(artifact: str, mr_url: str, revision: str) -> dict[str, Any]:
    return {
        "job": "promote",
        "artifact_id": artifact,
        "status": "success",
        "mr_url": mr_url,
        "revision": revision,
    }


def _promotion_text(run: Run, image: str, artifact: str) -> str:
    lines = [f"Promotes `{image}` (artifact `{artifact}`) from preflight to production."]
    if run.input.get("report_id"):
        lines.append(
            f"Evidence: verification report `pathops-reports/reports/{run.input.get('report_id')}.json`."
        )
    if run.input.get("approved_by"):
        lines.append(f"Approved in PathOps by {run.input.get('approved_by')}.")
    return "\n\n".join(lines)
