"""`python -m fakes up`: start the fakes of the embedded target, each on its own loopback port.

    python -m fakes up [--only gitlab,kubernetes,...] [--data-dir DIR] [--port-base N] [--json FILE]
                       [--option FAKE.KEY=VALUE ...] [--options-file FILE] [--identity FAKE=NAME ...]

Prints a table of the fakes and their URLs, and writes FILE (default DIR/fakes.json, mode 0600)
with every URL and credential a client needs. Runs until interrupted. `--port-base 0` picks free
ports. Each fake also starts alone: `python -m fakes.<name> --help`.

Alertmanager is the real one (Debian's `prometheus-alertmanager`) when it is installed, configured
as the fake would be; `--option alertmanager.kind=fake` keeps the fake, `=real` insists on the real one.

Every fake knows the identities admin, pathops, ci and argocd; `--identity kubernetes=agent:shop-api`
adds one to a fake (a token for it, and for S3 a secret key). `--options-file` names a JSON object
`{"FAKE.KEY": "VALUE"}`, for options that should not show on a command line (webhook secrets);
`--option` wins over it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
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
SYSTEMS = ("kubernetes", "gitlab", "harbor", "s3", "jenkins", "alertmanager", "argocd", "monitor")
PEERS = {"argocd": ("kubernetes", "gitlab"), "monitor": ("kubernetes", "alertmanager")}
IDENTITIES = ("admin", "pathops", "ci", "argocd")


def plan(
    only: list[str], data_dir: Path, port_base: int, extra_identities: dict[str, list[str]] | None = None
) -> dict[str, dict[str, Any]]:
    """What to start: per fake its port, data dir and the token of each identity."""
    extra_identities = extra_identities or {}
    unknown = sorted((set(only) | set(extra_identities)) - set(SYSTEMS))
    if unknown:
        raise SystemExit(f"python -m fakes: no fake named {', '.join(unknown)}; known: {', '.join(SYSTEMS)}")
    chosen = [s for s in SYSTEMS if not only or s in only]
    for name in chosen:
        missing = [p for p in PEERS.get(name, ()) if p not in chosen]
        if missing:
            raise SystemExit(f"python -m fakes: {name} needs {', '.join(missing)} too")
    identities = {
        name: list(dict.fromkeys([*IDENTITIES, *extra_identities.get(name, [])])) for name in chosen
    }
    return {
        name: {
            "port": port_base + n if port_base else 0,
            "data_dir": str(data_dir / name),
            "tokens": {identity: _token(name, identity) for identity in identities[name]},
            **(
                {"secrets": {identity: secrets.token_urlsafe(24) for identity in identities[name]}}
                if name == "s3"
                else {}
            ),
        }
        for n, name in enumerate(chosen)
    }


def _token(name: str, identity: str) -> str:
    return f"{name}-{identity.replace(':', '-')}-{secrets.token_hex(8)}"


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
    if name == "monitor":  # reads pods and ReplicaSets cluster-wide, as PathOps' read-only identity may
        options = {"kube_token": all_["kubernetes"]["tokens"]["pathops"]}
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


async def up(
    only: list[str],
    data_dir: Path,
    port_base: int,
    out: Path,
    extra: dict[str, str],
    identities: dict[str, list[str]] | None = None,
) -> None:
    entries = plan(only, data_dir, port_base, identities)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request between the fakes
    sockets = {name: bind("127.0.0.1", entry["port"]) for name, entry in entries.items()}
    urls = {name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()}
    servers, kinds, real = [], {name: "fake" for name in entries}, None
    if "alertmanager" in entries and _wants_real_alertmanager(extra):
        sockets.pop("alertmanager").close()  # the real one binds the port itself
        real = _real_alertmanager(entries["alertmanager"], urls, extra)
        urls["alertmanager"], kinds["alertmanager"] = real.url, "real"
    for name, entry in entries.items():
        if name not in sockets:
            continue
        module = importlib.import_module(f"fakes.{name}")
        app = module.build(config_for(name, entry, urls, entries, extra))
        servers.append(uvicorn.Server(uvicorn.Config(app, log_level="warning")))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({name: {"url": urls[name], "kind": kinds[name], **entries[name]} for name in entries}, f,
                  indent=2)  # fmt: skip
    tasks = [
        asyncio.create_task(s.serve(sockets=[sockets[name]]))
        for s, name in zip(servers, sockets, strict=True)
    ]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            raise SystemExit("python -m fakes: a fake failed to start")
        await asyncio.sleep(0.05)
    print(f"{'fake':<14} url")
    for name in entries:
        print(f"{name:<14} {urls[name]}" + ("  (the real Alertmanager)" if kinds[name] == "real" else ""))
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
    if real is not None:
        real.stop()


def _wants_real_alertmanager(extra: dict[str, str]) -> bool:
    from fakes.alertmanager.real import BINARY

    kind = extra.pop("alertmanager.kind", "auto")
    if kind not in ("auto", "real", "fake"):
        raise SystemExit(f"python -m fakes: alertmanager.kind is auto, real or fake, not {kind!r}")
    return kind == "real" or (kind == "auto" and BINARY.exists())


def _real_alertmanager(entry: dict[str, Any], urls: dict[str, str], extra: dict[str, str]) -> Any:
    """The real Alertmanager on the port planned for the fake, with the fake's configuration."""
    from fakes.alertmanager.real import AlertmanagerMissing, RealAlertmanager
    from fakes.alertmanager.settings import from_options, to_yaml

    options = {key.split(".", 1)[1]: value for key, value in extra.items() if key.startswith("alertmanager.")}
    port = int(urls["alertmanager"].rsplit(":", 1)[1])
    try:
        return RealAlertmanager(to_yaml(from_options(options, public_url=urls["alertmanager"]))).start(
            port=port
        )
    except (AlertmanagerMissing, RuntimeError) as exc:
        raise SystemExit(f"python -m fakes: {exc}") from None


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
    p.add_argument(
        "--options-file",
        type=Path,
        default=None,
        metavar="FILE",
        help='a JSON object of options, {"FAKE.KEY": "VALUE"}; --option wins over it',
    )
    p.add_argument(
        "--identity",
        action="append",
        default=[],
        metavar="FAKE=NAME",
        help="one more identity with a token in one fake, e.g. kubernetes=agent:shop-api or s3=agent",
    )
    args = parser.parse_args(argv)
    if args.command != "up":
        parser.print_help()
        return 2
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [o for o in args.option if "=" not in o or "." not in o.split("=", 1)[0]]
    if bad:
        parser.error(f"--option must be FAKE.KEY=VALUE, not {bad[0]!r}")
    bad = [i for i in args.identity if "=" not in i or not all(i.split("=", 1))]
    if bad:
        parser.error(f"--identity must be FAKE=NAME, not {bad[0]!r}")
    identities: dict[str, list[str]] = {}
    for item in args.identity:
        fake, name = item.split("=", 1)
        identities.setdefault(fake, []).append(name)
    extra = _options_file(parser, args.options_file) | dict(o.split("=", 1) for o in args.option)
    out = args.json or args.data_dir / "fakes.json"
    asyncio.run(up(only, args.data_dir.resolve(), args.port_base, out, extra, identities))
    return 0


def _options_file(parser: argparse.ArgumentParser, path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        parser.error(f"--options-file {path}: not a readable JSON file ({type(exc).__name__})")
    if not isinstance(raw, dict) or not all(isinstance(v, str) and "." in k for k, v in raw.items()):
        parser.error(f'--options-file {path}: a JSON object {{"FAKE.KEY": "VALUE"}} of strings is expected')
    return dict(raw)


if __name__ == "__main__":
    sys.exit(main())
