"""What every fake is built from: `build(config) -> FakeApp` in each `fakes/<system>/__init__.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FakeConfig:
    """`data_dir` None keeps state in memory; a directory keeps it across restarts.

    `tokens` maps a secret to the identity it authenticates (e.g. {"glpat-ci": "ci"}); what an
    identity may do is each fake's own rule table. `peers` holds the base URLs of other fakes a
    fake talks to over HTTP (e.g. Argo CD needs "gitlab" and "kubernetes"), never their code.
    `public_url` is this fake's own base URL as others reach it (set once the port is known).
    """

    data_dir: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    peers: dict[str, str] = field(default_factory=dict)
    public_url: str = ""
    options: dict[str, str] = field(default_factory=dict)
