"""`pathops conformance` for real: scenarios of the catalog on embedded targets of their own, in
parallel, with JUnit (checked against its XSD), JSON and HTML verdicts; and an appliance with one guard
flipped (a failed verification taken as a pass) fails the run on the step that catches it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xmlschema

pytestmark = pytest.mark.xdist_group("scenarios")
XSD = Path(__file__).parents[1] / "fixtures" / "junit" / "junit.xsd"
# loaded by every Python process of the run through PYTHONPATH: the appliance's preflight machine
# then takes a failed verification for a passed one, so a change with no evidence looks verified
FLIPPED_GUARD = """
import msgspec
import appliance.logic.preflight as preflight

_verdict = preflight._verdict


def _flipped(s, event, now):
    if event.data.get("status") == "failed":
        event = msgspec.structs.replace(event, data={**event.data, "status": "passed"})
    return _verdict(s, event, now)


preflight._verdict = _flipped
"""


def _conformance(
    tmp_path: Path, only: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "appliance.entrypoints.cli", "conformance", "--only", only, "--parallel", "2",
           "--junit", str(tmp_path / "junit.xml"), "--json", str(tmp_path / "out.json"),
           "--work-dir", str(tmp_path / "work")]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=os.environ | (env or {}))


def test_conformance_passes_and_writes_junit_json_and_html(tmp_path: Path) -> None:
    done = _conformance(tmp_path, "duplicate-alerts,failing-verification")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[failing-verification] 2/5 rejected: passed" in done.stderr  # progress, step by step
    xmlschema.XMLSchema(str(XSD)).validate(str(tmp_path / "junit.xml"))
    verdict = json.loads((tmp_path / "out.json").read_text())
    assert verdict["status"] == "passed" and {s["name"] for s in verdict["scenarios"]} == {
        "duplicate-alerts", "failing-verification"
    }  # fmt: skip
    for scenario in verdict["scenarios"]:
        assert all(s["status"] == "passed" for s in scenario["steps"]), scenario
        assert {c["name"] for c in scenario["checks"]} >= {"PathOps never wrote to the cluster"}
        assert all(c["status"] == "passed" for c in scenario["checks"]), scenario["checks"]
    failing = next(s for s in verdict["scenarios"] if s["name"] == "failing-verification")
    rejected = next(s for s in failing["steps"] if s["id"] == "rejected")
    assert rejected["links"] and all(u.startswith("http://127.0.0.1:") for u in rejected["links"].values())
    page = (tmp_path / "out.html").read_text()
    assert (
        "It deploys healthy to preflight, but the Verification Agent&#x27;s contract tests fail it." in page
    )


def test_a_flipped_guard_fails_the_run_on_the_step_that_catches_it(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FLIPPED_GUARD)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    done = _conformance(tmp_path, "failing-verification", env={"PYTHONPATH": path})
    assert done.returncode == 1, done.stdout + done.stderr
    [scenario] = json.loads((tmp_path / "out.json").read_text())["scenarios"]
    statuses = {s["id"]: s["status"] for s in scenario["steps"]}
    assert statuses == {"break": "passed", "rejected": "failed", "incident": "skipped", "refused": "skipped",
                        "not-promoted": "skipped"}  # fmt: skip
    rejected = next(s for s in scenario["steps"] if s["id"] == "rejected")
    assert "phase 'verified', not rejected" in rejected["detail"]
    junit = (tmp_path / "junit.xml").read_text()
    assert 'name="rejected"' in junit and "<failure" in junit
