"""Minimal textual edits of a Deployment manifest's container (block-style YAML), so a diff stays small.

Each edit finds the container (by name, else the first) among the lines of the first `containers:`
list, changes or inserts only the lines it must (with the indentation of the lines around them),
then parses the result and checks the change is there; anything it cannot place returns None.

    add_env(text, container, name, value)            -> text | None
    set_image(text, container, image, unless_in)     -> text | None   (None also when unchanged)
    double_memory_limit(text, container)             -> (text, old, new) | None
    probe_path(text, container, probe)               -> current path | None
    set_probe_path(text, container, probe, path)     -> text | None
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_MEMORY = re.compile(r"^(\s*memory:\s*)([\"']?)(\d+(?:\.\d+)?)([A-Za-z]*)([\"']?)(\s*(?:#.*)?)$")
_SCALAR = re.compile(r"^(\s*(?:- )?\s*[A-Za-z]+:\s*)([\"']?)([^\"'#]*?)([\"']?)(\s*(?:#.*)?)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _key_at(line: str, indent: int, key: str) -> bool:
    """Whether `line` holds `key:` at column `indent` (also as the first key of a `- ` item)."""
    head = line[:indent]
    return (
        head.replace("-", " ", 1).strip() == ""
        and re.match(rf"{re.escape(key)}:(\s|$)", line[indent:]) is not None
    )


def _block_end(lines: list[str], at: int, indent: int) -> int:
    """The end (exclusive, trailing blanks left out) of the value block under the key on line `at`."""
    end, i = at + 1, at + 1
    while i < len(lines):
        line = lines[i]
        if not _blank(line):
            deeper = _indent(line) > indent
            if not deeper and not (_indent(line) == indent and line.lstrip().startswith("- ")):
                break
            end = i + 1
        i += 1
    return end


def _find(lines: list[str], start: int, end: int, indent: int, key: str) -> int | None:
    return next((i for i in range(start, end) if _key_at(lines[i], indent, key)), None)


def _container(lines: list[str], name: str) -> tuple[int, int, int] | None:
    """(first line, end, key column) of the container `name` (else the first) of the first `containers:`."""
    at = next((i for i, line in enumerate(lines) if re.match(r"^\s*(- )?containers:\s*(#.*)?$", line)), None)
    if at is None:
        return None
    end = _block_end(lines, at, _indent(lines[at].replace("- ", "  ", 1)))
    starts = [i for i in range(at + 1, end) if lines[i].lstrip().startswith("- ")]
    dash = min((_indent(lines[i]) for i in starts), default=-1)
    starts = [i for i in starts if _indent(lines[i]) == dash]
    items = []
    for n, start in enumerate(starts):
        key = dash + len(re.match(r"-\s+", lines[start][dash:]).group())  # type: ignore[union-attr]
        items.append((start, starts[n + 1] if n + 1 < len(starts) else end, key))
    for start, stop, key in items:
        line = _find(lines, start, stop, key, "name")
        if line is not None and lines[line].split(":", 1)[1].strip().strip("\"'") == name:
            return start, stop, key
    return items[0] if items else None


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def _containers(text: str) -> list[dict[str, Any]]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError:
        return []
    found: list[dict[str, Any]] = []
    for doc in docs:
        spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        found += [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    return found


def _checked(text: str, container: str, check: Any) -> str | None:
    found = _containers(text)
    chosen = next((c for c in found if c.get("name") == container), found[0] if found else None)
    return text if chosen is not None and check(chosen) else None


def add_env(text: str, container: str, name: str, value: str) -> str | None:
    lines = _lines(text)
    item = _container(lines, container)
    if item is None:
        return None
    start, end, key = item
    env = _find(lines, start, end, key, "env")
    if env is None:
        anchor = _find(lines, start, end, key, "image")
        at, column, head = (anchor if anchor is not None else start) + 1, key + 2, [" " * key + "env:\n"]
    else:
        rest = lines[env].split(":", 1)[1].strip()
        if rest.startswith("[]"):
            lines[env] = lines[env][: lines[env].index("env:") + 4] + "\n"
            at, column, head = env + 1, key + 2, []
        elif rest and not rest.startswith("#"):
            return None  # flow style: not edited as text
        else:
            at = _block_end(lines, env, key)
            dashes = [_indent(lines[i]) for i in range(env + 1, at) if lines[i].lstrip().startswith("- ")]
            column, head = (dashes[0] if dashes else key + 2), []
    shown = name if _PLAIN.match(name) and name.lower() not in _YAML_WORDS else json.dumps(name)
    entry = [" " * column + f"- name: {shown}\n", " " * (column + 2) + f"value: {json.dumps(value)}\n"]
    edited = "".join(lines[:at] + head + entry + lines[at:])
    return _checked(edited, container, lambda c: {"name": name, "value": value} in (c.get("env") or []))


def _scalar(lines: list[str], at: int) -> str:
    m = _SCALAR.match(lines[at].rstrip("\n"))
    return m.group(3).strip() if m else lines[at].split(":", 1)[1].strip()


def _replace_scalar(line: str, value: str) -> str:
    m = _SCALAR.match(line.rstrip("\n"))
    if m is None:
        return line
    quote = m.group(2) or ('"' if ": " in value or value[:1] in "*&!|>%@`{[" else "")
    return f"{m.group(1)}{quote}{value}{quote}{m.group(5)}\n"


def set_image(text: str, container: str, image: str, unless_in: frozenset[str] = frozenset()) -> str | None:
    lines = _lines(text)
    item = _container(lines, container)
    at = _find(lines, item[0], item[1], item[2], "image") if item else None
    if at is None or _scalar(lines, at) in unless_in | {image}:
        return None
    lines[at] = _replace_scalar(lines[at], image)
    return _checked("".join(lines), container, lambda c: c.get("image") == image)


def double_memory_limit(text: str, container: str) -> tuple[str, str, str] | None:
    lines = _lines(text)
    item = _container(lines, container)
    resources = _find(lines, *item, "resources") if item else None
    if item is None or resources is None:
        return None
    end = _block_end(lines, resources, item[2])
    limits = next((i for i in range(resources + 1, end) if lines[i].strip().startswith("limits:")), None)
    if limits is None:
        return None
    at = next(
        (
            i
            for i in range(limits + 1, _block_end(lines, limits, _indent(lines[limits])))
            if _MEMORY.match(lines[i])
        ),
        None,
    )
    m = _MEMORY.match(lines[at].rstrip("\n")) if at is not None else None
    if at is None or m is None:
        return None
    number = float(m.group(3)) * 2
    doubled = f"{number:g}" if "." in m.group(3) else str(int(number))
    old, new = m.group(3) + m.group(4), doubled + m.group(4)
    lines[at] = f"{m.group(1)}{m.group(2)}{new}{m.group(5)}{m.group(6)}\n"
    edited = _checked(
        "".join(lines),
        container,
        lambda c: str(((c.get("resources") or {}).get("limits") or {}).get("memory")) == new,
    )
    return (edited, old, new) if edited is not None else None


def _probe_line(lines: list[str], container: str, probe: str) -> int | None:
    item = _container(lines, container)
    at = _find(lines, *item, probe) if item else None
    if item is None or at is None:
        return None
    return next(
        (i for i in range(at + 1, _block_end(lines, at, item[2])) if lines[i].strip().startswith("path:")),
        None,
    )


def probe_path(text: str, container: str, probe: str) -> str | None:
    lines = _lines(text)
    at = _probe_line(lines, container, probe)
    return _scalar(lines, at) if at is not None else None


def set_probe_path(text: str, container: str, probe: str, path: str) -> str | None:
    lines = _lines(text)
    at = _probe_line(lines, container, probe)
    if at is None:
        return None
    lines[at] = _replace_scalar(lines[at], path)
    return _checked(
        "".join(lines), container, lambda c: ((c.get(probe) or {}).get("httpGet") or {}).get("path") == path
    )
