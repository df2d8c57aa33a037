"""Risk score of a patch, from its unified diff: how much a reviewer should worry, 0 to 100.

The formula, each part capped, the sum capped at 100:
  size          changed lines (`+` and `-` inside hunks), config lines weighing half a code line:
                  min(40, ceil((code_lines + config_lines / 2) / 4))
  spread        8 points for each file beyond the first, at most 24
  dependencies  20 points for each new dependency, at most 40; any new dependency makes the score at
                least 30 (medium): new code from outside is never low risk
  protected     a file under a protected path (auth/, security/, payment/...) makes it 100 (high)
Levels: below 30 low, below 60 medium, else high.

Config files are YAML, JSON, TOML, INI and `.env` files, Dockerfiles and kustomizations. A new dependency
is a package named on an added line, and not on a removed line, of a requirements*.txt, of the dependency
lists of a pyproject.toml, or of the dependency blocks of a package.json. A protected path matches a file
whose path holds it as whole segments (`auth/` matches `auth/x.py` and `src/auth/x.py`, not `oauth/x.py`);
a path with `*`, `?` or `[` is a glob over the whole path.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Sequence
from typing import Literal

import msgspec

Level = Literal["low", "medium", "high"]
LOW_BELOW = 30
HIGH_FROM = 60

_CONFIG = re.compile(
    r"\.(ya?ml|json|toml|ini|cfg|conf|env)$|(^|/)(Dockerfile[^/]*|\.env[^/]*|kustomization\.ya?ml)$"
)
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@ ?(.*)$")
_SECTION = re.compile(r"""^\s*(?:\[+([^\]]+)\]+\s*$|"([^"]+)"\s*:\s*\{)""")  # [toml.table] or "json": {
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_QUOTED_REQUIREMENT = re.compile(
    r"""^\s*["']([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^]]*\])?\s*([<>=!~;@ ][^"']*)?["']\s*,?\s*$"""
)
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*=")
_JSON_VERSION = re.compile(
    r'^\s*"(@?[A-Za-z0-9][\w./@-]*)"\s*:\s*"(\^|~|>=?|<=?|=|\*|latest|workspace:|npm:|\d)'
)
_NOT_PACKAGES = frozenset({"python", "name", "version", "description", "node", "npm"})


class RiskScore(msgspec.Struct, frozen=True, kw_only=True):
    score: int
    level: Level
    reasons: tuple[str, ...]
    files: tuple[str, ...]
    lines_changed: int
    touches_protected: bool
    new_dependencies: tuple[str, ...]


def level_for(score: float) -> Level:
    return "low" if score < LOW_BELOW else "medium" if score < HIGH_FROM else "high"


def is_config(path: str) -> bool:
    return bool(_CONFIG.search(path))


def is_protected(path: str, protected_paths: Sequence[str]) -> bool:
    for pattern in protected_paths:
        if any(c in pattern for c in "*?["):
            if fnmatch.fnmatchcase(path, pattern):
                return True
        elif (pattern := pattern.strip("/")) and f"/{pattern}/" in f"/{path.strip('/')}/":
            return True
    return False


class _Line(msgspec.Struct, frozen=True):
    added: bool
    text: str
    section: str  # the TOML table or JSON block the line is in, when the diff shows it ("" if not)


def _parse(diff: str) -> dict[str, list[_Line]]:
    """The diff's files in order, each with its added and removed lines."""
    files: dict[str, list[_Line]] = {}
    lines: list[_Line] = []
    old = new = 0  # lines left in the current hunk
    source = section = ""
    for line in diff.splitlines():
        if old > 0 or new > 0:
            if line.startswith(("+", "-")):
                lines.append(_Line(line[0] == "+", line[1:], section))
                old, new = (old, new - 1) if line[0] == "+" else (old - 1, new)
            elif not line.startswith("\\"):  # a context line ("\\ No newline at end of file" is not)
                old, new = old - 1, new - 1
            if found := _SECTION.match(line[1:]):
                section = found.group(1) or found.group(2)
            elif line[1:].strip() in ("}", "},"):
                section = ""
        elif line.startswith("diff --git "):
            lines = files.setdefault(
                _path(line.rsplit(" b/", 1)[-1] if " b/" in line else line.split()[-1]), []
            )
        elif line.startswith("--- "):
            source = _path(line[4:])
        elif line.startswith("+++ "):
            target = _path(line[4:])
            lines = files.setdefault(target if target != "/dev/null" else source, [])
        elif hunk := _HUNK.match(line):
            old, new = int(hunk.group(1) or 1), int(hunk.group(2) or 1)
            found = _SECTION.match(hunk.group(3))
            section = (found.group(1) or found.group(2)) if found else ""
    return files


def _path(header: str) -> str:
    path = header.split("\t", 1)[0].strip()
    return path[2:] if path.startswith(("a/", "b/")) else path


def _dependencies(path: str, lines: list[_Line], *, added: bool) -> set[str]:
    """Package names that the added (or the removed) lines of a dependency file name."""
    name, found = path.rsplit("/", 1)[-1], set[str]()
    for line in (x for x in lines if x.added == added):
        if fnmatch.fnmatchcase(name, "requirements*.txt") or fnmatch.fnmatchcase(name, "requirements*.in"):
            text = line.text.split("#", 1)[0].strip()
            m = _REQUIREMENT.match(text) if text and not text.startswith("-") else None
        elif name == "pyproject.toml":
            in_table = line.section.endswith("dependencies")
            m = _QUOTED_REQUIREMENT.match(line.text) or (_TOML_KEY.match(line.text) if in_table else None)
        elif name == "package.json":
            in_block = not line.section or line.section.lower().endswith("dependencies")
            m = _JSON_VERSION.match(line.text) if in_block else None
        else:
            return set()
        if m:
            found.add(m.group(1).lower())
    return found - _NOT_PACKAGES


def risk_score(diff: str, *, protected_paths: Sequence[str]) -> RiskScore:
    """Score a unified diff (see the module docstring for the formula)."""
    parsed = _parse(diff)
    files = tuple(parsed)
    code = sum(len(lines) for f, lines in parsed.items() if not is_config(f))
    config = sum(len(lines) for f, lines in parsed.items() if is_config(f))
    new_deps: list[str] = []
    for path, lines in parsed.items():
        fresh = _dependencies(path, lines, added=True) - _dependencies(path, lines, added=False)
        new_deps += sorted(fresh - set(new_deps))
    protected = tuple(f for f in files if is_protected(f, protected_paths))

    size = min(40, math.ceil((code + config / 2) / 4))
    spread = min(24, 8 * max(0, len(files) - 1))
    deps = min(40, 20 * len(new_deps))
    score = min(100, size + spread + deps)
    if new_deps:
        score = max(score, LOW_BELOW)
    if protected:
        score = 100

    changed = f"{_n(code + config, 'line')} changed in {_n(len(files), 'file')}"
    reasons = [f"{changed} ({code} in code, {config} in config)"]
    if new_deps:
        reasons.append(f"{_n(len(new_deps), 'new dependency', 'new dependencies')}: {', '.join(new_deps)}")
    if protected:
        reasons.append(f"touches protected paths: {', '.join(protected)}")
    return RiskScore(
        score=score,
        level=level_for(score),
        reasons=tuple(reasons) if files else ("no file changes",),
        files=files,
        lines_changed=code + config,
        touches_protected=bool(protected),
        new_dependencies=tuple(new_deps),
    )


def _n(count: int, one: str, many: str = "") -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"
