"""The Jenkins fake: the remote access API (../shared/specs/jenkins/remote-access-api.md) over jobs
that run real local programs.

    build(FakeConfig(tokens={"apitoken": "ci"}, options={"jobs": "jobs.yaml"})) -> FakeApp
    python -m fakes.jenkins --port 8080 --token ci=apitoken --jobs jobs.yaml [--data-dir D]

`config.tokens` maps an API token to its user (HTTP Basic `user:token`); `config.options`:

    jobs            path of a YAML file: name -> {parameters: [...], command: [argv], timeout: s}
    readers         comma-separated users who may only read (default "viewer")
    executors       builds running at once (default 2)
    quiet_period    seconds a queue item waits before it may start (default 0; Jenkins' is 5)
    build_timeout   default per-job timeout in seconds (default 600)
    keep_undefined_parameters  "true": keep submitted parameters no job declares (Jenkins drops them)
    crumb_for_api_tokens       "false": like Jenkins >= 2.96, API-token requests need no crumb
                               (default "true": every POST needs one)

Jobs may also be created with `POST /createItem?name=` and a config.xml (python-jenkins
`create_job`): shell steps (`hudson.tasks.Shell`, or `sh '...'` in a pipeline script) run with
`/bin/sh -xe -c`; a config with no step runs `true`.
"""

from __future__ import annotations

from pathlib import Path

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import FakeApp
from fakes.common.config import FakeConfig
from fakes.common.faults import Faults
from fakes.jenkins.engine import Engine
from fakes.jenkins.http import JenkinsHttp
from fakes.jenkins.model import load_yaml_jobs
from fakes.jenkins.routes import Routes


def build(config: FakeConfig) -> FakeApp:
    options = config.options
    executors = int(options.get("executors", "2"))
    timeout = float(options.get("build_timeout", "600"))
    faults = Faults()
    engine = Engine(
        faults=faults,
        data_dir=config.data_dir,
        executors=executors,
        quiet_period=float(options.get("quiet_period", "0")),
        keep_undefined=options.get("keep_undefined_parameters", "").lower() == "true",
        default_timeout=timeout,
    )
    if options.get("jobs"):
        for job in load_yaml_jobs(Path(options["jobs"]), default_timeout=timeout):
            engine.put_job(job)
    log = AccessLog(config.data_dir / "access-log.jsonl" if config.data_dir else None)
    readers = {u.strip() for u in options.get("readers", "viewer").split(",") if u.strip()}
    http = JenkinsHttp(
        [],
        tokens=dict(config.tokens),
        readers=readers,
        log=log,
        public_url=config.public_url,
        on_shutdown=engine.shutdown,
        crumb_for_tokens=options.get("crumb_for_api_tokens", "true").lower() != "false",
    )
    http.routes = Routes(engine, crumb=http.crumb, executors=executors, secured=http.secured).table()
    return FakeApp("jenkins", http, faults=faults, log=log)
