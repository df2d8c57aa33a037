"""`python -m fakes.kubernetes --port N [--data-dir D] [--token TOKEN=identity ...] [--option KEY=VALUE ...]`"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from fakes.common.config import FakeConfig
from fakes.kubernetes import build


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep:
            raise SystemExit(f"{flag} takes KEY=VALUE, not {value!r}")
        pairs[key] = rest
    return pairs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.kubernetes", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--token", action="append", default=[], help="TOKEN=identity (repeatable)")
    parser.add_argument(
        "--option", action="append", default=[], help="KEY=VALUE (repeatable), see settings.py"
    )
    args = parser.parse_args(argv)
    config = FakeConfig(
        data_dir=args.data_dir,
        tokens=_pairs(args.token, "--token"),
        public_url=f"http://{args.host}:{args.port}",
        options=_pairs(args.option, "--option"),
    )
    uvicorn.run(
        build(config), host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=5
    )


if __name__ == "__main__":
    main()
