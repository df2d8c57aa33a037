"""`pathops-ci <job>`: run one CI job with its parameters from the environment (Jenkins sets them).

Exit 0 on success. On failure: one line on stderr naming the reason, a `/webhooks/jenkins` callback
with status "failure" and that `detail` (for the jobs that call back; `retryable: true` when a system
was unreachable or slow, so a rerun may succeed), exit 1. Secrets (tokens, passwords, the callback
token) never reach the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from appliance.contracts.ci import COMMON
from appliance.contracts.ci import JOBS as DECLARED
from appliance.pipelines.callback import post_callback
from appliance.pipelines.catalog import CALLBACK_IDS, JOBS
from appliance.pipelines.config import KEY_PARAM, CiConfig, ConfigError, JobInput, load_config
from appliance.pipelines.context import open_run
from appliance.ports.errors import PortError, TransientError

BACKOFF_ENV = "PATHOPS_CI_CALLBACK_BACKOFF"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="pathops-ci",
        description="The PathOps CI job steps. Parameters come from the environment (NAME or its upper case); "
        "credentials from the JSON file named by PATHOPS_CI_CONFIG.",
    )
    jobs = top.add_subparsers(dest="job", required=True, metavar="JOB")
    for name, (_, summary) in JOBS.items():
        params = ", ".join(DECLARED[name])
        jobs.add_parser(
            name, help=summary, description=f"{summary}.\n\nParameters: {params}; and {', '.join(COMMON)}.",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
    return top


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    env = os.environ if environ is None else environ
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format=f"%(levelname)s {args.job}: %(message)s"
    )
    job_input = JobInput.from_env(args.job, env)
    try:
        backoff = float(env.get(BACKOFF_ENV) or 0.5)
    except ValueError:
        backoff = 0.5
    config: CiConfig | None = None
    try:
        config = load_config(env)
        result = asyncio.run(_run(job_input, config, env, backoff))
    except TransientError as exc:  # a system was unreachable or slow: a rerun may succeed
        return _fail(job_input, config, str(exc), backoff, retryable=True)
    except PortError as exc:
        return _fail(job_input, config, str(exc), backoff)
    except Exception as exc:  # a bug: shown in full, and still reported so the control plane need not wait
        traceback.print_exc()
        return _fail(job_input, config, f"internal error: {type(exc).__name__}: {exc}", backoff)
    print(json.dumps(result or {"job": args.job, "status": "success"}))
    return 0


async def _run(
    job_input: JobInput, config: CiConfig, env: Mapping[str, str], backoff: float
) -> dict[str, Any] | None:
    run_job, _ = JOBS[job_input.job]
    job_input.require(KEY_PARAM)  # a run without its idempotency key is refused before it does anything
    async with open_run(job_input, config, env) as run:
        result = await run_job(run)
    if result is not None:
        if not job_input.callback_url:
            raise ConfigError(f"job {job_input.job}: parameter CALLBACK_URL is missing")
        await post_callback(
            url=job_input.callback_url, token=job_input.callback_token, payload=result, backoff=backoff
        )
    return result


def _fail(
    job_input: JobInput, config: CiConfig | None, reason: str, backoff: float, *, retryable: bool = False
) -> int:
    secrets = (*(config.secrets() if config else ()), job_input.callback_token)
    for secret in secrets:
        if secret:
            reason = reason.replace(secret, "***")
    reason = " ".join(reason.split())[:2000]
    print(f"pathops-ci {job_input.job}: {reason}", file=sys.stderr)
    ids = CALLBACK_IDS.get(job_input.job)
    if ids is not None and job_input.callback_url:
        payload: dict[str, Any] = {"job": job_input.job, "status": "failure", "detail": reason}
        if retryable:
            payload["retryable"] = True
        payload |= {name: job_input.get(name) for name in ids}
        try:
            asyncio.run(post_callback(url=job_input.callback_url, token=job_input.callback_token,
                                      payload=payload, backoff=backoff))  # fmt: skip
        except PortError as exc:
            print(f"pathops-ci {job_input.job}: the failure could not be reported: {exc}", file=sys.stderr)
    return 1
