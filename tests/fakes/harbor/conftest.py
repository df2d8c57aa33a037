from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from fakes.common.config import FakeConfig
from fakes.common.server import ThreadedServer
from fakes.harbor import build

ADMIN = ("admin", "Harbor12345")
VULNERABILITIES = {
    "flask==0.12": [
        {"id": "CVE-2018-1000656", "severity": "High", "fix_version": "0.12.3", "description": "DoS via JSON"}
    ],
    "pyyaml==5.3": {"id": "CVE-2020-14343", "severity": "Critical", "fix_version": "5.4"},
}
# the registry half runs Debian's docker-registry; .ci/run installs it, and a missing one fails loudly
needs_registry = pytest.mark.usefixtures("docker_registry_binary")


def harbor_config(**changes: Any) -> FakeConfig:
    base = FakeConfig(
        tokens={"Harbor12345": "admin", "dev-pass": "dev"},
        options={"vulnerabilities": json.dumps(VULNERABILITIES)},
    )
    return replace(base, **changes)


@pytest.fixture(scope="module")
def harbor() -> Iterator[str]:
    with ThreadedServer(build(harbor_config())) as url:
        yield url
