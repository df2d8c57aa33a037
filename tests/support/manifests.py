"""Kubernetes manifests the tests deploy through the fakes: a tiny HTTP server with a readiness probe."""

from __future__ import annotations

from typing import Any

SERVER = (
    "import http.server as h; h.HTTPServer(('127.0.0.1', {port}), h.SimpleHTTPRequestHandler).serve_forever()"
)


def deployment(
    port: int, *, image: str = "local/shop-api:v1", command: list[str] | None = None, env: str | None = None
) -> dict[str, Any]:
    """Deployment `shop-api`: one replica running `command` (default: an HTTP server on `port`,
    probed for readiness); `env` sets RELEASE."""
    container: dict[str, Any] = {
        "name": "api",
        "image": image,
        "command": command or ["python3", "-c", SERVER.format(port=port)],
        "readinessProbe": {"httpGet": {"path": "/", "port": port}, "periodSeconds": 1},
    }
    if env is not None:
        container["env"] = [{"name": "RELEASE", "value": env}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop-api"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "shop-api"}},
            "template": {"metadata": {"labels": {"app": "shop-api"}}, "spec": {"containers": [container]}},
        },
    }
