"""`python -m fakes.argocd --port N --kubernetes URL [--token TOKEN=identity ...] [--option key=value ...]`"""

from __future__ import annotations

import argparse

import uvicorn

from fakes.argocd import build
from fakes.common.config import FakeConfig


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.argocd", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--kubernetes", default="", help="the cluster's API URL")
    parser.add_argument("--token", action="append", default=[], help="TOKEN=identity (repeatable)")
    parser.add_argument(
        "--option", action="append", default=[], help="key=value (see fakes/argocd/__init__.py)"
    )
    args = parser.parse_args()
    config = FakeConfig(
        tokens=dict(t.split("=", 1) for t in args.token),
        peers={"kubernetes": args.kubernetes} if args.kubernetes else {},
        options=dict(o.split("=", 1) for o in args.option),
    )
    uvicorn.run(build(config), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
