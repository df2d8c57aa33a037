"""Autonomy policy: what PathOps may do on its own, by a project's autonomy level and a change's risk.

Levels are cumulative:
  0 suggest-only          nothing automatic: every change waits for people
  1 auto-apply preflight  deploy a change to `<app>-preflight` without asking
  2 auto-merge low-risk   merge a low-risk MR, and promote a verified low-risk artifact, without asking
  3 auto-remediate        roll production back without asking
Never automatic, at any level: a change that touches a protected path (auth, security, payment), and
a change whose risk is unknown. Every answer is a `Verdict` whose reason says why, for the audit trail.
"""

from __future__ import annotations

import msgspec

from appliance.contracts.entities import AutonomyLevel, EnvName
from appliance.logic.risk import Level, RiskScore, level_for

LEVELS: tuple[Level, ...] = ("low", "medium", "high")
Risk = RiskScore | int | float | str | None  # a score, a score's number, a level name, or unknown


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    allowed: bool
    reason: str


def autonomy(level: int | str) -> AutonomyLevel:
    """The level from a number (or its text); ValueError names a level that does not exist."""
    number = int(level) if isinstance(level, str) and level.strip().isdigit() else level
    if (
        isinstance(number, int)
        and not isinstance(number, bool)
        and number in AutonomyLevel._value2member_map_
    ):
        return AutonomyLevel(number)
    raise ValueError(f"autonomy level must be 0 to 3, not {level!r}")


def _risk(risk: Risk) -> tuple[Level | None, bool, str]:
    """(level or None if unknown, touches a protected path, how to say it)."""
    if isinstance(risk, RiskScore):
        return risk.level, risk.touches_protected, f"{risk.level} risk (score {risk.score})"
    if isinstance(risk, bool) or risk is None:
        return None, False, "unknown risk"
    if isinstance(risk, int | float):
        return level_for(risk), False, f"{level_for(risk)} risk (score {risk:g})"
    for name in LEVELS:
        if risk == name:
            return name, False, f"{name} risk"
    return None, False, f"unknown risk {risk!r}"


def _needs(level: int | str, needed: AutonomyLevel, action: str) -> Verdict | None:
    have = autonomy(level)
    if have < needed:
        return Verdict(
            allowed=False, reason=f"autonomy level {have:d} does not {action}: it needs level {needed:d}"
        )
    return None


def _low_risk_only(level: int | str, risk: Risk, action: str, *, touches_protected: bool) -> Verdict:
    risk_level, protected, said = _risk(risk)
    if protected or touches_protected:
        return Verdict(allowed=False, reason=f"never {action} a change to a protected path")
    if refused := _needs(level, AutonomyLevel.AUTO_MERGE_LOW_RISK, action):
        return refused
    if risk_level != "low":
        return Verdict(allowed=False, reason=f"{action} only low-risk changes; this one has {said}")
    return Verdict(allowed=True, reason=f"autonomy level {autonomy(level):d} may {action} at {said}")


def may_auto_apply(
    level: int | str, *, env: str = EnvName.PREFLIGHT, touches_protected: bool = False
) -> Verdict:
    """Deploy a change without asking: only to preflight, from level 1."""
    if touches_protected:
        return Verdict(allowed=False, reason="never auto-apply a change to a protected path")
    if env != EnvName.PREFLIGHT:
        return Verdict(allowed=False, reason=f"auto-apply reaches preflight only, not {env}")
    refused = _needs(level, AutonomyLevel.AUTO_APPLY_PREFLIGHT, "auto-apply")
    return refused or Verdict(
        allowed=True, reason=f"autonomy level {autonomy(level):d} may auto-apply in preflight"
    )


def may_auto_merge(level: int | str, risk: Risk, *, touches_protected: bool = False) -> Verdict:
    """Merge an MR without a person's approval: level 2 and low risk."""
    return _low_risk_only(level, risk, "auto-merge", touches_protected=touches_protected)


def may_auto_promote(level: int | str, risk: Risk, *, touches_protected: bool = False) -> Verdict:
    """Promote a verified artifact to production without an owner: level 2 and low risk (promotion is a
    gitops MR, so it follows the auto-merge rule). Whether the artifact is verified is the artifact
    machine's business, not this policy's."""
    return _low_risk_only(level, risk, "auto-promote", touches_protected=touches_protected)


def may_rollback(
    level: int | str, *, env: str = EnvName.PRODUCTION, touches_protected: bool = False
) -> Verdict:
    """Roll back without asking: in production from level 3; in preflight (or agents) from level 1."""
    if touches_protected:
        return Verdict(allowed=False, reason="never roll back a protected path without a person")
    needed = AutonomyLevel.AUTO_REMEDIATE if env == EnvName.PRODUCTION else AutonomyLevel.AUTO_APPLY_PREFLIGHT
    refused = _needs(level, needed, f"roll back in {env}")
    return refused or Verdict(
        allowed=True, reason=f"autonomy level {autonomy(level):d} may roll back in {env}"
    )
