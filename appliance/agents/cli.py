"""`python -m appliance.agents evidence|fix|verify`: run one agent with the environment contract of
docs/golden-paths.md ("Agents").

Exit 0 once the agent's callback was accepted (or answered 409: already accepted); 1 with a one-line
reason on stderr otherwise (the Job's back-off retries it); 2 on a usage error. Progress goes to
stdout. No secret of the environment is ever printed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from appliance.agents.settings import secrets
from appliance.logic.redact import redact_text
from appliance.ports.errors import PortError

AGENTS = ("evidence", "fix", "verify")


async def _run(agent: str, env: Mapping[str, str]) -> str:
    if agent == "evidence":
        from appliance.agents import evidence

        return await evidence.run(env)
    if agent == "fix":
        from appliance.agents import fix

        return await fix.run(env, Path.cwd())
    from appliance.agents import verify

    return await verify.run(env)


def _one_line(text: str, env: Mapping[str, str]) -> str:
    return " ".join(redact_text(text, secrets(env)).split())[:1000]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in AGENTS:
        print(f"usage: python -m appliance.agents {'|'.join(AGENTS)}", file=sys.stderr)
        return 2
    agent, env = args[0], dict(os.environ)
    run_id = env.get("INCIDENT_ID") or env.get("VERIFICATION_ID") or env.get("PREFLIGHT_ID") or "-"
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.getLevelNamesMapping().get(env.get("LOG_LEVEL", "").upper(), logging.INFO),
        format=f"%(asctime)s %(levelname)s {agent} {run_id} %(name)s: %(message)s",
    )
    try:
        outcome = asyncio.run(_run(agent, env))
    except PortError as exc:
        print(f"{agent}: {_one_line(str(exc), env)}", file=sys.stderr)
        return 1
    logging.getLogger(__name__).info("done: %s", _one_line(outcome, env))
    return 0
