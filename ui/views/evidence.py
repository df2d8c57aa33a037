"""The evidence viewer: a snapshot's metadata and the bundle's contents (logs, Kubernetes events,
object descriptions, the manifest's signals), the fix agent's patch diff and the verification
reports, read from object storage through `appliance.services.bundles`.

Bundles, patches and reports are content-addressed, so what was read once is kept (a few dozen)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nicegui import ui

from appliance.contracts.api import EvidenceRead, InstanceRead
from appliance.services import bundles, queries
from appliance.services.errors import NotFound, ServiceError
from ui.session import Console
from ui.views.common import LiveSection, tag, when

MAX_TEXT = 20_000
_cache: dict[str, Any] = {}


@dataclass(frozen=True)
class EvidenceData:
    snapshots: list[EvidenceRead]
    chosen: EvidenceRead | None = None
    incident: InstanceRead | None = None
    bundle: bundles.Snapshot | str | None = None  # str: why it could not be read
    patch: dict[str, Any] | str | None = None
    reports: dict[str, dict[str, Any] | str] = field(default_factory=dict)


async def _cached(key: str, read: Any) -> Any:
    """What `read()` returns, kept by content address; a refusal is returned as its message."""
    if key in _cache:
        return _cache[key]
    try:
        value = await read()
    except ServiceError as exc:
        return str(exc)
    if len(_cache) > 64:
        _cache.pop(next(iter(_cache)))
    _cache[key] = value
    return value


class Chooser:
    """Which snapshot the viewer shows: picked in the list, or the newest of an incident."""

    def __init__(self) -> None:
        self.snapshot: str | None = None
        self.incident: str | None = None

    async def load(self, console: Console) -> EvidenceData:
        ctx, objects = console.ctx, console.appliance.objects
        snapshots = await queries.evidence_list(ctx, limit=100)
        if self.incident is not None:
            mine = [e for e in snapshots if e.incident == self.incident]
            self.snapshot, self.incident = (mine[0].id if mine else self.snapshot), None
        chosen = next((e for e in snapshots if e.id == self.snapshot), snapshots[0] if snapshots else None)
        if chosen is None:
            return EvidenceData(snapshots=snapshots)
        try:
            incident = await queries.instance(ctx, "incident", chosen.incident)
        except NotFound:
            incident = None
        pointer = chosen.pointers.get("bundle", "")
        bundle = await _cached(pointer, lambda: bundles.snapshot(objects, pointer)) if pointer else None
        state = incident.state if incident else {}
        patch_id = state.get("patch_id")
        patch = (
            await _cached(f"patch:{patch_id}", lambda: bundles.patch(objects, patch_id)) if patch_id else None
        )
        reports: dict[str, dict[str, Any] | str] = {}
        for report_id in await _report_ids(console, state):
            reports[report_id] = await _cached(
                f"report:{report_id}", lambda r=report_id: bundles.report(objects, r)
            )
        for name, other in chosen.pointers.items():  # reports (or patches) the snapshot itself names
            if name != "bundle" and other.endswith(".json"):
                doc = await _cached(other, lambda p=other: bundles.document(objects, p))
                if isinstance(doc, dict) and "diff" in doc and patch is None:
                    patch = doc
                else:
                    reports[name] = doc
        return EvidenceData(snapshots, chosen, incident, bundle, patch, reports)


async def _report_ids(console: Console, incident: dict[str, Any]) -> list[str]:
    """The verification reports of the incident's fix: its change set's reports (per app, and the
    MR head's)."""
    if not incident.get("changeset_id"):
        return []
    try:
        cs = await queries.instance(console.ctx, "changeset", str(incident["changeset_id"]))
    except NotFound:
        return []
    found = [*dict(cs.state.get("reports") or {}).values(), cs.state.get("head_report")]
    return list(dict.fromkeys(str(r) for r in found if r))


def _text(text: str) -> str:
    return (
        text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"\n... ({len(text) - MAX_TEXT} more characters)"
    )


def _bundle(bundle: bundles.Snapshot | str | None) -> None:
    if bundle is None:
        ui.label("This snapshot names no bundle.")
        return
    if isinstance(bundle, str):
        tag(ui.label(f"bundle: {bundle}").classes("text-negative"), "bundle-error")
        return
    manifest = {k: v for k, v in bundle.manifest.items() if k != "files"}
    with ui.expansion("manifest and signals").classes("w-full"):
        ui.code(json.dumps(manifest, indent=2, sort_keys=True, default=str), language="json")
    for path, text in bundle.files.items():
        with tag(ui.expansion(path).classes("w-full"), "bundle-file"):
            ui.code(_text(text), language="yaml" if path.endswith((".yaml", ".yml")) else "text")


def _patch(patch: dict[str, Any] | str | None) -> None:
    if patch is None:
        return
    ui.label("patch").classes("text-h6")
    if isinstance(patch, str):
        ui.label(patch).classes("text-negative")
        return
    ui.label(
        f"{patch.get('summary', '')} (risk {patch.get('risk', '?')}, against {patch.get('base_sha', '')})"
    )
    checks = ", ".join(map(str, patch.get("recommended_checks") or []))
    if checks:
        ui.label(f"recommended checks: {checks}").classes("text-caption")
    tag(ui.code(_text(str(patch.get("diff", ""))), language="diff").classes("w-full"), "patch-diff")


def _reports(reports: dict[str, dict[str, Any] | str]) -> None:
    for report_id, report in reports.items():
        ui.label(f"verification report {report_id}").classes("text-h6")
        if isinstance(report, str):
            ui.label(report).classes("text-negative")
            continue
        tag(ui.label(f"{report.get('status', '?')}: {report.get('summary', '')}"), "report-summary")
        for check in report.get("checks") or []:
            ui.label(
                f"{check.get('status')} {check.get('kind')} {check.get('name')}: {check.get('detail', '')}"
            )


def draw(console: Console, data: EvidenceData, chooser: Chooser, section: LiveSection[Any]) -> None:
    if not data.snapshots or data.chosen is None:
        ui.label("No evidence yet: the evidence agent's snapshots of an incident appear here.")
        return

    async def pick(event: Any) -> None:
        chooser.snapshot = event.value
        await section.refresh(force=True)

    options = {e.id: f"{e.id} ({e.incident}) {e.summary[:60]}" for e in data.snapshots}
    tag(
        ui.select(options, value=data.chosen.id, on_change=pick, label="snapshot").classes("w-full"),
        "evidence-select",
    )
    e = data.chosen
    phase = f" ({data.incident.phase})" if data.incident else ""
    tag(ui.label(f"{e.id} of incident {e.incident}{phase}, {when(e.created_at)}"), "evidence-id")
    tag(ui.label(e.summary).classes("text-bold"), "evidence-summary")
    for name, pointer in e.pointers.items():
        ui.label(f"{name}: {pointer}").classes("text-caption")
    _bundle(data.bundle)
    _patch(data.patch)
    _reports(data.reports)


class EvidenceView:
    def __init__(self, console: Console) -> None:
        self.chooser = Chooser()
        self.section: LiveSection[EvidenceData] = LiveSection(
            "evidence", console, self.chooser.load, lambda c, d: draw(c, d, self.chooser, self.section)
        )

    async def show_incident(self, incident: str) -> None:
        self.chooser.incident = incident
        await self.section.refresh(force=True)


def view(console: Console) -> EvidenceView:
    return EvidenceView(console)
