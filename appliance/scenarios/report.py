"""A conformance run's verdict written three ways: JSON for tools, JUnit for CI, HTML for people.

JUnit follows the widely read Jenkins shape (testsuites > testsuite > testcase, with failure, skipped and
system-out), so any CI shows one test per step and per least-privilege check. The HTML page is one file
with nothing to fetch and nothing to run, so it can be archived as a CI artifact and opened anywhere.
Every text is escaped: details carry logs and error bodies, which are not ours to trust.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from appliance.scenarios.verdict import CheckVerdict, RunVerdict, ScenarioVerdict, Status, StepVerdict

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINKABLE = frozenset({"http", "https", ""})


def write_json(verdict: RunVerdict, path: Path) -> None:
    """The `RunVerdict` as indented JSON, with the same keys the struct reads back."""
    _write(path, msgspec.json.format(msgspec.json.encode(verdict), indent=2).decode() + "\n")


def write_junit(verdict: RunVerdict, path: Path) -> None:
    _write(path, junit_xml(verdict))


def write_html(verdict: RunVerdict, path: Path) -> None:
    _write(path, html(verdict))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _printable(text: str) -> str:
    """Control characters (a log's ANSI colours) are invalid in XML 1.0: show them as `\\xNN` instead."""
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _utc(moment: datetime) -> datetime:
    """A naive time is taken as UTC, as the runner records it."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _statuses(scenario: ScenarioVerdict) -> list[Status]:
    return [step.status for step in scenario.steps] + [check.status for check in scenario.checks]


def _counts(statuses: list[Status]) -> dict[str, str]:
    return {
        "tests": str(len(statuses)),
        "failures": str(statuses.count("failed")),
        "skipped": str(statuses.count("skipped")),
    }


# JUnit


def junit_xml(verdict: RunVerdict) -> str:
    """One testsuite per scenario, one testcase per step and per check (`check:<name>`)."""
    every = [status for scenario in verdict.scenarios for status in _statuses(scenario)]
    root = ET.Element("testsuites", {"name": "pathops conformance", **_counts(every)})
    root.set("time", _junit_time(verdict.seconds))
    timestamp = _utc(verdict.started_at).strftime("%Y-%m-%dT%H:%M:%S")
    for scenario in verdict.scenarios:
        root.append(_testsuite(scenario, timestamp))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _junit_time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def _testsuite(scenario: ScenarioVerdict, timestamp: str) -> ET.Element:
    suite = ET.Element("testsuite", {"name": _printable(scenario.name), **_counts(_statuses(scenario))})
    suite.set("errors", "0")
    suite.set("time", _junit_time(scenario.seconds))
    suite.set("timestamp", timestamp)
    suite.set("hostname", "pathops")
    suite.extend(_step_case(scenario.name, step) for step in scenario.steps)
    suite.extend(_check_case(scenario.name, check) for check in scenario.checks)
    return suite


def _step_case(scenario: str, step: StepVerdict) -> ET.Element:
    case = _testcase(scenario, step.id, step.seconds, step.status, step.detail)
    links = [f"{label}: {url}" for label, url in step.links.items()]
    ET.SubElement(case, "system-out").text = _printable("\n".join([step.narration, *links]))
    return case


def _check_case(scenario: str, check: CheckVerdict) -> ET.Element:
    case = _testcase(scenario, f"check:{check.name}", 0.0, check.status, check.detail)
    if check.detail and check.status != "failed":
        ET.SubElement(case, "system-out").text = _printable(check.detail)
    return case


def _testcase(scenario: str, name: str, seconds: float, status: Status, detail: str) -> ET.Element:
    case = ET.Element("testcase", classname=_printable(scenario), name=_printable(name))
    case.set("time", _junit_time(seconds))
    if status == "failed":
        failure = ET.SubElement(case, "failure", message=_printable(_first_line(detail)), type="failed")
        failure.text = _printable(detail)
    elif status == "skipped":
        skipped = ET.SubElement(case, "skipped")
        if detail:
            skipped.set("message", _printable(_first_line(detail)))
    return case


def _first_line(detail: str) -> str:
    """CI lists show the message on one line; the whole detail stays in the element's text."""
    lines = detail.strip().splitlines()
    return lines[0] if lines else "failed"


# HTML


def html(verdict: RunVerdict) -> str:
    """One self-contained page: inline CSS, no scripts, no resources to fetch."""
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>PathOps conformance: {_text(verdict.target)}, {verdict.status}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            _header(verdict),
            "<main>",
            *(_section(scenario) for scenario in verdict.scenarios),
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _text(text: str) -> str:
    return escape(_printable(text), quote=True)


def _status(status: Status) -> str:
    return f'<span class="status {_text(status)}">{_text(status)}</span>'


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:04.1f} s"


def _anchor(scenario: ScenarioVerdict) -> str:
    return _text(f"scenario-{scenario.name}")


def _header(verdict: RunVerdict) -> str:
    started = _utc(verdict.started_at).strftime("%Y-%m-%d %H:%M:%S UTC")
    summary = "".join(
        f'<li><a href="#{_anchor(scenario)}">{_text(scenario.name)}</a> {_status(scenario.status)}</li>'
        for scenario in verdict.scenarios
    )
    return (
        f'<header class="run {_text(verdict.status)}">'
        f"<h1>PathOps conformance {_status(verdict.status)}</h1>"
        f"<dl><dt>Target</dt><dd>{_text(verdict.target)}</dd>"
        f"<dt>Started</dt><dd>{started}</dd>"
        f"<dt>Total time</dt><dd>{_duration(verdict.seconds)}</dd>"
        f"<dt>Scenarios</dt><dd>{_tally(scenario.status for scenario in verdict.scenarios)}</dd></dl>"
        f"<nav><ul>{summary}</ul></nav>"
        "</header>"
    )


def _tally(statuses: Iterable[Status]) -> str:
    seen = list(statuses)
    parts = [f"{seen.count(status)} {status}" for status in ("passed", "failed", "skipped") if status in seen]
    return ", ".join(parts) or "none"


def _section(scenario: ScenarioVerdict) -> str:
    return (
        f'<section id="{_anchor(scenario)}" class="scenario {_text(scenario.status)}">'
        f"<h2>{_text(scenario.title)}</h2>"
        f'<p class="meta"><code>{_text(scenario.name)}</code> {_status(scenario.status)} '
        f"{_duration(scenario.seconds)}</p>"
        f"{_steps_table(scenario.steps)}{_checks_table(scenario.checks)}"
        "</section>"
    )


def _steps_table(steps: tuple[StepVerdict, ...]) -> str:
    head = "".join(
        f"<th>{name}</th>" for name in ("Step", "Actor", "Narration", "Verdict", "Time", "Detail", "Links")
    )
    rows = "".join(_step_row(step) for step in steps)
    return f"<table><caption>Steps</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _step_row(step: StepVerdict) -> str:
    return (
        f'<tr class="{_text(step.status)}">'
        f"<td><code>{_text(step.id)}</code><br><small>{_text(step.kind)}</small></td>"
        f"<td>{_text(step.actor)}</td>"
        f"<td>{_text(step.narration)}</td>"
        f"<td>{_status(step.status)}</td>"
        f'<td class="num">{_duration(step.seconds)}</td>'
        f"<td>{_detail(step.detail)}</td>"
        f"<td>{_links(step.links)}</td>"
        "</tr>"
    )


def _checks_table(checks: tuple[CheckVerdict, ...]) -> str:
    if not checks:
        return ""
    rows = "".join(
        f'<tr class="{_text(check.status)}"><td><code>{_text(check.name)}</code></td>'
        f"<td>{_status(check.status)}</td><td>{_detail(check.detail)}</td></tr>"
        for check in checks
    )
    head = "<tr><th>Check</th><th>Verdict</th><th>Detail</th></tr>"
    return (
        f"<table><caption>Least-privilege checks</caption><thead>{head}</thead><tbody>{rows}</tbody></table>"
    )


def _detail(detail: str) -> str:
    return f"<pre>{_text(detail)}</pre>" if detail else ""


def _links(links: dict[str, str]) -> str:
    """Only web links become anchors: a `javascript:` URL in a verdict must not turn into a script."""
    return " ".join(
        f'<a href="{_text(url)}">{_text(label)}</a>'
        if urlsplit(url).scheme.lower() in _LINKABLE
        else f"{_text(label)}: {_text(url)}"
        for label, url in links.items()
    )


_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem 2rem;
       color: #1d1d1f; background: #fff; }
header { border-bottom: 2px solid #ddd; margin-bottom: 1.5rem; }
header.failed { border-bottom-color: #b00020; }
header dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
header dt { font-weight: 600; }
header dd { margin: 0; }
nav ul { list-style: none; padding: 0; }
nav li { display: inline-block; margin-right: 1.2rem; }
section { margin-bottom: 2.5rem; }
h2 { margin-bottom: 0.2rem; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 0.8rem 0; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border: 1px solid #ddd; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f5; }
td.num { text-align: right; white-space: nowrap; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 13px; }
.status { font-weight: 700; text-transform: uppercase; font-size: 12px; letter-spacing: 0.04em;
          padding: 0.1rem 0.4rem; border-radius: 3px; }
.status.passed { color: #0a6b2d; background: #e3f5e9; }
.status.failed { color: #fff; background: #b00020; }
.status.skipped { color: #555; background: #eee; }
tr.failed { background: #fdecee; }
tr.failed td:first-child { border-left: 4px solid #b00020; }
tr.skipped { color: #777; }
"""
