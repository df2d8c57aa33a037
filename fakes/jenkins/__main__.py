"""`python -m fakes.jenkins --port N [--data-dir D] [--token user=apitoken ...] [--jobs jobs.yaml]`."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from fakes.common.config import FakeConfig
from fakes.jenkins import build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.jenkins", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--token", action="append", default=[], metavar="USER=APITOKEN")
    parser.add_argument("--jobs", type=Path, help="jobs.yaml: name -> {parameters, command, timeout}")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    tokens = {}
    for pair in args.token:
        user, sep, token = pair.partition("=")
        if not sep or not user or not token:
            parser.error(f"--token wants USER=APITOKEN, not {pair!r}")
        tokens[token] = user
    options = dict(o.partition("=")[::2] for o in args.option)
    if args.jobs:
        options["jobs"] = str(args.jobs)
    config = FakeConfig(data_dir=args.data_dir, tokens=tokens, options=options,
                        public_url=f"http://{args.host}:{args.port}")  # fmt: skip
    uvicorn.run(build(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
