"""Which scan findings block a release (appliance/logic/vulnerabilities.py), and how they are named."""

from __future__ import annotations

import pytest

from appliance.contracts.entities import Advisory
from appliance.contracts.webhooks import ScanFinding
from appliance.logic import vulnerabilities


def finding(**changes: str) -> ScanFinding:
    base = {"id": "CVE-2018-1000656", "package": "flask", "version": "0.12", "fix_version": "0.12.3",
            "severity": "High"}  # fmt: skip
    return ScanFinding(**(base | changes))


def test_fixable_high_and_critical_findings_block_the_worst_first_once_each() -> None:
    found = [
        finding(),
        finding(severity="HIGH"),  # the same finding again, as another scanner spells it
        finding(id="CVE-2020-14343", package="PyYAML", version="5.3", fix_version="5.4", severity="critical"),
        finding(id="CVE-low", severity="Medium"),
        finding(id="CVE-nofix", fix_version=""),
        finding(id="", severity="Critical"),
    ]
    assert vulnerabilities.blocking(found) == (
        Advisory(id="CVE-2020-14343", package="PyYAML", version="5.3", fixed="5.4", severity="Critical"),
        Advisory(id="CVE-2018-1000656", package="flask", version="0.12", fixed="0.12.3", severity="High"),
    )
    assert [f.id for f in found if vulnerabilities.blocks(f)] == ["CVE-2018-1000656"] * 2 + ["CVE-2020-14343"]


def test_advisories_are_named_and_round_trip_as_json() -> None:
    found = vulnerabilities.blocking([finding()])
    assert vulnerabilities.describe(found) == "flask 0.12 (CVE-2018-1000656, High)"
    assert (
        vulnerabilities.describe(found, fixes=True) == "flask 0.12 (CVE-2018-1000656, High, fixed in 0.12.3)"
    )
    assert vulnerabilities.advisories(vulnerabilities.as_json(found)) == found
    assert vulnerabilities.advisories(None) == ()


@pytest.mark.parametrize("raw", [{"flask": "0.12"}, [{"id": "x"}], ["CVE-1"]])
def test_malformed_data_is_refused(raw: object) -> None:
    with pytest.raises(ValueError, match="not a list of advisories"):
        vulnerabilities.advisories(raw)
    with pytest.raises(ValueError, match="not a list of scan findings"):
        vulnerabilities.findings(raw)
