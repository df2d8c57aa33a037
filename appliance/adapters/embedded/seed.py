"""Seed a project (default: `shop`) into a stack, idempotently: a second run changes nothing and says so.

    report = await seed(endpoints, project_dir=SHOP, control_plane_url="http://127.0.0.1:8765",
                        secrets=ControlPlaneSecrets(...), progress=print)

In order, each step looking before it acts:
1. GitLab (as admin): group `<project>`, projects `<project>-meta`, `<app>`, `<app>-gitops`, each
   given the seed content in one first commit while empty (a repository with commits is left alone;
   the ports of the environments are read back from the gitops repos' `<env>/params.yaml`; new
   ones are free loopback ports, since the embedded cluster's pods share the host's network).
2. Harbor project `<project>` (public: the cluster pulls without credentials) and the CI's robot
   account (push/pull); S3 buckets pathops-evidence, pathops-patches, pathops-reports.
3. The CI credentials file (`endpoints.ci_config`, mode 0600; docs/golden-paths.md "CI jobs").
4. Kubernetes: namespaces `<app>-{agents,preflight,production}`; Secret `pathops-agent` in each
   `<app>-agents` (access_key, secret_key: the S3 `agent` keys; kube_token: `agent:<app>`);
   ConfigMap `<project>-endpoints` in each `<app>-<env>` (`<APP>_URL` of every app in that env).
5. Jenkins: one job per appliance.contracts.ci job (jenkins.py).
6. Hooks on every repository to `<control plane>/webhooks/gitlab` (the control plane's GitLab
   secret) and on gitops repositories to Argo CD's `/api/webhook` too.
7. The first deploy of each app (deploy.py), then Argo CD Applications `<app>-{preflight,
   production,agents}` (automated sync with prune), and the wait until all are Synced/Healthy.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any

from appliance.adapters.embedded.content import AGENTS, ENVIRONMENTS, SHOP, ProjectSeed, port_of, render
from appliance.adapters.embedded.deploy import deploy_first, wait_synced
from appliance.adapters.embedded.endpoints import ControlPlaneSecrets, Endpoints
from appliance.adapters.embedded.gitlab import GitLab
from appliance.adapters.embedded.jenkins import Jenkins
from appliance.adapters.embedded.platform import ArgoCd, Harbor, Kube, Robot
from appliance.adapters.embedded.report import Progress, Run, SeedReport
from appliance.adapters.s3.store import S3ObjectStore
from appliance.contracts.ci import JOBS
from appliance.ports.errors import PermanentError

BUCKETS = ("pathops-evidence", "pathops-patches", "pathops-reports")
AGENT_SECRET = "pathops-agent"
AGENTS_IMAGE = "local/pathops-agents:dev"  # preloaded on the embedded node: the host's Python runs the agents
CI_ROBOT = "ci"
DESCRIPTIONS = {
    "meta": "apps, components, dependencies and contracts",
    "app": "the app's code, tests and manifests",
    "gitops": "desired state, applied by Argo CD",
}


async def seed(
    endpoints: Endpoints,
    *,
    project_dir: Path = SHOP,
    control_plane_url: str,
    secrets: ControlPlaneSecrets,
    progress: Progress | None = None,
    timeout_s: float = 180.0,
) -> SeedReport:
    project = ProjectSeed.read(project_dir)
    run = Run(progress)
    if not endpoints.ci_config:
        raise PermanentError("the stack names no CI credentials file (Endpoints.ci_config)")
    async with contextlib.AsyncExitStack() as stack:
        admin = GitLab(endpoints.gitlab.url, endpoints.gitlab.token("admin"))
        ci = GitLab(endpoints.gitlab.url, endpoints.gitlab.token("ci"))
        harbor = Harbor(endpoints.harbor.url, "admin", endpoints.harbor.token("admin"))
        kube = Kube(endpoints.kubernetes.url, endpoints.kubernetes.token("admin"))
        jenkins = Jenkins(endpoints.jenkins.url, "admin", endpoints.jenkins.token("admin"))
        argocd = ArgoCd(endpoints.argocd.url, endpoints.argocd.token("admin"))
        for client in (admin, ci, harbor, kube, jenkins, argocd):
            stack.push_async_callback(client.aclose)

        run.say(f"seeding {project.name} into the stack")
        ports, clone_urls = await _repositories(run, project, admin)
        robot = await _registry(run, project, harbor, Path(endpoints.ci_config))
        await _buckets(run, endpoints)
        _write_ci_config(run, endpoints, project, robot)
        await _cluster(run, project, kube, endpoints, ports)
        for job in JOBS:
            run.outcome(await jenkins.ensure_job(job), f"Jenkins job {job}")
        await _hooks(run, project, admin, endpoints, control_plane_url.rstrip("/"), secrets)
        for app in project.apps:
            await deploy_first(
                run,
                project,
                app,
                reader=admin,
                ci=ci,
                registry_url=endpoints.harbor.url,
                robot=robot,
                ports=ports[app],
            )
        for app in project.apps:
            for env in (*ENVIRONMENTS, AGENTS):
                name = f"{app}-{env}"
                spec = _application(clone_urls[project.gitops_repo(app)], env, name)
                labels = {"pathops.dev/project": project.name, "app": app, "pathops.dev/env": env}
                run.outcome(
                    await argocd.ensure_app(name, spec=spec, labels=labels), f"Argo CD application {name}"
                )
        run.say("waiting for Argo CD to sync every application")
        await wait_synced(run, project, argocd=argocd, reader=admin, timeout_s=timeout_s)
    return run.report(project.name, ports)


async def _repositories(
    run: Run, project: ProjectSeed, gitlab: GitLab
) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    group_id, created = await gitlab.ensure_group(project.name)
    run.outcome("created" if created else "", f"GitLab group {project.name}")
    ports: dict[str, dict[str, int]] = {}
    clone_urls: dict[str, str] = {}
    taken: list[socket.socket] = []
    try:
        for repo, part in project.repos():
            kind = "meta" if part == "meta" else "gitops" if part.startswith("gitops/") else "app"
            clone_urls[repo], made = await gitlab.ensure_project(
                repo, namespace_id=group_id, description=DESCRIPTIONS[kind]
            )
            run.outcome("created" if made else "", f"GitLab project {repo}")
            files = project.files(part)
            head = await gitlab.head(repo)
            if part.startswith("gitops/"):
                app = part.split("/", 1)[1]
                existing = await gitlab.files(repo, head) if head else {}
                ports[app] = _ports(repo, existing, taken)
                files = {
                    path: render(data.decode(), {"PORT": str(ports[app][path.split("/")[0]])}).encode()
                    if path.endswith("/params.yaml")
                    else data
                    for path, data in files.items()
                }
            if head is None:
                sha = await gitlab.commit(
                    repo, message=f"Seed {repo}\n\nPathOps-Key: seed-{repo}\n", files=files
                )
                run.did(f"pushed the seed content of {repo} ({len(files)} files, {sha[:12]})")
    finally:
        for sock in taken:
            sock.close()
    return ports, clone_urls


def _ports(repo: str, existing: dict[str, bytes], taken: list[socket.socket]) -> dict[str, int]:
    """Each environment's port: from its params.yaml when the repo has one, else a free one."""
    found: dict[str, int] = {}
    for env in ENVIRONMENTS:
        params = existing.get(f"{env}/params.yaml")
        if params is not None:
            port = port_of(params)
            if port is None:
                raise PermanentError(f"{repo}: {env}/params.yaml names no port")
            found[env] = port
            continue
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        taken.append(sock)  # held until every port is chosen, so that no two are the same
        found[env] = int(sock.getsockname()[1])
    return found


async def _registry(run: Run, project: ProjectSeed, harbor: Harbor, ci_config: Path) -> Robot:
    run.outcome(await harbor.ensure_project(project.name, public=True), f"Harbor project {project.name}")
    known = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        registry = json.loads(ci_config.read_text())["registry"]
        known = Robot(str(registry["username"]), str(registry["password"]))
    robot, change = await harbor.ensure_robot(project.name, CI_ROBOT, known=known)
    run.outcome(change, f"Harbor robot account {robot.name}")
    return robot


async def _buckets(run: Run, endpoints: Endpoints) -> None:
    s3 = endpoints.s3
    store = S3ObjectStore(url=s3.url, access_key=s3.token("admin"), secret_key=s3.secret("admin"))
    try:
        for bucket in BUCKETS:
            run.outcome("created" if await store.ensure_bucket(bucket=bucket) else "", f"bucket {bucket}")
    finally:
        await store.aclose()


def _write_ci_config(run: Run, endpoints: Endpoints, project: ProjectSeed, robot: Robot) -> None:
    kube = endpoints.kubernetes.host.rpartition(":")
    wanted = {
        "gitlab": {"url": endpoints.gitlab.url, "token": endpoints.gitlab.token("ci")},
        "registry": {
            "url": endpoints.harbor.url,
            "host": endpoints.harbor.host,
            "username": robot.name,
            "password": robot.secret,
            "project": project.name,
        },
        "s3": {
            "endpoint": endpoints.s3.url,
            "access_key": endpoints.s3.token("ci"),
            "secret_key": endpoints.s3.secret("ci"),
        },
        "agents": {
            "image": AGENTS_IMAGE,
            "kube_host": kube[0],
            "kube_port": int(kube[2]) if kube[2].isdigit() else 80,
            "service_url": "http://127.0.0.1:{port}",
            "secret": AGENT_SECRET,
            "pull_secret": "",  # the Harbor project is public: the cluster pulls without credentials
        },
    }
    path = Path(endpoints.ci_config)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()) == wanted:
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(wanted, f, indent=2)
    partial.replace(path)
    run.did(f"wrote the CI credentials file {path}")


async def _cluster(
    run: Run, project: ProjectSeed, kube: Kube, endpoints: Endpoints, ports: dict[str, dict[str, int]]
) -> None:
    labels = {"pathops.dev/project": project.name, "app.kubernetes.io/managed-by": "pathops-seed"}
    for namespace in project.namespaces():
        run.outcome(await kube.ensure_namespace(namespace), f"namespace {namespace}")
    for app in project.apps:
        data = {
            "access_key": endpoints.s3.token("agent"),
            "secret_key": endpoints.s3.secret("agent"),
            "kube_token": endpoints.kubernetes.token(f"agent:{app}"),
        }
        namespace = f"{app}-{AGENTS}"
        change = await kube.ensure("Secret", namespace, AGENT_SECRET, data, labels)
        run.outcome(change, f"Secret {namespace}/{AGENT_SECRET}")
        for env in ENVIRONMENTS:
            urls = {project.url_key(other): f"http://127.0.0.1:{ports[other][env]}" for other in project.apps}
            namespace = f"{app}-{env}"
            change = await kube.ensure("ConfigMap", namespace, project.endpoints_configmap, urls, labels)
            run.outcome(change, f"ConfigMap {namespace}/{project.endpoints_configmap}")


async def _hooks(
    run: Run,
    project: ProjectSeed,
    gitlab: GitLab,
    endpoints: Endpoints,
    control_plane: str,
    secrets: ControlPlaneSecrets,
) -> None:
    for repo, part in project.repos():
        events = ("push_events", "merge_requests_events")
        change = await gitlab.ensure_hook(
            repo, url=f"{control_plane}/webhooks/gitlab", token=secrets.gitlab, events=events
        )
        run.outcome(change, f"hook {repo} -> control plane")
        if part.startswith("gitops/"):
            if not endpoints.argocd_webhook_secret:
                raise PermanentError(
                    "the stack names no Argo CD webhook secret (Endpoints.argocd_webhook_secret)"
                )
            url = f"{endpoints.argocd.url}/api/webhook"
            change = await gitlab.ensure_hook(
                repo, url=url, token=endpoints.argocd_webhook_secret, events=("push_events",)
            )
            run.outcome(change, f"hook {repo} -> Argo CD")


def _application(repo_url: str, env: str, namespace: str) -> dict[str, Any]:
    return {
        "project": "default",
        "source": {"repoURL": repo_url, "targetRevision": "main", "path": env},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
    }
