"""`pathops`: run the appliance, or ask a running one about its state.

    pathops serve        run the control plane (API, webhooks, durable workers, the console at /) and,
                         for the embedded target, the systems it governs (fakes; `--no-stack`: none)
    pathops demo         the same, with the `shop` project seeded into those systems and tokens for
                         users admin (owner), reviewer and viewer
    pathops status       counts of incidents, change sets, artifacts; outbox and timers
    pathops incidents    incidents, newest first
    pathops changesets   change sets, newest first
    pathops audit        the audit trail, newest first
    pathops fakes up     start the fakes of the embedded target (GitLab, Jenkins, Argo CD, ...)
    pathops scenario     the scenario catalog: list, show, run one (docs/scenarios.md)
    pathops conformance  run the catalog against a target; JUnit, JSON and HTML verdicts

The read commands talk to a running appliance over its API (`--url`, default the local one) with a
token (`--token`, `$PATHOPS_TOKEN`, or the owner token the demo wrote into the data directory).
Every command takes `--help`; the read commands take `--json` for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from appliance.contracts.settings import Settings
from appliance.entrypoints import scenario_cli
from appliance.entrypoints import settings as settings_mod

if TYPE_CHECKING:
    from appliance.bootstrap import Target

EXIT_UNREACHABLE = 3


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        result: int = args.run(args)
        return result
    except settings_mod.SettingsError as exc:
        print(f"pathops: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pathops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def server(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1; $PATHOPS_HOST)")
        p.add_argument("--port", type=int, default=None, help="port to bind (default 8765; $PATHOPS_PORT)")
        p.add_argument("--data-dir", type=Path, default=None, help="state directory (default ./.pathops)")
        p.add_argument(
            "--target", default=None, help="embedded (default), stack, or a config YAML of your own systems"
        )
        p.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING")
        p.add_argument(
            "--no-stack",
            action="store_true",
            help="embedded target: do not start the fakes (the API alone; CI jobs wait until one is set)",
        )
        return p

    server("serve", "Run the PathOps control plane: API, webhooks and durable workers.").set_defaults(
        run=_serve
    )
    demo = server("demo", "Serve with the seeded `shop` project and print how to use it.")
    demo.set_defaults(run=_demo)

    fakes = sub.add_parser(
        "fakes",
        help="Start the fakes of the embedded target (`pathops fakes up --help`).",
        description="Runs `python -m fakes ARGS`: the protocol-faithful fakes, each on its own port.",
    )
    fakes.add_argument("args", nargs=argparse.REMAINDER, help="e.g. up --only gitlab,kubernetes")
    fakes.set_defaults(run=_fakes)
    scenario_cli.add_commands(sub)

    for name, help_, path in (
        ("status", "Counts of every kind of instance, the outbox and timers.", "/api/status"),
        ("incidents", "Incidents, newest first.", "/api/incidents"),
        ("changesets", "Change sets, newest first.", "/api/changesets"),
        ("audit", "The audit trail, newest first: who or what did what, when.", "/api/audit"),
    ):
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument(
            "--url", default=os.environ.get("PATHOPS_URL", "http://127.0.0.1:8765"), help="appliance URL"
        )
        p.add_argument("--token", default=os.environ.get("PATHOPS_TOKEN"), help="API token ($PATHOPS_TOKEN)")
        p.add_argument(
            "--data-dir", type=Path, default=Path(".pathops"), help="where the demo's owner token is"
        )
        p.add_argument("--json", action="store_true", help="print JSON for scripts")
        if name != "status":
            p.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")
        p.set_defaults(run=_reader(path))
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return settings_mod.load(
        {
            "host": args.host,
            "port": args.port,
            "data_dir": args.data_dir,
            "target": args.target,
            "log_level": args.log_level,
        }
    )


def _fakes(args: argparse.Namespace) -> int:
    # a separate program: the appliance never imports the fakes (import-linter checks it)
    os.execv(sys.executable, [sys.executable, "-m", "fakes", *(args.args or ["--help"])])
    return 0  # not reached


def _serve(args: argparse.Namespace) -> int:
    return asyncio.run(_run_server(_settings(args), demo=False, stack=not args.no_stack))


def _demo(args: argparse.Namespace) -> int:
    return asyncio.run(_run_server(_settings(args), demo=True, stack=not args.no_stack))


async def _run_server(settings: Settings, *, demo: bool, stack: bool) -> int:
    from appliance.bootstrap import start_target

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(
        max(logging.WARNING, logging.getLogger().level)
    )  # not a line per request
    if stack and settings.target == "embedded":
        print(f"starting the embedded systems (fakes) in {settings.data_dir / 'embedded'} ...", flush=True)
    target = await start_target(settings, with_stack=stack)
    try:
        return await _serve_target(target, demo=demo)
    finally:
        await target.stop()


async def _serve_target(target: Target, *, demo: bool) -> int:
    import uvicorn

    from appliance.bootstrap import build
    from appliance.contracts.entities import Role
    from appliance.entrypoints.api.app import create_app
    from appliance.services import access, projects
    from ui import asgi as console

    settings = target.settings
    appliance = await build(settings)
    ctx = appliance.ctx
    token_file = settings.data_dir / "owner.token"
    _write_token(token_file, await access.ensure_owner(ctx, name=settings.owner))
    if demo:
        for role in (Role.REVIEWER, Role.VIEWER):  # so people and browser tests can log in with each role
            _write_token(
                settings.data_dir / f"{role}.token", await access.ensure_user(ctx, name=str(role), role=role)
            )
        seed = resources.files("appliance").joinpath("seed/shop.yaml").read_text()
        await projects.load(ctx, projects.parse_meta(seed, source="seed/shop.yaml"), actor="pathops")
    app = console.build(appliance, create_app(appliance))
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(), lifespan="on"
    )
    server = uvicorn.Server(config)
    console.adopt(server)
    print(f"PathOps {'demo ' if demo else ''}at {settings.base_url}  (API docs: {settings.base_url}/schema)")
    print(f"  console: {settings.base_url}/login  (user {settings.owner}, token in {token_file})")
    if demo:
        print(f"  also users reviewer and viewer: {settings.data_dir / 'reviewer.token'}, viewer.token")
    print(f"  owner token: {token_file}  (try: {sys.argv[0]} status --data-dir {settings.data_dir})")
    print(
        f"  Alertmanager webhook: {settings.base_url}/webhooks/alertmanager"
        f"  (bearer secret in {settings.data_dir / 'secrets.json'})"
    )
    if target.endpoints is not None:
        for service in target.endpoints.services():
            print(f"  {service.name:<13} {service.url}")
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if demo and target.endpoints is not None and not serving.done():
        try:
            report = await target.seed(progress=lambda line: print(f"  seed: {line}", flush=True))
        except Exception as exc:  # the API stays up: the seed can be run again by restarting the demo
            print(f"pathops: seeding the embedded systems failed: {exc}", file=sys.stderr, flush=True)
        else:
            if report is not None:
                print(f"  {report.summary()}", flush=True)
    await serving
    return 0


def _write_token(path: Path, token: str | None) -> None:
    """Keep a freshly issued token next to the state (mode 0600); None: the user existed already."""
    if token is None:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")


def _reader(path: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        token = args.token or _token_file(args.data_dir)
        if not token:
            print(
                f"pathops: no token: pass --token, set PATHOPS_TOKEN, or run the demo in {args.data_dir}",
                file=sys.stderr,
            )
            return 2
        params = {"limit": str(args.limit)} if hasattr(args, "limit") else {}
        try:
            response = httpx.get(
                args.url.rstrip("/") + path,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
        except httpx.TransportError as exc:
            print(
                f"pathops: cannot reach PathOps at {args.url} ({type(exc).__name__}); is `pathops serve` running?",
                file=sys.stderr,
            )
            return EXIT_UNREACHABLE
        if response.status_code >= 400:
            detail = response.json().get("detail", response.text) if _is_json(response) else response.text
            print(f"pathops: {response.status_code}: {detail}", file=sys.stderr)
            return 1
        body = response.json()
        print(json.dumps(body, indent=2) if args.json else _table(args.command, body))
        return 0

    return run


def _token_file(data_dir: Path) -> str | None:
    path = data_dir / "owner.token"
    return path.read_text().strip() if path.exists() else None


def _is_json(response: httpx.Response) -> bool:
    return str(response.headers.get("content-type", "")).startswith("application/json")


def _table(command: str, body: Any) -> str:
    if command == "status":
        lines = [f"PathOps {body['version']}  projects: {', '.join(body['projects']) or '-'}"]
        for kind, phases in sorted(body["instances"].items()):
            lines.append(f"  {kind:<10} " + "  ".join(f"{p}={n}" for p, n in sorted(phases.items())))
        lines.append(
            f"  outbox: {body['outbox_pending']} pending, {body['outbox_failed']} failed; "
            f"timers: {body['timers']}"
        )
        return "\n".join(lines)
    if command == "audit":
        rows = [
            f"{r['at'][:19]}  {r['actor']:<14} {r['action']:<28} {r['object']:<28} {r['outcome']:<9} {r['detail']}"
            for r in body
        ]
        return "\n".join(rows) or "(no audit records)"
    rows = []
    for r in body:
        s = r["state"]
        what = s.get("summary") or s.get("title") or ""
        reason = f"  ({s['reason']})" if s.get("reason") else ""
        rows.append(
            f"{r['id']:<14} {r['phase']:<20} {r['project']:<10} {s.get('app', ''):<14} {what}{reason}"
        )
    return "\n".join(rows) or f"(no {command})"


if __name__ == "__main__":
    sys.exit(main())
