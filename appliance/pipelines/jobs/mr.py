"""`create-mr-from-patch`: a Fix Agent's patch bundle becomes a branch, a merge request and a record.

1. the bundle `pathops-patches/patches/<patch_id>.json` (docs/golden-paths.md, "Patch bundle");
2. its `repo` cloned, `branch` made at `base_sha`, the diff `git apply`-ed and committed, pushed;
   a rerun finds the commit by its key (or the patch already applied on the branch) and pushes nothing;
3. the merge request to the default branch (an open one from `branch` is reused), its description
   the summary, recommended checks, risk and the object keys of the evidence snapshot and the patch;
4. `incidents/<incident_id>.yaml` in `<project>/<project>-meta` written or updated with those links;
5. the callback `{changeset_id, status: success, mr_url, commit_sha (the MR's head), job}`.
A patch that does not apply is a `PermanentError` (the CLI reports status failure with the reason).

Without `patch_id` (a feature change set): for each app of `apps`, in the order given (deploy
order), branch `branch` from the default branch with the task written to
`docs/changes/<changeset_id>.md`, and a merge request for it; the callback names the first app's
MR as `mr_url` and every app's as `mrs`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import yaml

from appliance.logic import steps
from appliance.pipelines import manifests
from appliance.pipelines.context import EVIDENCE_BUCKET, PATCH_BUCKET, Run, meta_repo
from appliance.pipelines.git import GitError, Repo
from appliance.ports.errors import PermanentError

log = logging.getLogger(__name__)
JOB = "create-mr-from-patch"


async def _patch(run: Run, patch_id: str) -> dict[str, Any]:
    key = f"patches/{patch_id}.json"
    raw = await run.store.get(bucket=PATCH_BUCKET, key=key)
    if raw is None:
        raise PermanentError(f"patch {patch_id} is not in object storage ({PATCH_BUCKET}/{key})")
    try:
        patch = json.loads(raw)
    except ValueError:
        raise PermanentError(f"patch {patch_id} is not JSON") from None
    if not isinstance(patch, dict):
        raise PermanentError(f"patch {patch_id} is not a patch bundle (a JSON object)")
    missing = [f for f in ("repo", "base_sha", "diff") if not isinstance(patch.get(f), str) or not patch[f]]
    if missing:
        raise PermanentError(f"patch {patch_id} lacks {', '.join(missing)}")
    return patch


def _apply(run: Run, repo: Repo, patch: dict[str, Any], branch: str, title: str) -> str:
    """The branch head holding the patch: found (same key, or already applied) or committed and pushed."""
    base = patch["base_sha"]
    diff = run.workdir / "patch.diff"
    diff.write_text(patch["diff"] if patch["diff"].endswith("\n") else patch["diff"] + "\n")
    if repo.rev(f"refs/remotes/origin/{branch}") is not None:
        repo.run("checkout", "--quiet", "-B", branch, f"origin/{branch}")
        found = repo.find_key("HEAD", run.key)
        if found is not None:
            log.info("branch %s already has the commit %s (key %s)", branch, found[:12], run.key)
            return found
        try:
            repo.run("apply", "--check", "--reverse", str(diff))
            log.info("branch %s already holds the patch", branch)
            return repo.head()
        except GitError:
            pass
    else:
        repo.checkout_commit(base)
        repo.run("checkout", "--quiet", "-B", branch)
    try:
        repo.run("apply", "--whitespace=nowarn", str(diff), what=f"git apply at {base[:12]}")
    except GitError as exc:
        raise PermanentError(f"the patch does not apply to {repo.project}@{base[:12]}: {exc}") from None
    body = patch.get("summary") or ""
    if repo.commit(f"{title}\n\n{body}".strip(), run.key) is None:
        raise PermanentError(f"the patch changes nothing in {repo.project}@{base[:12]}")
    return repo.push(branch)


def _description(patch: dict[str, Any], changeset: str, origin: str) -> str:
    lines = [str(patch.get("summary") or "A fix proposed by the PathOps Fix Agent."), ""]
    checks = [str(c) for c in patch.get("recommended_checks") or []]
    if checks:
        lines += ["**Recommended checks**", *(f"- {c}" for c in checks), ""]
    risk = patch.get("risk")
    if risk is not None:
        rule = f" (rule `{patch['rule']}`)" if patch.get("rule") else ""
        lines += [f"**Risk**: {risk}/100{rule}", ""]
    lines += ["**Evidence**"]
    if patch.get("snapshot_id"):
        lines.append(f"- snapshot: `{EVIDENCE_BUCKET}/snapshots/{patch['snapshot_id']}.tar.gz`")
    lines.append(f"- patch: `{PATCH_BUCKET}/patches/{patch['patch_id']}.json` at `{patch['base_sha']}`")
    lines += [f"- relied on: `{p}`" for p in patch.get("evidence") or []]
    ids = [f"change set `{changeset}`"] + (
        [f"incident `{patch['incident_id']}`"] if patch.get("incident_id") else []
    )
    ids += [f"origin `{origin}`"] if origin and origin != patch.get("incident_id") else []
    return "\n".join([*lines, "", "PathOps: " + ", ".join(ids)])


def _record(run: Run, project: str, patch: dict[str, Any], changeset: str, branch: str, mr_url: str) -> None:
    """Write or update `incidents/<id>.yaml` in the meta repo (once per key)."""
    incident = str(patch.get("incident_id") or "")
    if not incident:
        return
    repo = run.clone(meta_repo(project))
    if repo.find_key("HEAD", run.key) is not None:
        return
    path = f"incidents/{manifests.label_value(incident)}.yaml"
    try:
        current = yaml.safe_load(repo.show("HEAD", path) or b"") or {}
    except yaml.YAMLError:
        current = {}  # unreadable: written anew
    record = current if isinstance(current, dict) else {}
    record["incident_id"] = incident
    if patch.get("snapshot_id"):
        snapshot = str(patch["snapshot_id"])
        record["evidence"] = {
            "snapshot_id": snapshot,
            "bucket": EVIDENCE_BUCKET,
            "key": f"snapshots/{snapshot}.tar.gz",
        }
    record["patch"] = {
        "patch_id": patch["patch_id"], "bucket": PATCH_BUCKET, "key": f"patches/{patch['patch_id']}.json",
        "repo": patch["repo"], "base_sha": patch["base_sha"], "risk": patch.get("risk"),
    }  # fmt: skip
    record["merge_request"] = {"url": mr_url, "branch": branch, "changeset_id": changeset}
    repo.write({path: yaml.safe_dump(record, sort_keys=False).encode()})
    if repo.commit(f"Incident {incident}: fix proposed in {mr_url}", run.key) is not None:
        repo.push(repo.branch())


def _task(title: str, changeset: str, app: str, apps: list[str]) -> bytes:
    order = " -> ".join(apps)
    lines = [f"# {title}", "", f"Change set `{changeset}`, app `{app}`.", "",
             f"Deploy order of this change set: {order} (what an app depends on goes first).", ""]  # fmt: skip
    return "\n".join(lines).encode()


async def _feature(run: Run, changeset: str, project: str) -> dict[str, Any]:
    """One branch and merge request per app, for people (or a coding agent) to fill in."""
    apps = [a for a in (run.input.get("apps") or "").split(",") if a]
    branch, title = run.input.get("branch"), run.input.get("title") or changeset
    if not apps or not branch:
        raise PermanentError("a change set without a patch needs apps and branch")
    mrs: dict[str, str] = {}
    for app in apps:
        repo_path = f"{project}/{app}"
        repo = run.clone(repo_path)
        if repo.rev(f"refs/remotes/origin/{branch}") is not None:
            repo.run("checkout", "--quiet", "-B", branch, f"origin/{branch}")
        else:
            repo.run("checkout", "--quiet", "-B", branch)
        if repo.find_key("HEAD", run.key) is None:
            repo.write({f"docs/changes/{changeset}.md": _task(title, changeset, app, apps)})
            if repo.commit(f"{title}\n\nThe task of change set {changeset} for {app}.", run.key) is not None:
                repo.push(branch)
        target = (await run.scm.get_project(project=repo_path)).default_branch or "main"
        mr = await run.scm.open_mr(
            project=repo_path, source_branch=branch, target_branch=target, title=title,
            description=f"Change set `{changeset}`: {title}\n\nDeploy order: {' -> '.join(apps)}.",
            labels=("pathops", "feature"),
        )  # fmt: skip
        mrs[app] = mr.web_url
    return {"job": JOB, "changeset_id": changeset, "status": "success", "mr_url": mrs[apps[0]], "mrs": mrs}


async def create_mr_from_patch(run: Run) -> dict[str, Any]:
    changeset, project = run.input.require("changeset_id", "project")
    patch_id = run.input.get("patch_id")
    if not patch_id:
        return await _feature(run, changeset, project)
    patch = await _patch(run, patch_id)
    patch.setdefault("patch_id", patch_id)
    if not patch["repo"].startswith(f"{project}/") or patch["repo"].count("/") != 1:
        raise PermanentError(
            f"patch {patch_id} is for {patch['repo']}, which is not a repository of {project}"
        )
    slug = steps.slug(str(patch.get("slug") or patch.get("summary") or patch_id), "patch")
    branch = run.input.get("branch") or f"{changeset}-fix-{slug}"
    title = run.input.get("title") or f"Fix: {patch.get('summary') or slug}".splitlines()[0][:200]
    repo = run.clone(patch["repo"])
    head = _apply(run, repo, patch, branch, title)
    target = (await run.scm.get_project(project=patch["repo"])).default_branch or "main"
    mr = await run.scm.open_mr(
        project=patch["repo"], source_branch=branch, target_branch=target, title=title,
        description=_description(patch, changeset, run.input.get("origin")), labels=("pathops", "fix"),
    )  # fmt: skip
    _record(run, project, patch, changeset, branch, mr.web_url)
    return {
        "job": JOB,
        "changeset_id": changeset,
        "status": "success",
        "mr_url": mr.web_url,
        "commit_sha": head,
    }


MR_URL = re.compile(r"^https?://[^/]+/(?P<project>.+?)/-/merge_requests/(?P<iid>\d+)")


async def merge_mr(run: Run) -> dict[str, Any]:
    """Merge a change set's MR at the head its preflight passed with (the autopilot's approval at
    autonomy level 2). Already merged at that head: nothing to do. No callback: GitLab's merge event
    (or the reconciler asking GitLab) moves the change set on."""
    changeset, url, head = run.input.require("changeset_id", "mr_url", "commit_sha")
    found = MR_URL.match(url)
    if found is None:
        raise PermanentError(f"{url!r} is not a GitLab merge request URL")
    project, iid = found.group("project"), int(found.group("iid"))
    mr = await run.scm.merge_mr(
        project=project, iid=iid, sha=head, message=f"Merge {changeset} (PathOps autopilot)"
    )
    log.info("%s: %s!%d is %s", changeset, project, iid, mr.state)
    return {"job": "merge-mr", "changeset_id": changeset, "status": "success", "mr_url": url}
