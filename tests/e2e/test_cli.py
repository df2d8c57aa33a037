"""The `pathops` CLI as a user runs it: help, JSON for scripts, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance.contracts.settings import Settings
from tests.conftest import golden
from tests.support.doubles import RecordingCi
from tests.support.server import LiveServer
from tests.support.world import free_port


def pathops(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.entrypoints.cli", *args], capture_output=True, text=True, timeout=60,
        cwd=cwd,
    )  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("cli"), alertmanager_secret="am", gitlab_secret="g",
                        argocd_secret="r", callback_key="k")  # fmt: skip
    live = LiveServer(settings, ci=RecordingCi()).start()
    httpx.post(f"{live.url}/webhooks/alertmanager", json=golden("alertmanager", "webhook_firing.json"),
               headers={"Authorization": "Bearer am"})  # fmt: skip
    yield live
    live.stop()


def test_help_lists_every_command() -> None:
    result = pathops("--help")
    assert result.returncode == 0
    for command in ("serve", "demo", "status", "incidents", "changesets", "audit"):
        assert command in result.stdout
    for command in ("serve", "demo", "status", "incidents", "changesets", "audit"):
        sub = pathops(command, "--help")
        assert sub.returncode == 0, sub.stderr
        assert "usage: pathops " + command in sub.stdout


def test_json_output_for_scripts(server: LiveServer) -> None:
    common = ("--url", server.url, "--token", server.token, "--json")
    [incident] = json.loads(pathops("incidents", *common).stdout)
    assert incident["state"]["fingerprint"] == "af825e38bfb1fdb4"
    status = json.loads(pathops("status", *common).stdout)
    assert status["projects"] == ["shop"]
    assert status["instances"]["incident"] == {"collecting-evidence": 1}
    audit = json.loads(pathops("audit", *common, "--limit", "3").stdout)
    assert len(audit) == 3
    assert json.loads(pathops("changesets", *common).stdout) == []


def test_tables_for_people(server: LiveServer) -> None:
    out = pathops("incidents", "--url", server.url, "--token", server.token).stdout
    assert "collecting-evidence" in out and "5xx rate above 5%" in out


def test_clear_errors(server: LiveServer, tmp_path: Path) -> None:
    denied = pathops("status", "--url", server.url, "--token", "pat-wrong")
    assert (denied.returncode, denied.stderr.strip()) == (1, "pathops: 401: unknown API token")
    down = pathops("status", "--url", f"http://127.0.0.1:{free_port()}", "--token", "x")
    assert down.returncode == 3
    assert "cannot reach PathOps" in down.stderr
    no_token = pathops("status", "--data-dir", str(tmp_path))
    assert no_token.returncode == 2 and "no token" in no_token.stderr
    bad_target = pathops("serve", "--target", str(tmp_path / "missing.yaml"), "--data-dir", str(tmp_path))
    assert bad_target.returncode == 2
    assert "not 'embedded', 'stack' or a readable config file" in bad_target.stderr
