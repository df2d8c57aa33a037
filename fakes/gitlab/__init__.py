"""The GitLab fake: REST v4, git smart HTTP and project hooks, faithful to what PathOps uses.

    build(FakeConfig(tokens={"glpat-ci": "ci"}, data_dir=path)) -> FakeApp (ASGI)
    python -m fakes.gitlab --port 8929 --data-dir D --token glpat-ci=ci --token glpat-view=viewer

`data_dir` holds one bare repository per project (`repositories/<id>.git`), `state.json` (users,
groups, projects, merge requests, notes, hooks, pipelines, statuses) and the access log
(`access-log.jsonl`); a restart on the same directory keeps everything. Without one, a temporary
directory is used.

Permissions are token scopes, not memberships: every token may read and write except those of
user `viewer` (read_api, read_repository), which get 403 on REST writes and git pushes;
`FakeConfig.options["scopes.<user>"]` sets a user's scopes (see auth.py).

Modules: app (ASGI), http (routing, params, pages), auth (tokens, the scope rule), store (state),
git/actions/diffs (plumbing), instance (shared operations), events/payloads/hooks (webhooks),
views/mrviews (JSON shapes), api_* (REST routes), smarthttp (git http-backend).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import FakeApp
from fakes.common.config import FakeConfig
from fakes.common.faults import Faults
from fakes.common.webhooks import WebhookSender
from fakes.gitlab import api_ci, api_core, api_files, api_merge, api_mrs, api_repo, api_tree
from fakes.gitlab.app import GitLabApp
from fakes.gitlab.hooks import Deliveries
from fakes.gitlab.http import Router
from fakes.gitlab.instance import Instance

__all__ = ["build"]


def build(config: FakeConfig) -> FakeApp:
    if config.data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="fake-gitlab-"))
        atexit.register(shutil.rmtree, data_dir, True)
    else:
        data_dir = config.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
    faults = Faults()
    access = AccessLog(data_dir / "access-log.jsonl" if config.data_dir is not None else None)
    inst = Instance(config, data_dir, Deliveries(WebhookSender(faults)))
    router = Router()
    for module in (api_core, api_repo, api_tree, api_files, api_mrs, api_merge, api_ci):
        module.routes(router)
    return FakeApp("gitlab", GitLabApp(inst, access, router), faults=faults, log=access)
