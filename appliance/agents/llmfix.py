"""The Fix Agent's optional LLM backend, used when no rule matched: the evidence and the relevant
source go to an OpenAI-compatible model, which answers a one-line summary and a unified diff; the
diff must pass `git apply --check` on a copy of the source, or there is no diagnosis.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from pathlib import Path

from appliance.agents.bundle import Snapshot
from appliance.agents.source import apply_check
from appliance.logic.diagnose import Diagnosis, Evidence, slugify
from appliance.ports.errors import PermanentError
from appliance.ports.llm import Llm


class NoDiagnosis(PermanentError):
    """Neither a rule nor the LLM found a fix: reported to the control plane, which stalls the incident."""


SYSTEM = (
    "You fix a failing Kubernetes workload by changing its source repository as little as possible. "
    "Answer with one line `SUMMARY: <what the change does and why>`, then one unified diff in a ```diff "
    "block, with paths a/<path> and b/<path> relative to the repository root, against the files shown. "
    "Never change authentication, security or payment code; never add credentials."
)
SOURCE_BUDGET = 48_000
LOG_BUDGET = 12_000
ALWAYS = re.compile(r"(^deploy/|^\.env\.example$|(^|/)requirements[^/]*\.txt$|(^|/)Dockerfile$)")
_FENCE = re.compile(r"```(?:diff|patch)?[ \t]*\n(.*?)```", re.S)
_SUMMARY = re.compile(r"^\s*SUMMARY:\s*(.+)$", re.M)


def _relevant(source: Mapping[str, str], evidence: Evidence) -> list[str]:
    logs = "\n".join(evidence.logs.values())
    named = [p for p in source if p.rsplit("/", 1)[-1] in logs]
    code = [p for p in source if p.endswith(".py") and not p.startswith(("tests/", "ci/"))]
    ordered = [*sorted(p for p in source if ALWAYS.search(p)), *sorted(named), *sorted(code)]
    chosen, size = [], 0
    for path in dict.fromkeys(ordered):
        if size + len(source[path]) <= SOURCE_BUDGET:
            chosen.append(path)
            size += len(source[path])
    return chosen


def prompt(snapshot: Snapshot, evidence: Evidence, source: Mapping[str, str]) -> str:
    logs, size = [], 0
    for path, text in sorted(evidence.logs.items(), key=lambda kv: not kv[0].endswith(".previous.log")):
        tail = "\n".join(text.splitlines()[-80:])
        if size + len(tail) <= LOG_BUDGET:
            logs.append(f"--- {path}\n{tail}")
            size += len(tail)
    warnings = [e for e in evidence.events if e.get("type") == "Warning"][-30:]
    files = [f"=== {p}\n{source[p]}" for p in _relevant(source, evidence)]
    return "\n\n".join(
        [
            f"Failure: {snapshot.manifest.get('summary', '')}",
            "Signals: " + json.dumps(evidence.signals, sort_keys=True, default=str)[:4000],
            "Warning events:\n" + "\n".join(f"{e.get('reason')}: {e.get('message')}" for e in warnings),
            "Logs:\n" + "\n".join(logs),
            "Repository files: " + ", ".join(sorted(source)),
            "Files:\n" + "\n\n".join(files),
        ]
    )


def parse(text: str) -> tuple[str, str] | None:
    """(summary, diff) from the model's answer, or None when it holds no diff."""
    blocks = [b for b in _FENCE.findall(text) if "--- " in b and "+++ " in b]
    if blocks:
        diff = blocks[0]
    elif (start := re.search(r"^(diff --git |--- a/)", text, re.M)) is not None:
        diff = text[start.start() :]
    else:
        return None
    summary = _SUMMARY.search(text)
    return (summary.group(1).strip() if summary else "LLM-proposed fix"), diff.rstrip("\n") + "\n"


async def diagnose_with_llm(
    llm: Llm, snapshot: Snapshot, evidence: Evidence, source: Mapping[str, str], root: Path
) -> tuple[Diagnosis, str]:
    answer = await llm.complete(system=SYSTEM, prompt=prompt(snapshot, evidence, source), max_tokens=2048)
    parsed = parse(answer.text)
    if parsed is None:
        raise NoDiagnosis("no diagnosis: no rule matched and the LLM answered no diff")
    summary, diff = parsed
    problem = await asyncio.to_thread(apply_check, root, diff)
    if problem is not None:
        raise NoDiagnosis(f"no diagnosis: no rule matched and the LLM's diff does not apply: {problem}")
    diagnosis = Diagnosis(
        rule="llm",
        summary=summary[:500],
        slug=slugify(summary),
        edits={},
        risk=50,
        recommended_checks=("review the LLM-made change line by line", "preflight verification passes"),
        evidence=("manifest.json", *sorted(evidence.logs)),
    )
    return diagnosis, diff
