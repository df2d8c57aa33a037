"""Load scenario files, or refuse one with a single line: `PATH:LINE: FIELD-PATH: problem`.

Three passes, each failing on its first problem: compose the YAML, keeping the line of every key and
list item; convert it to the model (unknown keys, types); then check what a type cannot say (names,
kinds, ranges, regexes, templates). Every problem is a field path, and the line is the one that path
sits on in the file, or its nearest parent's.
"""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import yaml

from appliance.scenarios import validate
from appliance.scenarios.model import STEP_KINDS, Scenario
from appliance.scenarios.validate import Where

Lines = dict[Where, int]

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


# Pass 3 (appliance/scenarios/validate.py): what a type cannot say.


def _check(scenario: Scenario, raw: object, stem: str) -> None:
    assert isinstance(raw, dict)
    for where, problem in validate.problems(scenario, raw["steps"], stem):
        raise _Problem(where, problem)
