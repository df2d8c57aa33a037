"""`python -m fakes.alertmanager --port N --receiver-url URL [--secret S] [--group-by a,b] [--option k=v]`."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from fakes.alertmanager import build
from fakes.common.config import FakeConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.alertmanager", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, help="where the access log is kept")
    parser.add_argument("--receiver-url", default="", help="the webhook receiver's URL")
    parser.add_argument("--secret", default="", help="sent as `Authorization: Bearer <secret>`")
    parser.add_argument("--group-by", default="alertname", help="comma-separated labels")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="group_wait, group_interval, repeat_interval, resolve_timeout (s), ...")  # fmt: skip
    args = parser.parse_args(argv)
    options = dict(o.partition("=")[::2] for o in args.option)
    options.update(receiver_url=args.receiver_url, secret=args.secret, group_by=args.group_by)
    config = FakeConfig(data_dir=args.data_dir, options=options, public_url=f"http://{args.host}:{args.port}")
    uvicorn.run(build(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
