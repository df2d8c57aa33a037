"""`python -m fakes.monitor --port N --kubernetes URL [--alertmanager URL] [--option key=value ...]`"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from fakes.common.config import FakeConfig
from fakes.monitor import build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.monitor", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--data-dir", type=Path, help="where the access log is kept")
    parser.add_argument("--kubernetes", required=True, help="the cluster's API URL")
    parser.add_argument(
        "--alertmanager", default="", help="Alertmanager's URL (alerts are only evaluated without)"
    )
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="kube_token, period_s, window_s, restarts, for_s, namespaces, ... (see fakes/monitor/settings.py)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    peers = {
        "kubernetes": args.kubernetes,
        **({"alertmanager": args.alertmanager} if args.alertmanager else {}),
    }
    config = FakeConfig(
        data_dir=args.data_dir,
        peers=peers,
        public_url=f"http://{args.host}:{args.port}",
        options=dict(o.partition("=")[::2] for o in args.option),
    )
    uvicorn.run(build(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
