"""The Fix Agent's diagnosis rules: from an evidence snapshot and the failing commit's source files, the
smallest edit that fixes the failure, or None.

Rules, tried in this order (the first that matches wins; when the evidence itself holds advisories,
`signals.advisories` from a registry scan, vulnerable-dependency is tried first: they are why the
incident opened):
    bad-image              ErrImagePull / ImagePullBackOff on an image written into the source
                           -> the container's image back to the `${IMAGE}` placeholder the CI pins
    oom                    OOMKilled -> resources.limits.memory doubled
    missing-env            `KeyError: 'X'` of an env read / "missing required environment variable X"
                           -> X added to the container's env, value from `.env.example`, else the
                           code's default (no value found: no match)
    probe-path             a probe failed with statuscode 404 -> its path set to a health route the
                           code serves
    exception              a traceback ending in ZeroDivisionError or KeyError (dict access) in the
                           app's own file -> that expression guarded (best effort)
    vulnerable-dependency  a requirements*.txt pin named by an advisory (`.pathops/advisories.json`
                           or `signals.advisories`) -> the fixed version

Manifests are edited as text (yamltext.py: lines inserted with the indentation around them) so the
diff stays small; Python code through `ast` (pyguard.py); every edit is checked by parsing its
result. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from appliance.logic import pyguard, yamltext
from appliance.logic.redact import is_credential_key

DEPLOYMENTS = ("deploy/deployment.yaml", "deploy/deployment.yml")
ADVISORIES = ".pathops/advisories.json"
IMAGE_PLACEHOLDER = "${IMAGE}"
PLACEHOLDERS = frozenset({IMAGE_PLACEHOLDER, "IMAGE", "$IMAGE"})
PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
CODE_SUFFIXES = (".py", ".js", ".ts", ".go", ".rb", ".java", ".kt")
_MISSING_ENV = (
    re.compile(r"KeyError: ['\"]([A-Z_][A-Z0-9_]*)['\"]"),
    re.compile(r"(?i)missing (?:required )?environment variables?:? ['\"]?([A-Za-z_][A-Za-z0-9_]*)"),
    re.compile(r"(?i)environment variable ['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]? (?:is )?(?:not set|missing|required)"),
)  # fmt: skip
_ROUTE = re.compile(r"""["'](/[A-Za-z0-9_./-]*)["']""")
_HEALTH = re.compile(r"(health|ready|live|ping)", re.I)
_PIN = re.compile(r"^(\s*)([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(\s*==\s*)([A-Za-z0-9.+!_-]+)(.*)$")


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """What the rules read from a snapshot (see docs/golden-paths.md, "Evidence bundle")."""

    signals: dict[str, Any] = {}
    logs: dict[str, str] = {}  # bundle path (logs/<pod>/<container>[.previous].log) -> text
    events: tuple[dict[str, Any], ...] = ()  # events.yaml entries: reason, message, type, object, count


class Diagnosis(msgspec.Struct, frozen=True, kw_only=True):
    rule: str
    summary: str
    slug: str
    edits: dict[str, str]  # source path -> its whole new text
    risk: int  # 0-100, the rule's own estimate
    recommended_checks: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # bundle paths the diagnosis relied on


Source = Mapping[str, str]
Rule = Callable[[Evidence, Source], "Diagnosis | None"]


def diagnose(evidence: Evidence, source: Source) -> Diagnosis | None:
    """The first rule's diagnosis that matches (see the module's list), or None."""
    rules = RULES
    if evidence.signals.get("advisories"):
        rules = (vulnerable_dependency, *(r for r in RULES if r is not vulnerable_dependency))
    for rule in rules:
        found = rule(evidence, source)
        if found is not None:
            return found
    return None


def slugify(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "fix"


def _pods(evidence: Evidence) -> list[dict[str, Any]]:
    pods = evidence.signals.get("pods") or {}
    return [p for p in pods.values() if isinstance(p, dict)] if isinstance(pods, dict) else []


def _deployment(source: Source) -> tuple[str, str] | None:
    return next(((p, source[p]) for p in DEPLOYMENTS if p in source), None)


def _logs(evidence: Evidence) -> list[tuple[str, str]]:
    """Logs, the crashed runs' first."""
    return sorted(evidence.logs.items(), key=lambda kv: (not kv[0].endswith(".previous.log"), kv[0]))


def _container_of(log_path: str) -> str:
    return log_path.rsplit("/", 1)[-1].removesuffix(".log").removesuffix(".previous")


# --- bad-image ------------------------------------------------------------------------------------


def bad_image(evidence: Evidence, source: Source) -> Diagnosis | None:
    found = _deployment(source)
    failing = [p for p in _pods(evidence) if p.get("waiting_reason") in PULL_FAILURES]
    if found is None or not failing:
        return None
    path, text = found
    pod = failing[0]
    edited = yamltext.set_image(text, str(pod.get("container") or ""), IMAGE_PLACEHOLDER, PLACEHOLDERS)
    if edited is None or (pod.get("image") and str(pod["image"]) not in text):
        return None
    return Diagnosis(
        rule="bad-image",
        summary=f"{pod.get('waiting_reason')} for image {pod.get('image')}: {path} sets the image "
        f"back to {IMAGE_PLACEHOLDER}, which CI pins to the built artifact",
        slug="restore-image-placeholder",
        edits={path: edited},
        risk=15,
        recommended_checks=("the build pins an image that exists in the registry", "preflight pulls it"),
        evidence=("manifest.json", "events.yaml"),
    )


# --- oom --------------------------------------------------------------------------------------------


def oom(evidence: Evidence, source: Source) -> Diagnosis | None:
    found = _deployment(source)
    killed = [p for p in _pods(evidence) if p.get("oom_killed") or p.get("last_reason") == "OOMKilled"]
    if found is None or not killed:
        return None
    path, text = found
    result = yamltext.double_memory_limit(text, str(killed[0].get("container") or ""))
    if result is None:
        return None
    edited, old, new = result
    return Diagnosis(
        rule="oom",
        summary=f"{killed[0].get('container') or 'the container'} was OOMKilled: memory limit {old} -> {new}",
        slug=slugify(f"raise-memory-limit-{new}"),
        edits={path: edited},
        risk=20,
        recommended_checks=(f"the pod stays under {new} in preflight", "the node has room for the new limit"),
        evidence=("manifest.json", "events.yaml"),
    )


# --- missing-env ------------------------------------------------------------------------------------


def _env_value(name: str, source: Source) -> tuple[str, str] | None:
    """(value, where) from `.env.example`, else from a default in the code."""
    for line in source.get(".env.example", "").splitlines():
        m = re.match(rf"^\s*(?:export\s+)?{re.escape(name)}\s*=\s*(.*)$", line)
        if m:
            raw = m.group(1).strip()
            if raw[:1] in "\"'" and raw[-1:] == raw[:1] and len(raw) >= 2:
                return raw[1:-1], ".env.example"
            return raw.split(" #", 1)[0].strip(), ".env.example"
    default = re.compile(
        rf"""(?:getenv|environ\.get|environ\.setdefault)\(\s*["']{re.escape(name)}["']\s*,\s*(["'])(.*?)\1"""
    )
    for path, text in sorted(source.items()):
        if path.endswith(CODE_SUFFIXES) and (m := default.search(text)):
            return m.group(2), path
    return None


def _reads_env(name: str, source: Source) -> bool:
    read = re.compile(rf"""(?:environ\s*\[|getenv\(|environ\.get\()\s*["']{re.escape(name)}["']""")
    in_example = re.search(rf"(?m)^\s*(?:export\s+)?{re.escape(name)}\s*=", source.get(".env.example", ""))
    return bool(in_example) or any(read.search(t) for p, t in source.items() if p.endswith(CODE_SUFFIXES))


def missing_env(evidence: Evidence, source: Source) -> Diagnosis | None:
    found = _deployment(source)
    if found is None:
        return None
    path, text = found
    for log_path, log in _logs(evidence):
        for pattern in _MISSING_ENV:
            for m in pattern.finditer(log):
                name = m.group(1)
                value = _env_value(name, source) if _reads_env(name, source) else None
                if value is None or re.search(rf"name:\s*['\"]?{re.escape(name)}['\"]?\s*$", text, re.M):
                    continue
                edited = yamltext.add_env(text, _container_of(log_path), name, value[0])
                if edited is None:
                    continue
                secret = is_credential_key(name)
                checks = ["the pod starts and stays Ready in preflight"]
                if secret:
                    checks.append(f"{name} looks like a credential: move it to a Secret (secretKeyRef)")
                return Diagnosis(
                    rule="missing-env",
                    summary=f"missing environment variable {name}: added to {path} (value from {value[1]})",
                    slug=slugify(f"add-env-{name}"),
                    edits={path: edited},
                    risk=50 if secret else 20,
                    recommended_checks=(*checks, f"{name}'s value is right for each environment"),
                    evidence=(log_path, "manifest.json"),
                )
    return None


# --- probe-path ---------------------------------------------------------------------------------------


def _routes(source: Source) -> set[str]:
    own = [
        t
        for p, t in source.items()
        if p.endswith(CODE_SUFFIXES) and not p.startswith(("tests/", "ci/")) and "/tests/" not in p
    ]
    return {r for text in own for r in _ROUTE.findall(text)}


def _best_health(routes: set[str], kind: str) -> str | None:
    health = [r for r in routes if _HEALTH.search(r.rsplit("/", 1)[-1])]
    prefer = {"readinessProbe": "ready", "livenessProbe": "live", "startupProbe": "health"}[kind]
    ranked = sorted(health, key=lambda r: (prefer not in r, "healthz" not in r, "health" not in r, len(r), r))
    return ranked[0] if ranked else None


def probe_path(evidence: Evidence, source: Source) -> Diagnosis | None:
    found = _deployment(source)
    failed = {
        str(e.get("message", "")).split(" ", 1)[0].lower() + "Probe"
        for e in evidence.events
        if e.get("reason") == "Unhealthy" and "statuscode: 404" in str(e.get("message", ""))
    }
    if found is None or not failed:
        return None
    path, text = found
    routes = _routes(source)
    container = str(next((p.get("container") for p in _pods(evidence) if p.get("container")), ""))
    changes: list[str] = []
    for kind in sorted(failed & {"livenessProbe", "readinessProbe", "startupProbe"}):
        current = yamltext.probe_path(text, container, kind)
        target = _best_health(routes, kind)
        if current is None or target is None or current in routes:
            continue
        edited = yamltext.set_probe_path(text, container, kind, target)
        if edited is not None:
            text = edited
            changes.append(f"{kind} {current} -> {target}")
    if not changes:
        return None
    return Diagnosis(
        rule="probe-path",
        summary=f"probe answered 404: {', '.join(changes)} (a route the app serves)",
        slug=slugify("fix-probe-path-" + changes[0].rsplit(" ", 1)[-1]),
        edits={path: text},
        risk=20,
        recommended_checks=("the probes succeed in preflight", "the health route reports real readiness"),
        evidence=("events.yaml",),
    )


# --- exception ----------------------------------------------------------------------------------------


def exception(evidence: Evidence, source: Source) -> Diagnosis | None:
    for log_path, log in _logs(evidence):
        parsed = pyguard.parse_traceback(log)
        if parsed is None or parsed[1] not in ("ZeroDivisionError", "KeyError"):
            continue
        frames, kind, message = parsed
        own = [(p, n) for f, n in frames if (p := pyguard.own_file(f, source)) is not None]
        if not own:
            continue
        path, lineno = own[-1]
        guarded = pyguard.guard(source[path], lineno, kind, message)
        if guarded is None:
            continue
        return Diagnosis(
            rule="exception",
            summary=f"{kind} at {path}:{lineno}: guarded ({guarded[1]})",
            slug=slugify(f"guard-{kind}-{path.rsplit('/', 1)[-1].removesuffix('.py')}-{lineno}"),
            edits={path: guarded[0]},
            risk=60,
            recommended_checks=(
                f"the fallback value at {path}:{lineno} is right for callers",
                "a unit test reproduces the failing input",
            ),
            evidence=(log_path,),
        )
    return None


# --- vulnerable-dependency ---------------------------------------------------------------------------


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(m.group()) if (m := re.match(r"\d+", part)) else 0 for part in text.split("."))


def _advisories(evidence: Evidence, source: Source) -> list[dict[str, Any]]:
    found: list[Any] = list(evidence.signals.get("advisories") or [])
    try:
        raw = json.loads(source.get(ADVISORIES, "[]"))
    except ValueError:
        raw = []
    found += raw.get("advisories", []) if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    return [
        a for a in found if isinstance(a, dict) and (a.get("package") or a.get("name")) and a.get("fixed")
    ]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _affected(advisory: dict[str, Any], version: str) -> bool:
    listed = advisory.get("affected")
    if isinstance(listed, list) and listed:
        return version in [str(v) for v in listed]
    return _version(version) < _version(str(advisory["fixed"]))


def vulnerable_dependency(evidence: Evidence, source: Source) -> Diagnosis | None:
    advisories = {_normal(str(a.get("package") or a.get("name"))): a for a in _advisories(evidence, source)}
    edits: dict[str, str] = {}
    bumps: list[str] = []
    for path in sorted(p for p in source if re.search(r"(^|/)requirements[^/]*\.txt$", p)):
        lines = source[path].splitlines(keepends=True)
        for i, line in enumerate(lines):
            m = _PIN.match(line.rstrip("\r\n"))
            advisory = advisories.get(_normal(m.group(2))) if m else None
            if m is None or advisory is None or not _affected(advisory, m.group(5)):
                continue
            fixed = str(advisory["fixed"])
            ending = line[len(line.rstrip("\r\n")) :]
            lines[i] = f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{m.group(4)}{fixed}{m.group(6)}{ending}"
            bumps.append(
                f"{m.group(2)} {m.group(5)} -> {fixed}"
                + (f" ({advisory['id']})" if advisory.get("id") else "")
            )
            edits[path] = "".join(lines)
    if not edits:
        return None
    return Diagnosis(
        rule="vulnerable-dependency",
        summary="vulnerable dependency: " + ", ".join(bumps),
        slug=slugify("bump-" + bumps[0].split(" ", 1)[0]),
        edits=edits,
        risk=35,
        recommended_checks=("the app's tests pass with the new version", "the image scan is clean"),
        evidence=("manifest.json",),
    )


RULES: tuple[Rule, ...] = (bad_image, oom, missing_env, probe_path, exception, vulnerable_dependency)
