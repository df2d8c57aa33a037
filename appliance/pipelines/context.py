"""One run of one CI job: its parameters, credentials, a scratch directory, and the clients it uses.

Names of things, per docs/golden-paths.md: the app's code `<project>/<app>`, its desired state
`<project>/<app>-gitops`, the project's meta repo `<project>/<project>-meta`; buckets
`pathops-evidence`, `pathops-patches`, `pathops-reports`. The callback token an agent needs is
kept out of git: it is stored at `pathops-evidence/callback-tokens/<sha256 of the run's key>`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from appliance.adapters.gitlab import GitLabScm
from appliance.adapters.gitlab.http import GitLabHttp
from appliance.adapters.s3.store import S3ObjectStore
from appliance.pipelines.config import CiConfig, JobInput
from appliance.pipelines.git import Git, Repo

EVIDENCE_BUCKET = "pathops-evidence"
PATCH_BUCKET = "pathops-patches"
REPORT_BUCKET = "pathops-reports"
TOKENS_PREFIX = "callback-tokens/"


def app_repo(project: str, app: str) -> str:
    return f"{project}/{app}"


def gitops_repo(project: str, app: str) -> str:
    return f"{project}/{app}-gitops"


def meta_repo(project: str) -> str:
    return f"{project}/{project}-meta"


def token_key(idempotency_key: str) -> str:
    """Where the callback token of the run with this key is kept (bucket `pathops-evidence`)."""
    return TOKENS_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()


@dataclass
class Run:
    input: JobInput
    config: CiConfig
    workdir: Path
    git: Git
    scm: GitLabScm
    gitlab_http: GitLabHttp  # for the few reads the Scm port has no method for
    store: S3ObjectStore

    @property
    def key(self) -> str:
        return self.input.key

    def clone(self, project: str, *, branch: str | None = None, shallow: bool = False) -> Repo:
        dest = self.workdir / "repos" / project.replace("/", "__")
        suffix = 1
        while dest.exists():
            suffix += 1
            dest = dest.with_name(f"{project.replace('/', '__')}-{suffix}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        return self.git.clone(project, dest, branch=branch, shallow=shallow)

    def secrets(self) -> tuple[str, ...]:
        return (*self.config.secrets(), *((self.input.callback_token,) if self.input.callback_token else ()))

    async def keep_callback_token(self) -> str:
        """Store the run's callback token for its agent; the object key the agent reads it from."""
        key = token_key(self.key)
        await self.store.ensure_bucket(bucket=EVIDENCE_BUCKET)
        await self.store.put(
            bucket=EVIDENCE_BUCKET,
            key=key,
            data=self.input.callback_token.encode(),
            content_type="text/plain",
        )
        return key


@asynccontextmanager
async def open_run(job_input: JobInput, config: CiConfig, environ: Mapping[str, str]) -> AsyncIterator[Run]:
    base = environ.get("WORKSPACE") or None
    if base is not None and not os.path.isdir(base):
        base = None
    with tempfile.TemporaryDirectory(prefix="pathops-ci-", dir=base) as tmp:
        workdir = Path(tmp)
        git = Git(base_url=config.gitlab.url, token=config.gitlab.token, home=workdir / "home")
        scm = GitLabScm(url=config.gitlab.url, token=config.gitlab.token, timeout=30.0)
        gitlab_http = GitLabHttp(url=config.gitlab.url, token=config.gitlab.token, timeout=30.0)
        store = S3ObjectStore(
            url=config.s3.endpoint, access_key=config.s3.access_key, secret_key=config.s3.secret_key
        )
        try:
            yield Run(
                input=job_input, config=config, workdir=workdir, git=git, scm=scm, gitlab_http=gitlab_http,
                store=store,
            )  # fmt: skip
        finally:
            await scm.aclose()
            await gitlab_http.aclose()
            await store.aclose()
