"""The registry's vulnerability scan of an image `build` pushed, through Harbor's API (the Registry port).

`build` asks for a scan of the pushed digest and waits, bounded by `registry.scan_timeout_s`, for its
report, logging its progress. What it reports back: the findings that block a release (fixable High or
Critical, appliance/logic/vulnerabilities.py) and the scan's outcome in one line. No scan is asked for
when the CI configuration says `registry.scan: false` or gives no registry credentials, nor when
Harbor has no scanner for the project (412): the log and the outcome say so.

A scan that does not finish in time is a `TransientError`; one that ends in error a `PermanentError`:
either fails the build, since an image nobody could scan is not evidence of anything. The first is
reported `retryable`, and PathOps builds again (within the artifact's build attempts).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from appliance.adapters.harbor.registry import HarborRegistry
from appliance.contracts.webhooks import ScanFinding
from appliance.logic import vulnerabilities
from appliance.pipelines.config import RegistryConfig
from appliance.ports.errors import TransientError
from appliance.ports.registry import Registry, VulnerabilityReport

log = logging.getLogger(__name__)
FIRST_POLL_S, MAX_POLL_S = 0.5, 10.0
MAX_NAMED = 1000  # characters of the summary that name the blocking findings
MAX_REPORTED = 200  # blocking findings sent back (the callback's contract takes 500); the summary counts all


@dataclass(frozen=True)
class ScanOutcome:
    blocking: list[ScanFinding]  # fixable High/Critical findings
    summary: str  # one line: what was scanned and found, or why there was no scan ("" when not asked)


async def scan_image(
    config: RegistryConfig, *, project: str, repository: str, digest: str, image: str
) -> ScanOutcome:
    """Scan `project/repository@digest` (known to people as `image`) and wait for the report."""
    if not config.scan:
        log.info("no scan of %s: registry.scan is false in the CI configuration", image)
        return ScanOutcome([], "")
    if not config.username:
        log.info("no scan of %s: the CI configuration gives no registry credentials", image)
        return ScanOutcome([], "not scanned: no registry credentials")
    harbor = HarborRegistry(url=config.url, user=config.username, password=config.password, timeout=30.0)
    try:
        return await _scan(harbor, config.scan_timeout_s, project, repository, digest, image)
    finally:
        await harbor.aclose()


async def _scan(
    registry: Registry, timeout_s: float, project: str, repository: str, digest: str, image: str
) -> ScanOutcome:
    if not await registry.scan(project=project, repository=repository, reference=digest):
        log.info("no scan of %s: the registry has no scanner for project %s", image, project)
        return ScanOutcome([], f"not scanned: the registry has no scanner for project {project}")
    report = await _wait(registry, timeout_s, project, repository, digest, image)
    found = [
        ScanFinding(
            id=v.id, package=v.package, version=v.version, fix_version=v.fix_version, severity=v.severity
        )
        for v in report.vulnerabilities
    ]
    blocking = [f for f in found if vulnerabilities.blocks(f)]
    named = vulnerabilities.describe(vulnerabilities.blocking(blocking))
    named = named if len(named) <= MAX_NAMED else named[: MAX_NAMED - 3] + "..."
    summary = (
        f"{report.scanner or 'scanner'}: {len(found)} "
        f"{'vulnerability' if len(found) == 1 else 'vulnerabilities'}, "
        f"{len(blocking)} fixable High/Critical" + (f": {named}" if named else "")
    )
    log.info("scan of %s: %s", image, summary)
    return ScanOutcome(blocking[:MAX_REPORTED], summary)


async def _wait(
    registry: Registry, timeout_s: float, project: str, repository: str, digest: str, image: str
) -> VulnerabilityReport:
    started = time.monotonic()
    delay = FIRST_POLL_S
    while True:
        try:
            report = await registry.vulnerabilities(project=project, repository=repository, reference=digest)
        except TransientError as exc:
            log.info("the scan report of %s cannot be read yet: %s", image, exc)
            report = None
        if report is not None:
            return report
        waited = time.monotonic() - started
        if waited >= timeout_s:
            raise TransientError(f"the scan of {image} did not finish in {timeout_s:g}s", system="harbor")
        log.info("waiting for the scan of %s (%.0fs of %gs)", image, waited, timeout_s)
        await asyncio.sleep(min(delay, max(0.0, timeout_s - waited)))
        delay = min(delay * 2, MAX_POLL_S)
