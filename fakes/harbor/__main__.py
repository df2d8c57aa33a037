"""`python -m fakes.harbor --port N [--data-dir D] [--admin-password P]`: serve the Harbor fake."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from fakes.common.config import FakeConfig
from fakes.harbor import build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.harbor", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--admin-password", default="Harbor12345")
    args = parser.parse_args(argv)
    config = FakeConfig(
        data_dir=args.data_dir,
        tokens={args.admin_password: "admin"},
        public_url=f"http://{args.host}:{args.port}",
    )
    uvicorn.run(build(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
