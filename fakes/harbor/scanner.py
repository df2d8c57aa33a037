"""A vulnerability scanner in Trivy's place: Python requirements found in an image's layers,
looked up in a configurable vulnerability database, reported in Harbor's shapes.

The database is `options["vulnerabilities"]`, JSON mapping `package==version` (package names
normalised as pip does) to one finding or a list of them:

    {"flask==0.12": [{"id": "CVE-2018-1000656", "severity": "High", "fix_version": "0.12.3",
                      "description": "...", "links": ["https://..."], "cwe_ids": ["CWE-20"],
                      "cvss_score_v3": 7.5}]}

A layer is read as a tar (gzip or plain); every file named `requirements.txt` in it is parsed for
`name==version` pins. Other layer formats (zstd, non-tar artifacts) are skipped.
"""

from __future__ import annotations

import json
import re
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from fakes.harbor.http import now_iso

REPORT_MIME = "application/vnd.security.vulnerability.report; version=1.1"
LEGACY_MIME = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"
SCANNER = {"name": "Trivy", "vendor": "Aqua Security", "version": "v0.50.1"}
SEVERITIES = ("Unknown", "None", "Negligible", "Low", "Medium", "High", "Critical")
MAX_REQUIREMENTS_BYTES = 1 << 20
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")

DEFAULT_DATABASE = {
    "flask==0.12": [
        {
            "id": "CVE-2018-1000656",
            "severity": "High",
            "fix_version": "0.12.3",
            "description": "Flask before 0.12.3 does not detect the encoding of incoming JSON data, "
            "which can lead to large memory use (denial of service).",
            "cwe_ids": ["CWE-20"],
            "cvss_score_v3": 7.5,
        }
    ]
}

BlobOpener = Callable[[str], Iterator[bytes]]  # digest -> the blob's bytes, streamed


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def load_database(raw: str | None) -> dict[str, list[dict[str, Any]]]:
    data = json.loads(raw) if raw else DEFAULT_DATABASE
    database = {}
    for pin, findings in data.items():
        name, _, version = pin.partition("==")
        database[f"{normalise(name)}=={version.strip()}"] = (
            findings if isinstance(findings, list) else [findings]
        )
    return database


def pins_in(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in map(_PIN.match, text.splitlines()) if m is not None]


def requirements_in_layer(blob: IO[bytes]) -> list[tuple[str, str]]:
    pins: list[tuple[str, str]] = []
    try:
        with tarfile.open(fileobj=blob, mode="r:*") as tar:
            for member in tar:
                if not member.isfile() or member.name.rsplit("/", 1)[-1] != "requirements.txt":
                    continue
                if member.size > MAX_REQUIREMENTS_BYTES:
                    continue
                extracted = tar.extractfile(member)
                if extracted is not None:
                    pins += pins_in(extracted.read().decode("utf-8", "replace"))
    except (tarfile.TarError, EOFError, OSError):
        return []  # not a tar layer this scanner reads
    return pins


def scan(
    *,
    digest: str,
    media_type: str,
    repository: str,
    layers: list[dict[str, Any]],
    open_blob: BlobOpener,
    database: dict[str, Any],
) -> dict[str, Any]:
    """Scan an image's layers; the report as Harbor keeps it (summary fields + vulnerabilities)."""
    started, start_time = time.monotonic(), now_iso()
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for layer in layers:
        with SpooledTemporaryFile(max_size=16 << 20) as blob:
            for chunk in open_blob(str(layer.get("digest"))):
                blob.write(chunk)
            blob.seek(0)
            for name, version in requirements_in_layer(blob):  # type: ignore[arg-type]
                for finding in database.get(f"{normalise(name)}=={version}", []):
                    key = (str(finding.get("id")), normalise(name))
                    found.setdefault(
                        key, _vulnerability(finding, name, version, digest, str(layer.get("digest")))
                    )
    vulnerabilities = sorted(found.values(), key=lambda v: (-SEVERITIES.index(v["severity"]), v["id"]))
    counts: dict[str, int] = {}
    for vuln in vulnerabilities:
        counts[vuln["severity"]] = counts.get(vuln["severity"], 0) + 1
    return {
        "report_id": str(uuid.uuid4()),
        "scan_status": "Success",
        "severity": max((v["severity"] for v in vulnerabilities), key=SEVERITIES.index, default="None"),
        "duration": int(time.monotonic() - started),
        "start_time": start_time,
        "end_time": now_iso(),
        "complete_percent": 100,
        "scanner": SCANNER,
        "summary": {
            "total": len(vulnerabilities),
            "fixable": sum(1 for v in vulnerabilities if v.get("fix_version")),
            "summary": counts,
        },
        "artifact": {"repository": repository, "digest": digest, "mime_type": media_type},
        "vulnerabilities": vulnerabilities,
    }


def failed(error: str) -> dict[str, Any]:
    at = now_iso()
    return {
        "report_id": str(uuid.uuid4()),
        "scan_status": "Error",
        "severity": "Unknown",
        "duration": 0,
        "start_time": at,
        "end_time": at,
        "complete_percent": 0,
        "scanner": SCANNER,
        "error": error,
        "vulnerabilities": [],
    }


def _vulnerability(
    finding: dict[str, Any], package: str, version: str, digest: str, layer: str
) -> dict[str, Any]:
    cve = str(finding.get("id", "UNKNOWN"))
    severity = str(finding.get("severity", "Unknown")).capitalize()
    vuln: dict[str, Any] = {
        "id": cve,
        "package": package,
        "version": version,
        "fix_version": str(finding.get("fix_version", "")),
        "severity": severity if severity in SEVERITIES else "Unknown",
        "description": str(finding.get("description", "")),
        "links": list(finding.get("links") or [f"https://avd.aquasec.com/nvd/{cve.lower()}"]),
        "artifact_digests": [digest],
        "layer": {"digest": layer},
        "cwe_ids": list(finding.get("cwe_ids") or []),
    }
    if "cvss_score_v3" in finding:
        vuln["preferred_cvss"] = {
            "score_v3": finding["cvss_score_v3"],
            "vector_v3": finding.get("cvss_vector_v3", ""),
        }
    return vuln


def overview(report: dict[str, Any]) -> dict[str, Any]:
    """NativeReportSummary: the report without its vulnerabilities."""
    keys = ("report_id", "scan_status", "severity", "duration", "summary", "start_time", "end_time",
            "complete_percent", "scanner")  # fmt: skip
    return {k: report[k] for k in keys if k in report}


def addition(report: dict[str, Any], mime: str) -> dict[str, Any]:
    """The body of `.../additions/vulnerabilities`: the report under its MIME type."""
    body = {
        "generated_at": report.get("end_time"),
        "artifact": report.get("artifact", {}),
        "scanner": report.get("scanner"),
        "severity": report.get("severity"),
        "vulnerabilities": report.get("vulnerabilities", []),
    }
    return {mime: body}
