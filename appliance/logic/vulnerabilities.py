"""Which findings of a registry scan block a release, and how they are named. Pure.

A finding (`ScanFinding`: `{id, package, version, fix_version, severity}`, as CI reports Harbor's)
blocks when its severity is High or Critical and a version that fixes it exists: that is a change a
person (or the Fix Agent's `vulnerable-dependency` rule) can make now. A blocking finding becomes an
`Advisory` `{id, package, version, fixed, severity}`, the shape the incident, its evidence and the
diagnosis carry. One advisory per (id, package); the worst first.

    describe(advisories)              "flask 0.12 (CVE-2018-1000656, High)"
    describe(advisories, fixes=True)  "flask 0.12 (CVE-2018-1000656, High, fixed in 0.12.3)"
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from appliance.contracts.entities import Advisory
from appliance.contracts.webhooks import ScanFinding

SEVERITIES = ("Unknown", "None", "Negligible", "Low", "Medium", "High", "Critical")
BLOCKING = frozenset({"High", "Critical"})


def severity(text: str) -> str:
    """Harbor's spelling of a severity ("HIGH" -> "High"); anything else is "Unknown"."""
    word = text.strip().capitalize()
    return word if word in SEVERITIES else "Unknown"


def findings(raw: object) -> list[ScanFinding]:
    """A list of findings from JSON-shaped data (an event's); ValueError if it is not one."""
    try:
        return msgspec.convert(raw or [], list[ScanFinding])
    except msgspec.ValidationError as exc:
        raise ValueError(f"not a list of scan findings: {exc}") from None


def blocks(finding: ScanFinding) -> bool:
    """Whether this finding blocks a release: High or Critical, and a version of a named package fixes it."""
    named = bool(finding.id.strip() and finding.package.strip())
    return named and severity(finding.severity) in BLOCKING and bool(finding.fix_version.strip())


def blocking(found: Iterable[ScanFinding]) -> tuple[Advisory, ...]:
    """The findings that block a release, as advisories: fixable, High or Critical; the worst first."""
    kept: dict[tuple[str, str], Advisory] = {}
    for finding in found:
        if not blocks(finding):
            continue
        advisory = Advisory(
            id=finding.id,
            package=finding.package,
            version=finding.version,
            fixed=finding.fix_version.strip(),
            severity=severity(finding.severity),
        )
        kept.setdefault((advisory.id, advisory.package.lower()), advisory)
    return tuple(
        sorted(kept.values(), key=lambda a: (-SEVERITIES.index(a.severity), a.package.lower(), a.id))
    )


def advisories(raw: object) -> tuple[Advisory, ...]:
    """Advisories from JSON-shaped data (an event's, a Job's environment); ValueError if malformed."""
    try:
        return tuple(msgspec.convert(raw or [], list[Advisory]))
    except msgspec.ValidationError as exc:
        raise ValueError(f"not a list of advisories: {exc}") from None


def as_json(found: Iterable[Advisory]) -> list[dict[str, Any]]:
    """Advisories as JSON-shaped data, for an event, a CI parameter or an evidence bundle."""
    return [msgspec.to_builtins(a) for a in found]


def describe(found: Iterable[Advisory], *, fixes: bool = False) -> str:
    """`package version (id, severity[, fixed in X])`, comma-separated."""
    return ", ".join(
        f"{a.package} {a.version} ({a.id}, {a.severity}" + (f", fixed in {a.fixed})" if fixes else ")")
        for a in found
    )
