"""appliance/logic is pure: no clock, environment, randomness, ids or files, read from its source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LOGIC = Path(__file__).resolve().parents[2] / "appliance" / "logic"
MODULES = sorted(LOGIC.glob("*.py"))
FORBIDDEN_MODULES = frozenset(
    {"os", "io", "sys", "time", "random", "secrets", "uuid", "socket", "subprocess", "asyncio", "threading"}
    | {"sqlite3", "pathlib", "shutil", "tempfile", "logging", "httpx", "aiosqlite"}
)
CLOCK_CALLS = frozenset({"now", "utcnow", "today", "fromtimestamp", "utcfromtimestamp"})


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def impurities(source: str) -> list[str]:
    """What in `source` reads the clock, the environment, randomness, fresh ids or files."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_CALLS:
                found.append(f"{line}: clock read {name}()")
            elif name in {"open", "input", "print", "exec", "eval", "__import__"} or name.startswith("io."):
                found.append(f"{line}: {name}()")
        if isinstance(node, ast.Attribute):
            name = _dotted(node)
            if name.split(".")[0] in {"time", "random", "uuid", "secrets", "os"}:
                found.append(f"{line}: {name}")
        if isinstance(node, ast.Import):
            found += [
                f"{line}: import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES
            ]
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
            found.append(f"{line}: from {node.module} import ...")
    return found


def test_the_logic_modules_are_found() -> None:
    assert {"machine.py", "incident.py", "changeset.py", "artifact.py", "preflight.py", "risk.py"} <= {
        m.name for m in MODULES
    }


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_a_logic_module_reads_no_clock_environment_randomness_or_files(module: Path) -> None:
    assert impurities(module.read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\nx = datetime.now()",
        "import datetime\nx = datetime.datetime.utcnow()",
        "from datetime import date\nx = date.today()",
        "import time\nx = time.time()",
        "import os\nx = os.environ['HOME']",
        "import os\nx = os.getenv('HOME')",
        "import random\nx = random.choice([1, 2])",
        "import uuid\nx = uuid.uuid4()",
        "x = open('f').read()",
        "from pathlib import Path",
    ],
)
def test_the_check_catches_each_kind_of_impurity(source: str) -> None:
    assert impurities(source)


def test_the_check_lets_pure_code_through() -> None:
    assert (
        impurities(
            "from datetime import datetime, timedelta\ndef f(now: datetime) -> datetime:\n    return now"
        )
        == []
    )
