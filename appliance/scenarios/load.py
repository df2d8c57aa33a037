"""Load scenario files, or refuse one with a single line: `PATH:LINE: FIELD-PATH: problem`.

Three passes, each failing on its first problem: compose the YAML, keeping the line of every key and
list item; convert it to the model (unknown keys, types); then check what a type cannot say (names,
kinds, ranges, regexes, templates). Every problem is a field path, and the line is the one that path
sits on in the file, or its nearest parent's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import yaml

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
Lines = dict[Where, int]
Problems = Iterator[tuple[Where, str]]

_STEP_ID = re.compile(STEP_ID)
_TEMPLATE_NAME = re.compile(TEMPLATE_NAME)
_CHECKS = ("contains", "matches", "present")
_TYPES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "null": "null",
    "array": "a list",
    "object": "a mapping",
    "datetime": "a timestamp",
    "date": "a date",
}


class ScenarioError(ValueError):
    """A scenario that does not load; `str()` is the one line the console and the CLI show."""

    def __init__(self, path: str, line: int, field: str, problem: str) -> None:
        super().__init__(f"{path}:{line}: {field}: {problem}")
        self.path, self.line, self.field, self.problem = path, line, field, problem


class _Problem(Exception):
    """A problem found by a pass, placed on a line by `load` unless the pass knew the line itself."""

    def __init__(self, where: Where, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.where, self.problem, self.line = where, problem, line


def load(path: Path) -> Scenario:
    """The scenario in `path`, or a ScenarioError naming its first problem: no half-checked file plays."""
    lines: Lines = {}
    try:
        raw, lines = _compose(_read(path))
        scenario = _convert(_normalize(raw))
        _check(scenario, raw, path.stem)
    except _Problem as problem:
        line = problem.line or _line(lines, problem.where)
        raise ScenarioError(str(path), line, _dotted(problem.where), problem.problem) from None
    return msgspec.structs.replace(scenario, path=str(path))


def load_dir(directory: Path) -> list[Scenario]:
    """Every `*.yaml` scenario of a catalog, by name, so runs and reports list them in a stable order."""
    return sorted((load(path) for path in directory.glob("*.yaml")), key=lambda s: s.name)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Problem((), f"cannot read the file: {exc}", line=1) from None


def _line(lines: Lines, where: Where) -> int:
    while where not in lines and where:
        where = where[:-1]
    return lines.get(where, 1)


def _dotted(where: Where) -> str:
    """`steps[1].expect.phase` for ("steps", 1, "expect", "phase"); `$` for the document itself."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in where)
    return text.removeprefix(".") or "$"


# Pass 1: YAML, with lines.


def _compose(text: str) -> tuple[object, Lines]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Problem((), "expected a mapping, got an empty file", line=1)
        lines: Lines = {}
        return _construct(loader, node, (), lines), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _Problem((), f"invalid YAML: {exc.problem}", line=mark.line + 1 if mark else 1) from None
    except yaml.YAMLError as exc:
        raise _Problem((), f"invalid YAML: {exc}", line=1) from None
    finally:
        loader.dispose()


def _construct(loader: yaml.SafeLoader, node: yaml.Node, where: Where, lines: Lines) -> object:
    """The node's value, noting the line of each item; a key's line was noted by its mapping."""
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        return _mapping(loader, node, where, lines)
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*where, n), lines) for n, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _mapping(
    loader: yaml.SafeLoader, node: yaml.MappingNode, where: Where, lines: Lines
) -> dict[str, object]:
    """The mapping, refusing what PyYAML lets through: non-string keys and repeated keys."""
    result: dict[str, object] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        child, line = (*where, str(key_node.value)), key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise _Problem(child, f"keys must be strings; YAML reads this one as {type(key).__name__}", line)
        if key in result:
            raise _Problem(child, "duplicate key", line)
        lines[child] = line
        result[key] = _construct(loader, value_node, child, lines)
    return result


# Pass 2: the model. First the shorthands the YAML allows, then msgspec.


def _normalize(raw: object) -> object:
    """The document with its shorthands spelled out, so that it converts to the model as it is."""
    if not isinstance(raw, dict):
        return raw
    if "path" in raw:
        raise _Problem(("path",), "unknown key")
    steps = raw.get("steps")
    if not isinstance(steps, list):
        return raw
    return {**raw, "steps": [_normalize_step(step, ("steps", n)) for n, step in enumerate(steps)]}


def _normalize_step(step: object, where: Where) -> object:
    """A bare `kill:` is a kill with its defaults; `expect` has two shorthands of its own."""
    if not isinstance(step, dict):
        return step
    empty: dict[str, object] = {kind: {} for kind in STEP_KINDS if kind in step and step[kind] is None}
    step = {**step, **empty}
    if isinstance(step.get("expect"), dict):
        step["expect"] = _normalize_expect(step["expect"], (*where, "expect"))
    return step


def _normalize_expect(expect: dict[str, object], where: Where) -> dict[str, object]:
    """`phase: x` is `phase: [x]`; a field's plain value is `{equals: value}`."""
    expect = dict(expect)
    if "phase" in expect:
        expect["phase"] = _phases(expect["phase"], (*where, "phase"))
    fields = expect.get("fields")
    if isinstance(fields, dict):
        expect["fields"] = {
            name: _field_check(value, (*where, "fields", name)) for name, value in fields.items()
        }
    return expect


def _phases(phase: object, where: Where) -> list[str]:
    if isinstance(phase, str):
        return [phase]
    if isinstance(phase, list) and all(isinstance(p, str) for p in phase):
        return phase
    raise _Problem(where, "expected a string or a list of strings")


def _field_check(value: object, where: Where) -> dict[str, object]:
    """A map naming a check is that check; any other value must equal the field."""
    if not isinstance(value, dict) or not set(value) & set(_CHECKS):
        return {"equals": value}
    if len(value) != 1:
        raise _Problem(where, f"a check has exactly one key of {', '.join(_CHECKS)}; got {', '.join(value)}")
    return value


def _convert(data: object) -> Scenario:
    try:
        return msgspec.convert(data, Scenario)
    except msgspec.ValidationError as exc:
        raise _validation_problem(str(exc), data) from None


def _validation_problem(message: str, data: object) -> _Problem:
    """msgspec's `Expected `str`, got `int` - at `$.steps[0].actor`` as a field path and a problem."""
    what, _, at = message.partition(" - at `")
    where = _where(at.rstrip("`").removeprefix("$"), data, what)
    if field := re.fullmatch(r"Object contains unknown field `(.*)`", what):
        return _Problem((*where, field.group(1)), "unknown key")
    if field := re.fullmatch(r"Object missing required field `(.*)`", what):
        return _Problem((*where, field.group(1)), "missing required key")
    if types := re.fullmatch(r"Expected `(.*)`, got `(.*)`", what):
        return _Problem(where, f"expected {_phrase(types.group(1))}, got {_phrase(types.group(2))}")
    return _Problem(where, what[:1].lower() + what[1:])


def _where(at: str, data: object, what: str) -> Where:
    """The path msgspec names, with the key of a map's entry (which msgspec writes `[...]`) found again."""
    where: list[str | int] = []
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]", at):
        if index == "...":
            got = re.search(r", got `(.*)`", what)
            key = _offending_key(data, at.partition("[...]")[2], got.group(1) if got else "")
            if key is None:
                break
            where.append(key)
            data = data[key] if isinstance(data, dict) else None
            continue
        part: str | int = int(index) if index else name
        where.append(part)
        data = _child(data, part)
    return tuple(where)


def _offending_key(entries: object, rest: str, got: str) -> str | None:
    """The first entry whose value, down `rest`, has the type msgspec refused."""
    if not isinstance(entries, dict):
        return None
    for key, value in entries.items():
        for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", rest):
            value = _child(value, int(index) if index else name)
        if _type_name(value) == got:
            return str(key)
    return None


def _child(data: object, part: str | int) -> object:
    if isinstance(data, dict) and isinstance(part, str):
        return data.get(part)
    if isinstance(data, list) and isinstance(part, int) and part < len(data):
        return data[part]
    return None


def _type_name(value: object) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _phrase(types: str) -> str:
    return " or ".join(_TYPES.get(name, f"`{name}`") for name in types.split(" | "))


# Pass 3: what a type cannot say.


def _check(scenario: Scenario, raw: object, stem: str) -> None:
    assert isinstance(raw, dict)
    for where, problem in _problems(scenario, raw["steps"], stem):
        raise _Problem(where, problem)


def _problems(scenario: Scenario, raw_steps: list[object], stem: str) -> Problems:
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
