"""The Harbor fake: Harbor's API v2.0 and its registry, on one host, as Harbor serves them.

- `/api/v2.0/...`: projects, repositories, artifacts and tags, scans and vulnerability reports,
  robot accounts, system info, health (`api.py`, shapes from the official swagger). Errors are
  Harbor's: `{"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}` (401, wrong
  credentials), `FORBIDDEN` (403, a robot or user without the permission), `NOT_FOUND`, ...
- `/v2/...`: an OCI distribution registry. The real one: Debian's `docker-registry`
  (distribution 2.8, `apt-get install docker-registry`) runs as a child process on a unix socket
  (`backend.py`); the fake authenticates and authorises every request in front of it, records
  pushed manifests as artifacts and streams blobs through (`registry.py`). Without the binary the
  API still works and `/v2/` answers 503.
- `/service/token`: the token service docker/OCI clients are sent to by the `WWW-Authenticate:
  Bearer realm=...,service="harbor-registry"` challenge; basic auth works on `/v2/` as well.
- Scans run in the fake (no Trivy): `requirements.txt` pins found in the image's layers are looked
  up in `options["vulnerabilities"]` (`scanner.py`). A scan is finished when its POST returns 202.

Configuration (`FakeConfig`):

    tokens                       password -> username (default {"Harbor12345": "admin"})
    options["admins"]            comma-separated system admins (default "admin")
    options["vulnerabilities"]   JSON vulnerability database (see scanner.py; default: flask==0.12)
    options["scanner"]           "trivy" (default) or "none": no scanner installed, a scan is refused
                                 with 412 PRECONDITION as Harbor refuses it, and auto-scan does nothing
    options["registry_binary"]   path of docker-registry (default: found on PATH or /usr/bin)
    data_dir                     harbor.json (the database) and registry/ (blobs) survive restarts
    public_url                   the realm of the token challenge (default: from the Host header)

Robot accounts log in as `robot$<name>` (system) or `robot$<project>+<name>` (project) with the
secret returned at creation. The project `library` (public) exists from the start, as in Harbor.
"""

from __future__ import annotations

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import FakeApp
from fakes.common.config import FakeConfig
from fakes.common.faults import Faults
from fakes.harbor.access import Access
from fakes.harbor.api import Api
from fakes.harbor.app import HarborApp
from fakes.harbor.backend import RegistryProcess, find_binary
from fakes.harbor.registry import Registry
from fakes.harbor.scanner import load_database
from fakes.harbor.store import Store

DEFAULT_USERS = {"Harbor12345": "admin"}


def build(config: FakeConfig) -> FakeApp:
    data_dir = config.data_dir
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    log = AccessLog(data_dir / "access-log.jsonl" if data_dir is not None else None)
    store = Store(data_dir / "harbor.json" if data_dir is not None else None)
    users = {name: password for password, name in (config.tokens or DEFAULT_USERS).items()}
    admins = {a.strip() for a in config.options.get("admins", "admin").split(",") if a.strip()}
    access = Access(store, users, admins)
    backend = RegistryProcess(
        find_binary(config.options.get("registry_binary")),
        data_dir / "registry" if data_dir is not None else None,
    )
    registry = Registry(
        store, access, backend, log, load_database(config.options.get("vulnerabilities")),
        scanner=config.options.get("scanner", "trivy") != "none",
    )  # fmt: skip
    api = Api(store, access, registry, public_url=config.public_url)
    app = HarborApp(api, registry, backend, log, config.public_url)
    return FakeApp("harbor", app, faults=Faults(), log=log)
