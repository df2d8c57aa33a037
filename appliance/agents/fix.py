"""The Fix Agent: downloads the snapshot, diagnoses it against the failing commit's source (the rules of
appliance/logic/diagnose.py, else the LLM when one is configured), stores a patch bundle in
`pathops-patches` and calls back `POST /api/fix/callback`.

The patch bundle is docs/golden-paths.md's JSON; its id is `patch-<24 hex of sha256>` of the bundle's
canonical JSON without `patch_id`, so the same fix of the same snapshot is the same key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from appliance.adapters.openai.llm import OpenAiLlm
from appliance.adapters.s3.store import S3ObjectStore
from appliance.agents import bundle
from appliance.agents.callback import callback_token, post_callback
from appliance.agents.llmfix import NoDiagnosis, diagnose_with_llm
from appliance.agents.settings import PATCH_BUCKET, FixSettings
from appliance.agents.source import read_source, unified_diff
from appliance.contracts.webhooks import FixCallback
from appliance.logic.diagnose import Diagnosis, Evidence, diagnose
from appliance.logic.risk import risk_score
from appliance.ports.errors import PermanentError
from appliance.ports.objectstore import ObjectStore

log = logging.getLogger(__name__)
SCHEMA = "pathops.patch/v1"
PROTECTED = ("auth/", "security/", "payment/")


def evidence_of(snapshot: bundle.Snapshot) -> Evidence:
    try:
        events = yaml.safe_load(snapshot.text("events.yaml")) or []
    except yaml.YAMLError:
        events = []
    logs = {p: snapshot.text(p) for p in snapshot.files if p.startswith("logs/")}
    return Evidence(
        signals=dict(snapshot.manifest.get("signals") or {}),
        logs=logs,
        events=tuple(e for e in events if isinstance(e, dict)),
    )


async def load_snapshot(store: ObjectStore, bucket: str, snapshot_id: str) -> bundle.Snapshot:
    data = await store.get(bucket=bucket, key=f"snapshots/{snapshot_id}.tar.gz")
    if data is None:
        raise PermanentError(f"snapshot {snapshot_id} not found in bucket {bucket}")
    if bundle.content_id("snap", data) != snapshot_id:
        raise PermanentError(f"snapshot {snapshot_id} does not match its content address")
    return bundle.unpack(data)


def patch_bundle(settings: FixSettings, diagnosis: Diagnosis, diff: str) -> tuple[str, dict[str, Any]]:
    risk = max(diagnosis.risk, risk_score(diff, protected_paths=PROTECTED).score)
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "incident_id": settings.common.incident_id,
        "snapshot_id": settings.snapshot_id,
        "repo": settings.repo,
        "base_sha": settings.commit_sha,
        "diff": diff,
        "summary": diagnosis.summary,
        "slug": diagnosis.slug,
        "rule": diagnosis.rule,
        "recommended_checks": list(diagnosis.recommended_checks),
        "risk": min(100, risk),
        "evidence": list(diagnosis.evidence),
    }
    patch_id = bundle.content_id("patch", bundle.canonical(body))
    return patch_id, {**body, "patch_id": patch_id}


async def _diagnose(settings: FixSettings, snapshot: bundle.Snapshot) -> tuple[Diagnosis, str]:
    evidence, source = evidence_of(snapshot), read_source(settings.source_dir)
    found = diagnose(evidence, source)
    if found is not None:
        log.info("rule %s matched: %s", found.rule, found.summary)
        return found, unified_diff(source, found.edits)
    if settings.llm is None:
        raise NoDiagnosis(
            f"no diagnosis: no rule matched {snapshot.manifest.get('summary', '')!r} and no LLM is configured"
        )
    log.info("no rule matched; asking the LLM (%s)", settings.llm.model)
    llm = OpenAiLlm(base_url=settings.llm.base_url, api_key=settings.llm.api_key, model=settings.llm.model)
    try:
        return await diagnose_with_llm(llm, snapshot, evidence, source, settings.source_dir)
    finally:
        await llm.aclose()


async def run(env: Mapping[str, str], cwd: Path) -> str:
    settings = FixSettings.from_env(env, cwd)
    common = settings.common
    store = S3ObjectStore(
        url=common.s3_endpoint, access_key=common.s3_access_key, secret_key=common.s3_secret_key
    )
    try:
        token = await callback_token(common, store)
        snapshot = await load_snapshot(store, common.bucket, settings.snapshot_id)
        try:
            diagnosis, diff = await _diagnose(settings, snapshot)
        except NoDiagnosis as exc:
            log.warning("%s", exc)
            no_fix = FixCallback(incident_id=common.incident_id, status="no_fix", reason=str(exc))
            outcome = await post_callback(common.callback_url, "/api/fix/callback", no_fix, token=token)
            return f"no fix {outcome}: {exc}"
        patch_id, patch = patch_bundle(settings, diagnosis, diff)
        data = (json.dumps(patch, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
        await store.put(bucket=PATCH_BUCKET, key=f"patches/{patch_id}.json", data=data,
                        content_type="application/json", metadata={"incident": common.incident_id})  # fmt: skip
        log.info("uploaded s3://%s/patches/%s.json (risk %d)", PATCH_BUCKET, patch_id, patch["risk"])
        payload = FixCallback(
            incident_id=common.incident_id,
            patch_id=patch_id,
            summary=diagnosis.summary,
            slug=diagnosis.slug,
            recommended_checks=list(diagnosis.recommended_checks),
            risk=patch["risk"],
        )
        outcome = await post_callback(common.callback_url, "/api/fix/callback", payload, token=token)
        return f"{patch_id} {outcome}: {diagnosis.summary}"
    finally:
        await store.aclose()
