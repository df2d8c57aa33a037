"""The first deploy of a seeded app, done as CI would do it, and the wait for Argo CD to apply it.

For an app whose gitops repo has no `<env>/deployment.yaml` yet: read the app repo at `main`, build
its image (the files under /app, Cmd and WorkingDir from deploy/image.yaml) and push it as the CI's
robot to `<registry>/<project>/<app>:<sha12>`, render deploy/*.yaml with IMAGE, PORT (the
environment's) and COMMIT_SHA, and commit the result into `<env>/` as the `ci` identity. An app
already deployed is left as it is (whatever CI deployed since).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from appliance.adapters.embedded.content import ENVIRONMENTS, ProjectSeed, image_spec, manifests, render
from appliance.adapters.embedded.gitlab import GitLab
from appliance.adapters.embedded.platform import ArgoCd, Robot
from appliance.adapters.embedded.report import Run
from appliance.adapters.oci import build_layer, push_image
from appliance.ports.errors import PermanentError, TransientError


async def deploy_first(
    run: Run,
    project: ProjectSeed,
    app: str,
    *,
    reader: GitLab,
    ci: GitLab,
    registry_url: str,
    robot: Robot,
    ports: dict[str, int],
) -> None:
    gitops = project.gitops_repo(app)
    head = await reader.head(gitops)
    tree = await reader.tree(gitops, head) if head else {}
    missing = [env for env in ENVIRONMENTS if f"{env}/deployment.yaml" not in tree]
    if not missing:
        return
    source = project.app_repo(app)
    sha = await reader.head(source)
    if sha is None:
        raise PermanentError(f"cannot deploy {app}: {source} has no commit on main")
    files = await reader.files(source, sha)
    cmd, workdir = image_spec(files)
    with tempfile.TemporaryDirectory(prefix="pathops-seed-") as tmp:
        root = Path(tmp)
        for path, data in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
        layer = await asyncio.to_thread(build_layer, root, prefix="app")
    pushed = await push_image(
        registry_url=registry_url,
        repository=f"{project.name}/{app}",
        tag=sha[:12],
        layers=[layer],
        cmd=cmd,
        workdir=workdir,
        labels={"org.opencontainers.image.revision": sha, "org.opencontainers.image.title": app},
        username=robot.name,
        password=robot.secret,
    )
    run.did(f"pushed image {pushed.reference}")
    rendered = {
        f"{env}/{name}": render(
            text, {"IMAGE": pushed.reference, "PORT": str(ports[env]), "COMMIT_SHA": sha}
        ).encode()
        for env in missing
        for name, text in manifests(files).items()
    }
    message = (
        f"Deploy {app} {sha[:12]} to {', '.join(missing)}\n\n"
        f"The first deploy of {app}, made when the project was seeded.\n\n"
        f"PathOps-Key: seed-deploy-{app}-{sha[:12]}\n"
    )
    revision = await ci.commit(gitops, message=message, files=rendered, existing=set(tree))
    run.did(f"deployed {app} {sha[:12]} to {', '.join(missing)} ({gitops} {revision[:12]})")


async def wait_synced(
    run: Run, project: ProjectSeed, *, argocd: ArgoCd, reader: GitLab, timeout_s: float, poll_s: float = 0.5
) -> None:
    """Until every Application of the project is Synced and Healthy at its gitops repo's `main`."""
    wanted: dict[str, str] = {}
    for app in project.apps:
        head = await reader.head(project.gitops_repo(app))
        wanted |= {f"{app}-{env}": head or "" for env in ("agents", *ENVIRONMENTS)}
    deadline = time.monotonic() + timeout_s
    seen: dict[str, str] = {}
    while True:
        states: dict[str, str] = {name: "Missing" for name in wanted}
        ready: set[str] = set()
        for item in await argocd.apps(f"pathops.dev/project={project.name}"):
            name = item["metadata"]["name"]
            if name not in wanted:
                continue
            status = item.get("status") or {}
            sync, health = status.get("sync") or {}, status.get("health") or {}
            states[name] = f"{sync.get('status', 'Unknown')}/{health.get('status', 'Unknown')}"
            message = health.get("message") or next(
                (c.get("message", "") for c in status.get("conditions") or []), ""
            )
            if states[name] == "Synced/Healthy" and sync.get("revision") == wanted[name]:
                ready.add(name)
            elif message:
                states[name] += f" ({message})"
        for name in sorted(states):
            if seen.get(name) != states[name]:
                run.say(f"Argo CD: {name} {states[name]}")
        seen = states
        if ready == set(wanted):
            return
        if time.monotonic() > deadline:
            waiting = "; ".join(f"{n} {s}" for n, s in sorted(states.items()) if n not in ready)
            raise TransientError(
                f"Argo CD did not report every application Synced/Healthy in {timeout_s:g}s: {waiting}",
                system="argocd",
            )
        await asyncio.sleep(poll_s)
