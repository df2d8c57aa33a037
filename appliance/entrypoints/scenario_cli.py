"""`pathops scenario list|show|run NAME` and `pathops conformance`: the scenario catalog, played on a
target of its own, with JUnit, JSON and HTML verdicts (docs/scenarios.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

EXIT_FAILED, EXIT_INPUT = 1, 2


def add_commands(sub: Any) -> None:
    scenario = sub.add_parser(
        "scenario",
        help="The scenario catalog: list, show, or run one scenario on its own embedded target.",
        description="Scripted failures played through the golden paths (docs/scenarios.md).",
    )
    verbs = scenario.add_subparsers(dest="verb", metavar="VERB")
    listed = verbs.add_parser("list", help="every scenario: name, steps, tags, title")
    listed.add_argument("--json", action="store_true", help="print JSON for scripts")
    listed.add_argument("--dir", type=Path, default=None, help="a directory of scenario YAML files")
    listed.set_defaults(run=_list)
    shown = verbs.add_parser("show", help="one scenario's steps and narration")
    shown.add_argument("name")
    shown.add_argument("--json", action="store_true", help="print JSON for scripts")
    shown.add_argument("--dir", type=Path, default=None, help="a directory of scenario YAML files")
    shown.set_defaults(run=_show)
    ran = verbs.add_parser("run", help="play one scenario on a fresh embedded target and print its verdict")
    ran.add_argument("name")
    _run_options(ran)
    ran.set_defaults(run=_run_one)
    scenario.set_defaults(run=lambda args: (scenario.print_help(), EXIT_INPUT)[1])

    conformance = sub.add_parser(
        "conformance",
        help="Run the scenario catalog against a target and write JUnit, JSON and HTML verdicts.",
        description="Each scenario runs on a target of its own; the exit code is 1 if any step failed, "
        "2 for bad input.",
    )
    conformance.add_argument("--only", default="", help="comma-separated scenario names or tags")
    conformance.add_argument("--parallel", type=int, default=1, help="scenarios at once (default 1)")
    conformance.add_argument("--junit", type=Path, default=None, help="write JUnit XML here")
    _run_options(conformance)
    conformance.set_defaults(run=_conformance)


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        default="embedded",
        help="embedded (default: a fresh appliance and fakes per scenario), or FILE: a YAML file naming a "
        "running PathOps and its systems (docs/scenarios.md); `stack` is not available yet",
    )
    p.add_argument("--json", type=Path, default=None, dest="json_out", help="write the JSON verdict here")
    p.add_argument(
        "--html", type=Path, default=None, help="write the HTML report here (default: beside --json)"
    )
    p.add_argument(
        "--dir", type=Path, default=None, help="a directory of scenario YAML files (default: the catalog)"
    )
    p.add_argument(
        "--work-dir", type=Path, default=None, help="where the targets keep their state (default: a temp dir)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _catalog(args: argparse.Namespace) -> list[Any] | None:
    from appliance.scenarios.conformance import catalog
    from appliance.scenarios.load import ScenarioError

    try:
        return catalog(args.dir)
    except ScenarioError as exc:
        print(f"pathops: {exc}", file=sys.stderr)
        return None


def _list(args: argparse.Namespace) -> int:
    scenarios = _catalog(args)
    if scenarios is None:
        return EXIT_INPUT
    if args.json:
        print(json.dumps([{"name": s.name, "title": s.title, "tags": list(s.tags), "steps": len(s.steps)}
                          for s in scenarios], indent=2))  # fmt: skip
        return 0
    width = max((len(s.name) for s in scenarios), default=4)
    for s in scenarios:
        print(f"{s.name:<{width}}  {len(s.steps):>2} steps  {','.join(s.tags):<28}  {s.title}")
    return 0


def _find(args: argparse.Namespace) -> Any:
    scenarios = _catalog(args)
    if scenarios is None:
        return None
    found = [s for s in scenarios if s.name == args.name]
    if not found:
        names = ", ".join(s.name for s in scenarios)
        print(f"pathops: no scenario {args.name!r}; there are: {names}", file=sys.stderr)
        return None
    return found[0]


def _show(args: argparse.Namespace) -> int:
    scenario = _find(args)
    if scenario is None:
        return EXIT_INPUT
    if args.json:
        print(json.dumps(msgspec.to_builtins(scenario), indent=2))
        return 0
    print(f"{scenario.name}: {scenario.title}")
    print(f"  project {scenario.setup.project}, tags {', '.join(scenario.tags) or '-'}")
    for n, step in enumerate(scenario.steps, 1):
        print(f"  {n:>2}. {step.id} [{step.kind}, {step.actor}] {step.narration}")
        if step.why:
            print(f"      why: {step.why}")
    return 0


def _run_one(args: argparse.Namespace) -> int:
    scenario = _find(args)
    if scenario is None:
        return EXIT_INPUT
    return _execute(args, [scenario])


def _conformance(args: argparse.Namespace) -> int:
    from appliance.scenarios.conformance import SelectionError, select

    scenarios = _catalog(args)
    if scenarios is None:
        return EXIT_INPUT
    try:
        chosen = select(scenarios, [o.strip() for o in args.only.split(",") if o.strip()])
    except SelectionError as exc:
        print(f"pathops: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return _execute(args, chosen)


def _execute(args: argparse.Namespace, scenarios: list[Any]) -> int:
    from appliance.scenarios import report
    from appliance.scenarios.conformance import SelectionError, run

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    try:
        verdict = run(scenarios, target=args.target, parallel=getattr(args, "parallel", 1),
                      work_dir=args.work_dir, progress=progress)  # fmt: skip
    except SelectionError as exc:
        print(f"pathops: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if args.json_out:
        report.write_json(verdict, args.json_out)
    if getattr(args, "junit", None):
        report.write_junit(verdict, args.junit)
    html = args.html or (args.json_out.with_suffix(".html") if args.json_out else None)
    if html:
        report.write_html(verdict, html)
    for s in verdict.scenarios:
        failed = [st for st in s.steps if st.status == "failed"] + [
            c for c in s.checks if c.status == "failed"
        ]
        print(
            f"{s.status:<7} {s.name}  {s.seconds:.0f} s" + (f"  ({failed[0].detail[:200]})" if failed else "")
        )
    print(f"{verdict.status}: {sum(s.status == 'passed' for s in verdict.scenarios)}/{len(verdict.scenarios)} "
          f"scenarios in {verdict.seconds:.0f} s")  # fmt: skip
    return 0 if verdict.status == "passed" else EXIT_FAILED
