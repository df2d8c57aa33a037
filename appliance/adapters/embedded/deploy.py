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
from typing import Any

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


def app_state(item: dict[str, Any], accepted: set[str]) -> tuple[str, bool]:
    """What an Argo CD Application reports, and whether it has applied one of the accepted revisions.

    `accepted` holds the gitops repo's `main` when the wait began and every later head seen while
    waiting: CI keeps committing (a preflight deploy, an agent job), and an application that has
    moved past the commit the seed waited for has applied it too.
    """
    status = item.get("status") or {}
    sync, health = status.get("sync") or {}, status.get("health") or {}
    state = f"{sync.get('status', 'Unknown')}/{health.get('status', 'Unknown')}"
    if state == "Synced/Healthy":
        revision = str(sync.get("revision") or "")
        if revision in accepted:
            return state, True
        return f"{state} (at {revision[:12] or 'no revision'}, not yet at main)", False
    message = health.get("message") or next(
        (c.get("message", "") for c in status.get("conditions") or []), ""
    )
    return (f"{state} ({message})" if message else state), False


async def wait_synced(
    run: Run, project: ProjectSeed, *, argocd: ArgoCd, reader: GitLab, timeout_s: float, poll_s: float = 0.5
) -> None:
    """Until every Application of the project has been Synced and Healthy at its gitops repo's `main`
    (or a later commit: the repo may move on while the seed waits)."""
    accepted: dict[str, set[str]] = {app: set() for app in project.apps}
    names = {f"{app}-{env}": app for app in project.apps for env in ("agents", *ENVIRONMENTS)}
    deadline = time.monotonic() + timeout_s
    seen: dict[str, str] = {}
    ready: set[str] = set()
    while True:
        for app in project.apps:
            head = await reader.head(project.gitops_repo(app))
            accepted[app].add(head or "")
        states: dict[str, str] = {name: "Missing" for name in names if name not in ready}
        for item in await argocd.apps(f"pathops.dev/project={project.name}"):
            name = item["metadata"]["name"]
            if name not in states:
                continue
            states[name], done = app_state(item, accepted[names[name]])
            if done:
                ready.add(name)
        for name in sorted(states):
            if seen.get(name) != states[name]:
                run.say(f"Argo CD: {name} {states[name]}")
        seen = states
        if ready == set(names):
            return
        if time.monotonic() > deadline:
            waiting = "; ".join(f"{n} {s}" for n, s in sorted(states.items()) if n not in ready)
            raise TransientError(
                f"Argo CD did not report every application Synced/Healthy in {timeout_s:g}s: {waiting}",
                system="argocd",
            )
        await asyncio.sleep(poll_s)
