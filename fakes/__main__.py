"""`python -m fakes up`: start the fakes of the embedded target, each on its own loopback port.

    python -m fakes up [--only gitlab,kubernetes,...] [--data-dir DIR] [--port-base N] [--json FILE]
                       [--option FAKE.KEY=VALUE ...]

Prints a table of the fakes and their URLs, and writes FILE (default DIR/fakes.json, mode 0600)
with every URL and credential a client needs. Runs until interrupted. `--port-base 0` picks free
ports. Each fake also starts alone: `python -m fakes.<name> --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

import uvicorn

from fakes.common.config import FakeConfig
from fakes.common.server import bind

# start order: a fake's peers come before it
SYSTEMS = ("kubernetes", "gitlab", "harbor", "s3", "jenkins", "alertmanager", "argocd")
PEERS = {"argocd": ("kubernetes", "gitlab")}
IDENTITIES = ("admin", "pathops", "ci", "argocd")


def plan(only: list[str], data_dir: Path, port_base: int) -> dict[str, dict[str, Any]]:
    """What to start: per fake its port, data dir and the token of each identity."""
    unknown = sorted(set(only) - set(SYSTEMS))
    if unknown:
        raise SystemExit(f"python -m fakes: no fake named {', '.join(unknown)}; known: {', '.join(SYSTEMS)}")
    chosen = [s for s in SYSTEMS if not only or s in only]
    for name in chosen:
        missing = [p for p in PEERS.get(name, ()) if p not in chosen]
        if missing:
            raise SystemExit(f"python -m fakes: {name} needs {', '.join(missing)} too")
    return {
        name: {
            "port": port_base + n if port_base else 0,
            "data_dir": str(data_dir / name),
            "tokens": {identity: f"{name}-{identity}-{secrets.token_hex(8)}" for identity in IDENTITIES},
            **(
                {"secrets": {identity: secrets.token_urlsafe(24) for identity in IDENTITIES}}
                if name == "s3"
                else {}
            ),
        }
        for n, name in enumerate(chosen)
    }


def config_for(
    name: str,
    entry: dict[str, Any],
    urls: dict[str, str],
    all_: dict[str, dict[str, Any]],
    extra: dict[str, str],
) -> FakeConfig:
    options: dict[str, str] = {}
    if name == "argocd":
        options = {
            "kube_token": all_["kubernetes"]["tokens"]["argocd"],
            "git_token": all_["gitlab"]["tokens"]["argocd"],
            "period_s": "3",
        }
    if name == "s3":  # access key -> identity in tokens; each access key has its own secret key
        options = {
            f"secret_key:{entry['tokens'][identity]}": secret for identity, secret in entry["secrets"].items()
        }
    options |= {key.split(".", 1)[1]: value for key, value in extra.items() if key.startswith(f"{name}.")}
    return FakeConfig(
        data_dir=Path(entry["data_dir"]),
        tokens={token: identity for identity, token in entry["tokens"].items()},
        peers={p: urls[p] for p in PEERS.get(name, ())},
        public_url=urls[name],
        options=options,
    )


async def up(only: list[str], data_dir: Path, port_base: int, out: Path, extra: dict[str, str]) -> None:
    entries = plan(only, data_dir, port_base)
    sockets = {name: bind("127.0.0.1", entry["port"]) for name, entry in entries.items()}
    urls = {name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()}
    servers = []
    for name, entry in entries.items():
        module = importlib.import_module(f"fakes.{name}")
        app = module.build(config_for(name, entry, urls, entries, extra))
        servers.append(uvicorn.Server(uvicorn.Config(app, log_level="warning")))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({name: {"url": urls[name], **entries[name]} for name in entries}, f, indent=2)
    tasks = [
        asyncio.create_task(s.serve(sockets=[sockets[name]]))
        for s, name in zip(servers, entries, strict=True)
    ]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            raise SystemExit("python -m fakes: a fake failed to start")
        await asyncio.sleep(0.05)
    print(f"{'fake':<14} url")
    for name in entries:
        print(f"{name:<14} {urls[name]}")
    print(f"credentials and URLs: {out}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fakes", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("up", help="start the fakes and print their URLs")
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(SYSTEMS)}")
    p.add_argument(
        "--data-dir", type=Path, default=Path(".pathops/fakes"), help="state that survives a restart"
    )
    p.add_argument("--port-base", type=int, default=18080, help="first port (0: any free ports)")
    p.add_argument("--json", type=Path, default=None, help="where to write URLs and credentials")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="FAKE.KEY=VALUE",
        help="an option of one fake, e.g. jenkins.jobs=jobs.yaml or alertmanager.receiver_url=URL",
    )
    args = parser.parse_args(argv)
    if args.command != "up":
        parser.print_help()
        return 2
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [o for o in args.option if "=" not in o or "." not in o.split("=", 1)[0]]
    if bad:
        parser.error(f"--option must be FAKE.KEY=VALUE, not {bad[0]!r}")
    extra = dict(o.split("=", 1) for o in args.option)
    asyncio.run(
        up(only, args.data_dir.resolve(), args.port_base, args.json or args.data_dir / "fakes.json", extra)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
