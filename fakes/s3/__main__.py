"""`python -m fakes.s3 --port N [--data-dir D] [--access-key K --secret-key S]`: serve the S3 fake."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from fakes.common.config import FakeConfig
from fakes.s3 import DEFAULT_KEY, build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.s3", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--access-key", default=DEFAULT_KEY)
    parser.add_argument("--secret-key", default=DEFAULT_KEY)
    args = parser.parse_args(argv)
    config = FakeConfig(
        data_dir=args.data_dir,
        tokens={args.access_key: args.access_key},
        public_url=f"http://{args.host}:{args.port}",
        options={f"secret_key:{args.access_key}": args.secret_key},
    )
    uvicorn.run(build(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
