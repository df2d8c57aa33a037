"""The three reports of a conformance run, read back the way their readers read them.

JSON goes back through msgspec, JUnit through a JUnit XSD and ElementTree (as CI servers parse it), HTML
through html.parser. The verdict carries hostile text on purpose: details are logs and error bodies.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import pytest
import xmlschema

from appliance.scenarios.report import html, junit_xml, write_html, write_json, write_junit
from appliance.scenarios.verdict import (
    CheckVerdict,
    RunVerdict,
    ScenarioVerdict,
    Status,
    StepVerdict,
    run_status,
    scenario_status,
)

XSD = Path(__file__).parents[1] / "fixtures" / "junit" / "junit.xsd"
NARRATION = 'A developer drops <SHOP_DB_URL> & says "it\'s fine".'
DETAIL = "expected phase 'rejected' & got \"running\" <after 300 s>\n\x1b[31mlast log line\x1b[0m"
ARTIFACT_URL = "https://pathops.example/instances/art-shop-api?tab=events&seq=3"


def step(id: str, status: Status, **fields: object) -> StepVerdict:
    return msgspec.convert(
        {"id": id, "actor": "pathops", "kind": "expect", "narration": f"{id} happens.", "status": status}
        | fields,
        StepVerdict,
    )


@pytest.fixture
def verdict() -> RunVerdict:
    green_steps = (step("break", "passed", kind="commit", actor="developer"), step("proposed", "passed"))
    green_checks = (
        CheckVerdict(name="ci-only-pushes", status="passed"),
        CheckVerdict(name="no-writes", status="passed"),
    )
    red_steps = (
        step("break", "passed", kind="commit", actor="developer", narration=NARRATION, seconds=1.25),
        step(
            "rejected",
            "failed",
            narration=NARRATION,
            seconds=300.5,
            detail=DETAIL,
            links={"artifact": ARTIFACT_URL},
        ),
        step("fixed", "skipped", detail="after failed step rejected"),
    )
    red_checks = (
        CheckVerdict(name="argocd-only-writes", status="passed", detail="3 writes, all by argocd"),
        CheckVerdict(
            name="pathops-never-writes", status="failed", detail='PATCH <deployments/shop-api> by "pathops"'
        ),
    )
    scenarios = (
        ScenarioVerdict(
            name="happy-path",
            title="A commit flows to production",
            status=scenario_status(green_steps, green_checks),
            seconds=42.0,
            steps=green_steps,
            checks=green_checks,
        ),
        ScenarioVerdict(
            name="missing-env",
            title="A missing env var <crash-loops> & the autopilot proposes the fix",
            status=scenario_status(red_steps, red_checks),
            seconds=301.75,
            steps=red_steps,
            checks=red_checks,
        ),
    )
    return RunVerdict(
        target="embedded",
        started_at=datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC),
        seconds=343.75,
        status=run_status(scenarios),
        scenarios=scenarios,
    )


def test_statuses_fail_on_any_failure() -> None:
    assert scenario_status([step("a", "passed")], [CheckVerdict(name="c", status="passed")]) == "passed"
    assert scenario_status([step("a", "failed"), step("b", "skipped")], []) == "failed"
    assert scenario_status([step("a", "passed")], [CheckVerdict(name="c", status="failed")]) == "failed"
    green = ScenarioVerdict(name="a", title="A", status="passed", seconds=1.0, steps=())
    red = ScenarioVerdict(name="b", title="B", status="failed", seconds=1.0, steps=())
    assert run_status([green, green]) == "passed"
    assert run_status([green, red]) == "failed"


# JSON


def test_json_round_trips_with_the_documented_keys(verdict: RunVerdict, tmp_path: Path) -> None:
    path = tmp_path / "out" / "verdict.json"
    write_json(verdict, path)

    assert msgspec.json.decode(path.read_bytes(), type=RunVerdict) == verdict
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert list(raw) == ["target", "started_at", "seconds", "status", "scenarios"]
    assert raw["started_at"] == "2025-03-01T12:00:05Z"
    assert raw["status"] == "failed"
    scenario = raw["scenarios"][1]
    assert list(scenario) == ["name", "title", "status", "seconds", "steps", "checks"]
    assert list(scenario["steps"][1]) == [
        "id",
        "actor",
        "kind",
        "narration",
        "status",
        "seconds",
        "detail",
        "links",
    ]
    assert scenario["steps"][1]["links"] == {"artifact": ARTIFACT_URL}
    assert [s["status"] for s in scenario["steps"]] == ["passed", "failed", "skipped"]
    assert list(scenario["checks"][0]) == ["name", "status", "detail"]
    assert path.read_text(encoding="utf-8").startswith('{\n  "target": "embedded",')


# JUnit


def test_junit_is_valid_against_the_xsd(verdict: RunVerdict, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(verdict, path)

    assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    xmlschema.XMLSchema(XSD).validate(str(path))


def test_the_xsd_refuses_what_ci_servers_would_misread(verdict: RunVerdict) -> None:
    schema = xmlschema.XMLSchema(XSD)
    good = junit_xml(verdict)
    assert schema.is_valid(good)
    assert not schema.is_valid(good.replace(' tests="5"', "", 1))
    assert not schema.is_valid(
        good.replace("<testcase ", "<test-case ", 1).replace("</testcase>", "</test-case>", 1)
    )
    assert not schema.is_valid(good.replace('time="42.000"', 'time="forty-two"', 1))


def counts(element: ET.Element) -> tuple[str | None, ...]:
    return tuple(element.get(name) for name in ("tests", "failures", "skipped"))


def test_junit_counts_per_suite_and_overall(verdict: RunVerdict) -> None:
    root = ET.fromstring(junit_xml(verdict).encode())

    assert root.tag == "testsuites"
    assert root.get("name") == "pathops conformance"
    assert counts(root) == ("9", "2", "1")
    assert root.get("time") == "343.750"
    green, red = root.findall("testsuite")
    assert (green.get("name"), counts(green)) == ("happy-path", ("4", "0", "0"))
    assert (red.get("name"), counts(red)) == ("missing-env", ("5", "2", "1"))
    assert red.get("errors") == "0"
    assert red.get("timestamp") == "2025-03-01T12:00:05"
    assert red.get("hostname") == "pathops"
    names = [(case.get("classname"), case.get("name")) for case in red.findall("testcase")]
    assert names == [
        ("missing-env", "break"),
        ("missing-env", "rejected"),
        ("missing-env", "fixed"),
        ("missing-env", "check:argocd-only-writes"),
        ("missing-env", "check:pathops-never-writes"),
    ]


def test_junit_marks_failed_and_skipped_cases(verdict: RunVerdict) -> None:
    red = ET.fromstring(junit_xml(verdict).encode()).findall("testsuite")[1]
    cases = {case.get("name"): case for case in red.findall("testcase")}

    assert cases["break"].find("failure") is None
    assert cases["break"].find("skipped") is None
    assert cases["rejected"].get("time") == "300.500"
    failure = cases["rejected"].find("failure")
    assert failure is not None
    assert failure.get("type") == "failed"
    assert cases["fixed"].find("skipped") is not None
    assert cases["fixed"].find("failure") is None
    check_failure = cases["check:pathops-never-writes"].find("failure")
    assert check_failure is not None
    assert check_failure.get("message") == 'PATCH <deployments/shop-api> by "pathops"'


def test_junit_escapes_hostile_text_and_it_survives_a_parse(verdict: RunVerdict) -> None:
    text = junit_xml(verdict)
    cases = {case.get("name"): case for case in ET.fromstring(text.encode()).iter("testcase")}

    assert "<SHOP_DB_URL>" not in text
    assert "\x1b" not in text
    failure = cases["rejected"].find("failure")
    assert failure is not None
    assert failure.get("message") == "expected phase 'rejected' & got \"running\" <after 300 s>"
    assert failure.text == DETAIL.replace("\x1b", "\\x1b")
    out = cases["rejected"].find("system-out")
    assert out is not None
    assert out.text == f"{NARRATION}\nartifact: {ARTIFACT_URL}"


# HTML


class Page(HTMLParser):
    """Reads the page as a browser would: tags must nest, and each table row's text is kept."""

    VOID = frozenset({"meta", "br", "hr", "img", "link", "input", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.rows: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.hrefs.append(found["href"] or "")
        if tag == "tr":
            self.rows.append((found.get("class") or "", ""))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else ''}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.rows and "tr" in self.open:
            css, text = self.rows[-1]
            self.rows[-1] = (css, text + data + " ")


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    return parser


def test_html_is_one_self_contained_page(verdict: RunVerdict, tmp_path: Path) -> None:
    path = tmp_path / "verdict.html"
    write_html(verdict, path)
    page = path.read_text(encoding="utf-8")
    parsed = parse(page)

    assert page.startswith("<!doctype html>")
    assert "<script" not in page.lower()
    assert not {"script", "link", "img", "iframe", "object"} & set(parsed.tags)
    assert {unescape(url) for url in re.findall(r"https?://[^\s\"'<>]+", page)} == {ARTIFACT_URL}
    assert ARTIFACT_URL in parsed.hrefs
    assert {"embedded", "2025-03-01 12:00:05 UTC", "5 min 43.8 s"} <= set(parsed.text)


def test_html_escapes_every_text(verdict: RunVerdict) -> None:
    page = html(verdict)

    assert "<SHOP_DB_URL>" not in page
    assert "<crash-loops>" not in page
    assert escape(NARRATION) in page
    assert escape("A missing env var <crash-loops> & the autopilot proposes the fix") in page
    assert NARRATION in "".join(parse(page).text)


def test_html_marks_the_failed_step_and_check(verdict: RunVerdict) -> None:
    rows = parse(html(verdict)).rows
    failed = [text for css, text in rows if "failed" in css.split()]

    assert len(failed) == 2
    assert "rejected" in failed[0]
    assert "failed" in failed[0]
    assert "pathops-never-writes" in failed[1]
    assert any("skipped" in css.split() and "fixed" in text for css, text in rows)
    for scenario in verdict.scenarios:
        for each in scenario.steps:
            assert any(each.narration in text for _, text in rows)


def test_html_links_only_web_urls() -> None:
    hostile = step("x", "passed", links={"evil": "javascript:alert(1)", "run": "/runs/1"})
    run = RunVerdict(
        target="stack",
        started_at=datetime(2025, 3, 1, tzinfo=UTC),
        seconds=1.0,
        status="passed",
        scenarios=(ScenarioVerdict(name="x", title="X", status="passed", seconds=1.0, steps=(hostile,)),),
    )
    parsed = parse(html(run))

    assert parsed.hrefs == ["#scenario-x", "/runs/1"]
    assert "javascript:alert(1)" in "".join(parsed.text)
