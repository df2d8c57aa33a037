"""EmbeddedStack's failures are clear one-liners (its ports are taken, its child process dies), and no
repr of its endpoints or secrets shows a credential."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from appliance.adapters.embedded import ControlPlaneSecrets, EmbeddedStack, Endpoints
from appliance.contracts.settings import Settings
from appliance.ports.errors import PermanentError

SECRETS = ControlPlaneSecrets(gitlab="gl-secret-1", argocd="argo-secret-1", alertmanager="am-secret-1")


def test_a_taken_port_of_the_stack_is_named(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        (tmp_path / "stack.json").write_text(
            json.dumps({"argocd_webhook_secret": "s", "port_base": port})
        )  # the held port opens the block: the first one checked (another test may hold one above)
        stack = EmbeddedStack(tmp_path, control_plane_url="http://127.0.0.1:1", secrets=SECRETS)
        with pytest.raises(
            PermanentError,
            match=f"port {port} is taken: .* uses ports {port}-{port + 9} .*is it running already",
        ):
            asyncio.run(stack.start())
    assert stack.proc is None


def test_a_child_that_dies_at_start_fails_the_start_and_keeps_no_secret_in_argv(tmp_path: Path) -> None:
    stack = EmbeddedStack(
        tmp_path, control_plane_url="http://127.0.0.1:1", secrets=SECRETS, python="/bin/false"
    )
    with pytest.raises(PermanentError, match="the embedded stack exited with 1"):
        asyncio.run(stack.start())
    assert stack.proc is None
    argv = " ".join(stack.command())
    state = json.loads((tmp_path / "stack.json").read_text())
    assert "--identity kubernetes=agent:shop-api" in argv and "--identity s3=agent" in argv
    for secret in (state["argocd_webhook_secret"], SECRETS.argocd, SECRETS.alertmanager, SECRETS.gitlab):
        assert secret not in argv
    options = tmp_path / "options.json"
    assert oct(options.stat().st_mode & 0o777) == "0o600"
    assert json.loads(options.read_text())["alertmanager.secret"] == SECRETS.alertmanager


def test_no_repr_shows_a_credential(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, gitlab_secret="gl-1", argocd_secret="ar-1", alertmanager_secret="am-1"
    )
    secrets = ControlPlaneSecrets.of(settings)
    assert (secrets.gitlab, secrets.argocd, secrets.alertmanager) == ("gl-1", "ar-1", "am-1")
    fakes = {
        name: {
            "url": f"http://127.0.0.1:{n}",
            "port": n,
            "tokens": {"admin": f"tok-{name}"},
            "secrets": {"admin": "s3-x"},
        }
        for n, name in enumerate(
            ("gitlab", "jenkins", "argocd", "harbor", "s3", "kubernetes", "alertmanager"), 1
        )
    }
    (tmp_path / "fakes.json").write_text(json.dumps(fakes))
    endpoints = Endpoints.load(tmp_path / "fakes.json", argocd_webhook_secret="hook-1", ci_config="ci.json")
    assert endpoints.s3.secret("admin") == "s3-x" and endpoints.gitlab.host == "127.0.0.1:1"
    shown = repr(secrets) + repr(endpoints) + repr(endpoints.gitlab) + str(endpoints)
    assert not [s for s in ("gl-1", "ar-1", "am-1", "tok-", "s3-x", "hook-1") if s in shown]
    with pytest.raises(PermanentError, match="gitlab has no identity 'ci'"):
        endpoints.gitlab.token("ci")
