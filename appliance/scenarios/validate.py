"""Pass 3 of loading a scenario: what a type cannot say (names, kinds, ranges, regexes, templates).

`problems` yields each one as (field path, problem); `load` turns the first into a ScenarioError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from appliance.scenarios.model import (
    ACTIONS,
    ACTORS,
    CALLBACK_FAULTS,
    EXPECT_KINDS,
    FAULTS,
    ROLES,
    SETTINGS,
    STEP_ID,
    STEP_KINDS,
    SYSTEMS,
    TEMPLATE_NAME,
    Act,
    Alert,
    Commit,
    Expect,
    Fault,
    Kill,
    Scenario,
    Setup,
    Step,
    templates_in,
)

Where = tuple[str | int, ...]
Problems = Iterator[tuple[Where, str]]

_STEP_ID = re.compile(STEP_ID)
_TEMPLATE_NAME = re.compile(TEMPLATE_NAME)


def problems(scenario: Scenario, raw_steps: list[object], stem: str) -> Problems:
    if not _STEP_ID.fullmatch(scenario.name):
        yield ("name",), f"`{scenario.name}` does not match {STEP_ID}"
    elif scenario.name != stem:
        yield ("name",), f"`{scenario.name}` is not the file's stem `{stem}`"
    yield from _setup_problems(scenario.setup)
    if not scenario.steps:
        yield ("steps",), "expected at least one step"
    yield from _steps_problems(scenario.steps, raw_steps)


def _setup_problems(setup: Setup) -> Problems:
    if setup.autonomy is not None and not 0 <= setup.autonomy <= 3:
        yield ("setup", "autonomy"), f"expected a level 0..3, got {setup.autonomy}"
    for env, level in setup.environments.items():
        if not 0 <= level <= 3:
            yield ("setup", "environments", env), f"expected a level 0..3, got {level}"
    for name, value in setup.settings.items():
        if name not in SETTINGS:
            yield ("setup", "settings", name), _unknown("setting", name, SETTINGS)
        elif value < 1:
            yield ("setup", "settings", name), f"expected a whole number >= 1, got {value}"


def _steps_problems(steps: tuple[Step, ...], raw_steps: list[object]) -> Problems:
    """Each step in turn, its templates against the commits made and the values saved before it."""
    seen: dict[str, int] = {}
    commits: set[str] = set()
    saved: set[str] = set()
    for n, (step, raw) in enumerate(zip(steps, raw_steps, strict=True)):
        where: Where = ("steps", n)
        yield from _identity_problems(step, where, seen)
        yield from _action_problems(step, where)
        yield from _template_problems(raw, where, commits, saved)
        seen.setdefault(step.id, n)
        if step.commit:
            commits.add(step.id)
        if step.expect:
            saved.update(step.expect.save)


def _identity_problems(step: Step, where: Where, seen: dict[str, int]) -> Problems:
    if not _STEP_ID.fullmatch(step.id):
        yield (*where, "id"), f"`{step.id}` does not match {STEP_ID}"
    if step.id in seen:
        yield (*where, "id"), f"duplicate step id `{step.id}` (steps[{seen[step.id]}] has it)"
    if step.actor not in ACTORS:
        yield (*where, "actor"), _unknown("actor", step.actor, ACTORS)


def _action_problems(step: Step, where: Where) -> Problems:
    kinds = [kind for kind in STEP_KINDS if getattr(step, kind) is not None]
    if not kinds:
        yield where, f"no step kind; expected exactly one of {', '.join(STEP_KINDS)}"
    elif len(kinds) > 1:
        yield (*where, kinds[1]), f"more than one step kind ({', '.join(kinds)}); expected exactly one"
    if step.commit:
        yield from _commit_problems(step.commit, (*where, "commit"))
    if step.alert:
        yield from _alert_problems(step.alert, (*where, "alert"))
    if step.fault:
        yield from _fault_problems(step.fault, (*where, "fault"))
    if step.kill:
        yield from _kill_problems(step.kill, (*where, "kill"))
    if step.act:
        yield from _act_problems(step.act, (*where, "act"))
    if step.expect:
        yield from _expect_problems(step.expect, (*where, "expect"))


def _commit_problems(commit: Commit, where: Where) -> Problems:
    if not commit.edits:
        yield (*where, "edits"), "expected at least one edit"
    for n, edit in enumerate(commit.edits):
        at: Where = (*where, "edits", n)
        given = {
            "replace": edit.replace is not None,
            "content": edit.content is not None,
            "delete": edit.delete,
        }
        ways = [way for way, used in given.items() if used]
        if len(ways) != 1:
            got = f"; got {', '.join(ways)}" if ways else ""
            yield (*at, *ways[1:2]), f"expected exactly one of replace, content, delete: true{got}"
        if edit.replace is not None:
            yield from _regex_problems(edit.replace, (*at, "replace"))


def _alert_problems(alert: Alert, where: Where) -> Problems:
    if alert.repeat < 1:
        yield (*where, "repeat"), f"expected at least 1, got {alert.repeat}"
    yield from _seconds_problems(alert.every, (*where, "every"))
    if alert.resolve_after is not None:
        yield from _seconds_problems(alert.resolve_after, (*where, "resolve_after"))


def _fault_problems(fault: Fault, where: Where) -> Problems:
    if fault.system not in SYSTEMS:
        yield (*where, "system"), _unknown("system", fault.system, SYSTEMS)
    if fault.fault not in FAULTS:
        yield (*where, "fault"), _unknown("fault", fault.fault, FAULTS)
    elif fault.fault in CALLBACK_FAULTS and (fault.system != "pathops" or not fault.job):
        yield (*where, "fault"), f"`{fault.fault}` needs `system: pathops` and a `job`"
    if fault.for_ <= 0:
        yield (*where, "for"), f"expected seconds > 0, got {fault.for_:g}"
    if not 0 <= fault.rate <= 1:
        yield (*where, "rate"), f"expected a rate 0..1, got {fault.rate:g}"


def _kill_problems(kill: Kill, where: Where) -> Problems:
    yield from _seconds_problems(kill.restart_after, (*where, "restart_after"))


def _act_problems(act: Act, where: Where) -> Problems:
    if act.action not in ACTIONS:
        yield (*where, "action"), _unknown("action", act.action, ACTIONS)
    if act.as_ not in ROLES:
        yield (*where, "as"), _unknown("role", act.as_, ROLES)
    if act.expect_status is not None and not 100 <= act.expect_status <= 599:
        yield (*where, "expect_status"), f"expected an HTTP status 100..599, got {act.expect_status}"


def _expect_problems(expect: Expect, where: Where) -> Problems:
    if expect.kind not in EXPECT_KINDS:
        yield (*where, "kind"), _unknown("kind", expect.kind, EXPECT_KINDS)
    for name, check in expect.fields.items():
        if check.matches is not None:
            yield from _regex_problems(check.matches, (*where, "fields", name, "matches"))
    for name in expect.save:
        if not _TEMPLATE_NAME.fullmatch(name):
            yield (*where, "save", name), f"`{name}` is not a template name {TEMPLATE_NAME}"
    if expect.within <= 0:
        yield (*where, "within"), f"expected seconds > 0, got {expect.within:g}"
    if expect.count is not None and (expect.count < 0 or expect.never):
        yield (*where, "count"), "expected a count >= 0, and not with `never`"


def _template_problems(raw: object, where: Where, commits: set[str], saved: set[str]) -> Problems:
    for at, text in _strings(raw, where):
        for key in sorted(templates_in(text)):
            step = key.removeprefix("sha:")
            if step != key and step not in commits:
                yield at, f"template names step `{step}`, which is not an earlier commit step"
            elif step == key and key not in saved:
                yield at, f"template {{{key}}} is not saved by an earlier expect"


def _strings(value: object, where: Where) -> Iterator[tuple[Where, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*where, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _strings(item, (*where, n))


def _regex_problems(pattern: str, where: Where) -> Problems:
    try:
        re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        yield where, f"invalid regex: {exc}"


def _seconds_problems(seconds: float, where: Where) -> Problems:
    if seconds < 0:
        yield where, f"expected seconds >= 0, got {seconds:g}"


def _unknown(what: str, value: str, known: tuple[str, ...]) -> str:
    return f"unknown {what} `{value}`; expected one of {', '.join(known)}"
