"""The Verification Agent: health probe, smoke and contract checks against TARGET_URL, a report in
`pathops-reports`, and `POST /api/verification/callback`.

    health    GET /healthz until it answers 2xx (retried for up to HEALTH_TIMEOUT seconds)
    smoke     GET / and each GET path of the contract without path parameters: no 5xx, no failure
    contract  each of those answers with a status the contract declares, and a JSON body that
              validates against the declared schema (when there is one)

A failed verification is a result, not an error: the report says so and the agent exits 0 once the
callback was accepted. The report's id is `rep-<24 hex of sha256>` of its canonical JSON without
`report_id`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Literal

import httpx
import msgspec

from appliance.adapters.s3.store import S3ObjectStore
from appliance.agents import bundle, contract
from appliance.agents.callback import callback_token, post_callback
from appliance.agents.settings import REPORT_BUCKET, VerifySettings
from appliance.contracts.webhooks import VerificationCallback

log = logging.getLogger(__name__)
SCHEMA = "pathops.verification/v1"
HEALTH_PATH = "/healthz"
RETRY_EVERY_S = 0.5


class Check(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: Literal["health", "smoke", "contract"]
    status: Literal["passed", "failed"]
    detail: str = ""


def _check(name: str, kind: Literal["health", "smoke", "contract"], problem: str | None, ok: str) -> Check:
    return Check(name=name, kind=kind, status="failed" if problem else "passed", detail=problem or ok)


async def health(http: httpx.AsyncClient, timeout_s: float) -> Check:
    deadline, attempts, last = time.monotonic() + timeout_s, 0, ""
    while True:
        attempts += 1
        try:
            response = await http.get(HEALTH_PATH, timeout=max(0.5, min(5.0, deadline - time.monotonic())))
            if 200 <= response.status_code < 300:
                return _check(
                    f"GET {HEALTH_PATH}",
                    "health",
                    None,
                    f"{response.status_code} after {attempts} attempt(s)",
                )
            last = f"answered {response.status_code}"
        except httpx.TransportError as exc:
            last = f"unreachable ({type(exc).__name__})"
        if time.monotonic() + RETRY_EVERY_S > deadline:
            return _check(f"GET {HEALTH_PATH}", "health", f"no 2xx within {timeout_s:g} s: last {last}", "")
        await asyncio.sleep(RETRY_EVERY_S)


async def _get(http: httpx.AsyncClient, path: str) -> httpx.Response | str:
    try:
        return await http.get(path)
    except httpx.TransportError as exc:
        return f"unreachable ({type(exc).__name__})"


async def smoke_and_contract(http: httpx.AsyncClient, doc: Mapping[str, Any] | None) -> list[Check]:
    operations = dict(contract.get_paths(doc)) if doc else {}
    checks: list[Check] = []
    for path in dict.fromkeys(["/", *operations]):
        answer = await _get(http, path)
        name = f"GET {path}"
        if isinstance(answer, str):
            checks.append(_check(name, "smoke", answer, ""))
            if path in operations:
                checks.append(_check(name, "contract", answer, ""))
            continue
        code = answer.status_code
        checks.append(_check(name, "smoke", f"answered {code}" if code >= 500 else None, f"answered {code}"))
        if doc is None or path not in operations:
            continue
        key = contract.declared(operations[path], code)
        problem = f"status {code} is not declared" if key is None else None
        if key is not None:
            problem = contract.check_body(doc, operations[path][key], answer.content)
        checks.append(_check(name, "contract", problem, f"{code} matches the contract"))
    return checks


def report_for(settings: VerifySettings, checks: list[Check]) -> tuple[str, dict[str, Any]]:
    failed = [c for c in checks if c.status == "failed"]
    status = "failed" if failed else "passed"
    if failed:
        shown = "; ".join(f"{c.kind} {c.name}: {c.detail}" for c in failed[:5])
        text = f"failed {len(failed)} of {len(checks)} checks: {shown}"
    else:
        kinds = [k for k in ("health", "smoke", "contract") if any(c.kind == k for c in checks)]
        text = f"passed {len(checks)} checks ({', '.join(kinds)})"
    body = {
        "schema": SCHEMA,
        "app": settings.common.app_id,
        "env": settings.env,
        "verification_id": settings.verification_id,
        "status": status,
        "target": settings.target_url,
        "checks": msgspec.to_builtins(checks),
        "summary": text[:1000],
    }
    report_id = bundle.content_id("rep", bundle.canonical(body))
    return report_id, {**body, "report_id": report_id}


async def run(env: Mapping[str, str]) -> str:
    settings = VerifySettings.from_env(env)
    common = settings.common
    doc = contract.parse(settings.contract) if settings.contract.strip() else None
    store = S3ObjectStore(
        url=common.s3_endpoint, access_key=common.s3_access_key, secret_key=common.s3_secret_key
    )
    try:
        token = await callback_token(common, store)
        async with httpx.AsyncClient(base_url=settings.target_url, timeout=5.0, trust_env=False) as http:
            checks = [await health(http, settings.health_timeout_s), *await smoke_and_contract(http, doc)]
        report_id, report = report_for(settings, checks)
        data = (json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
        await store.put(bucket=REPORT_BUCKET, key=f"reports/{report_id}.json", data=data,
                        content_type="application/json", metadata={"verification": settings.verification_id})  # fmt: skip
        log.info("verification %s: %s", report["status"], report["summary"])
        payload = VerificationCallback(
            app_id=common.app_id,
            env=settings.env,  # type: ignore[arg-type]
            verification_id=settings.verification_id,
            status=report["status"],
            report_id=report_id,
            summary=report["summary"],
        )
        outcome = await post_callback(common.callback_url, "/api/verification/callback", payload, token=token)
        return f"{report_id} {report['status']} {outcome}: {report['summary']}"
    finally:
        await store.aclose()
