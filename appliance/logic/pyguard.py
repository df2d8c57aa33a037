"""Python failures in a log, and a best-effort guard of the failing expression in the app's own file.

    parse_traceback(log)                  -> (frames [(file, line)], exception type, message) | None
    own_file(file, source)                -> the source path a traceback's file is, or None
    guard(text, lineno, kind, message)    -> (new text, what changed) | None

`guard` handles ZeroDivisionError (`a / b` -> `(a / b if b else 0)`) and KeyError on a subscript
with the failing constant key (`d["k"]` -> `d.get("k")`, never on `os.environ`); it edits the one
expression on that line, found with `ast`, and checks the result still parses. Pure: no I/O.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping

_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in ')
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)):? ?(.*)$")


def parse_traceback(log: str) -> tuple[list[tuple[str, int]], str, str] | None:
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return None
    frames: list[tuple[str, int]] = []
    for line in lines[starts[-1] + 1 :]:
        if m := _FRAME.match(line):
            frames.append((m.group(1), int(m.group(2))))
        elif not line.startswith(" ") and (e := _EXCEPTION.match(line)):
            return frames, e.group(1).rsplit(".", 1)[-1], e.group(2)
    return None


def own_file(file: str, source: Mapping[str, str]) -> str | None:
    if "site-packages" in file or "dist-packages" in file:
        return None
    file = file.replace("\\", "/")
    matches = [p for p in source if p.endswith(".py") and (file == p or file.endswith("/" + p))]
    return max(matches, key=len) if matches else None


def _column(line: str, byte_offset: int) -> int:
    return len(line.encode()[:byte_offset].decode(errors="ignore"))


def guard(text: str, lineno: int, kind: str, message: str) -> tuple[str, str] | None:
    """The file with the failing expression on `lineno` guarded, and what was done; or None."""
    try:
        tree = ast.parse(text)
        key = ast.literal_eval(message) if kind == "KeyError" else None
    except (SyntaxError, ValueError):
        return None
    found: list[tuple[ast.expr, str]] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) != lineno or getattr(node, "end_lineno", 0) != lineno:
            continue
        if kind == "ZeroDivisionError" and isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod) and not isinstance(
                node.right, ast.Constant
            ):
                left, right = ast.get_source_segment(text, node), ast.get_source_segment(text, node.right)
                found.append((node, f"({left} if {right} else 0)"))
        elif kind == "KeyError" and isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            value, index = ast.get_source_segment(text, node.value), ast.get_source_segment(text, node.slice)
            if (
                isinstance(node.slice, ast.Constant)
                and node.slice.value == key
                and value
                and not value.endswith("environ")
            ):
                found.append((node, f"{value}.get({index})"))
    if not found:
        return None
    node, replacement = found[-1] if kind == "ZeroDivisionError" else found[0]
    lines = text.splitlines(keepends=True)
    line = lines[lineno - 1]
    start, end = _column(line, node.col_offset), _column(line, node.end_col_offset or 0)
    lines[lineno - 1] = line[:start] + replacement + line[end:]
    edited = "".join(lines)
    try:
        ast.parse(edited)
    except SyntaxError:
        return None
    return edited, f"{line[start:end]} -> {replacement}"
