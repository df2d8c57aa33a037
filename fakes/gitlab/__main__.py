"""Run the GitLab fake alone: `python -m fakes.gitlab --port 8929 [--data-dir D] [--token T=user ...]`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from fakes.common.config import FakeConfig
from fakes.gitlab import build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.gitlab", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8929)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="state and repositories (default: temporary)"
    )
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN=USER", help="repeatable")
    parser.add_argument("--public-url", default="", help="base URL others reach this fake at")
    parser.add_argument("--scopes", action="append", default=[], metavar="USER=SCOPE,SCOPE",
                        help="override a user's token scopes, e.g. viewer=read_api,read_repository")  # fmt: skip
    args = parser.parse_args(argv)
    tokens = {}
    for item in args.token:
        token, sep, user = item.partition("=")
        if not sep or not token or not user:
            parser.error(f"--token wants TOKEN=USER, not {item!r}")
        tokens[token] = user
    options = {}
    for item in args.scopes:
        user, sep, scopes = item.partition("=")
        if not sep or not user:
            parser.error(f"--scopes wants USER=SCOPE,SCOPE, not {item!r}")
        options[f"scopes.{user}"] = scopes
    public_url = args.public_url or f"http://{args.host}:{args.port}"
    config = FakeConfig(data_dir=args.data_dir, tokens=tokens, public_url=public_url, options=options)
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(build(config), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
