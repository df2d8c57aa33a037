"""Risk score of a unified diff: size, spread, new dependencies, protected paths."""

from __future__ import annotations

import pytest

from appliance.logic.risk import is_config, is_protected, level_for, risk_score

PROTECTED = ("auth/", "security/", "payment/")


def diff(path: str, added: list[str], removed: tuple[str, ...] = (), *, context: str = "x = 0") -> str:
    """A unified diff of one file with one hunk (`--- a/...` and `+++ b/...` headers, like git)."""
    body = [f"-{line}" for line in removed] + [f"+{line}" for line in added] + [f" {context}"]
    old, new = len(removed) + 1, len(added) + 1
    return (
        "\n".join(
            [
                f"diff --git a/{path} b/{path}",
                f"--- a/{path}",
                f"+++ b/{path}",
                f"@@ -1,{old} +1,{new} @@",
                *body,
            ]
        )
        + "\n"
    )


def lines(*text: str) -> str:
    return "\n".join(text) + "\n"


def test_a_small_code_fix_is_low_risk() -> None:
    score = risk_score(diff("api/app.py", ["x = 2", "y = 3"], ("x = 1",)), protected_paths=PROTECTED)
    assert (score.score, score.level) == (1, "low")
    assert score.files == ("api/app.py",)
    assert score.lines_changed == 3
    assert not score.touches_protected
    assert score.reasons == ("3 lines changed in 1 file (3 in code, 0 in config)",)


def test_header_lines_and_removed_lines_that_look_like_headers_are_told_apart() -> None:
    text = diff("api/app.py", ["++ added"], ("-- removed", "--- also removed"))
    assert risk_score(text, protected_paths=()).lines_changed == 3


def test_config_lines_weigh_half_a_code_line() -> None:
    lines = [f"key{n}: {n}" for n in range(40)]
    code = risk_score(diff("api/settings.py", lines), protected_paths=())
    config = risk_score(diff("deploy/values.yaml", lines), protected_paths=())
    assert (code.score, config.score) == (10, 5)
    assert config.reasons == ("40 lines changed in 1 file (0 in code, 40 in config)",)


def test_size_and_spread_are_capped() -> None:
    text = "".join(diff(f"api/m{n}.py", [f"v = {i}" for i in range(400)]) for n in range(6))
    score = risk_score(text, protected_paths=())
    assert (score.score, score.level) == (64, "high")  # 40 for size + 24 for spread


def test_any_protected_path_makes_it_high() -> None:
    score = risk_score(diff("src/auth/login.py", ["ok = True"]), protected_paths=PROTECTED)
    assert (score.score, score.level, score.touches_protected) == (100, "high", True)
    assert "touches protected paths: src/auth/login.py" in score.reasons


def test_a_new_file_and_a_deleted_file_are_counted() -> None:
    text = lines(
        "diff --git a/payment/new.py b/payment/new.py",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/payment/new.py",
        "@@ -0,0 +1,2 @@",
        "+a = 1",
        "+b = 2",
        "diff --git a/old.py b/old.py",
        "deleted file mode 100644",
        "--- a/old.py",
        "+++ /dev/null",
        "@@ -1 +0,0 @@",
        "-gone = 1",
    )
    score = risk_score(text, protected_paths=PROTECTED)
    assert score.files == ("payment/new.py", "old.py")
    assert score.lines_changed == 3
    assert score.touches_protected


def test_new_requirements_are_new_dependencies_but_a_version_bump_is_not() -> None:
    text = diff(
        "requirements.txt", ["flask==3.0", "requests>=2  # http", "-r base.txt", "# note"], ("flask==2.0",)
    )
    score = risk_score(text, protected_paths=())
    assert score.new_dependencies == ("requests",)
    assert score.level == "medium"  # 1 point of size, 20 for the dependency, raised to medium
    assert score.score == 30
    assert "1 new dependency: requests" in score.reasons


def test_pyproject_dependencies_are_found_in_lists_and_in_poetry_tables() -> None:
    text = lines(
        "diff --git a/pyproject.toml b/pyproject.toml",
        "--- a/pyproject.toml",
        "+++ b/pyproject.toml",
        '@@ -5,3 +5,8 @@ name = "x"',
        " dependencies = [",
        '+    "httpx[http2]>=0.27",',
        '+    "slow: a marker",',
        " ]",
        "+line-length = 110",
        "+[tool.poetry.dependencies]",
        '+rich = "^13"',
        '+python = "^3.11"',
    )
    assert risk_score(text, protected_paths=()).new_dependencies == ("httpx", "rich")


def test_package_json_dependencies_are_found_in_dependency_blocks_only() -> None:
    text = lines(
        "diff --git a/web/package.json b/web/package.json",
        "--- a/web/package.json",
        "+++ b/web/package.json",
        "@@ -1,7 +1,9 @@",
        " {",
        '-  "version": "1.0.0",',
        '+  "version": "1.0.1",',
        '   "scripts": {',
        '+    "lint": "1",',
        "   },",
        '   "dependencies": {',
        '+    "left-pad": "^1.3.0",',
        '     "react": "^18.0.0"',
        "   }",
    )
    score = risk_score(text, protected_paths=())
    assert score.new_dependencies == ("left-pad",)
    assert score.files == ("web/package.json",)


def test_an_empty_diff_is_no_risk() -> None:
    score = risk_score("", protected_paths=PROTECTED)
    assert (score.score, score.level, score.files, score.reasons) == (0, "low", (), ("no file changes",))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("deploy/values.yaml", True),
        ("k8s/kustomization.yaml", True),
        ("Dockerfile", True),
        ("api/Dockerfile.dev", True),
        (".env.production", True),
        ("config.toml", True),
        ("api/app.py", False),
        ("web/src/yaml.ts", False),
    ],
)
def test_config_files(path: str, expected: bool) -> None:
    assert is_config(path) is expected


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("auth/login.py", ("auth/",), True),
        ("src/auth/login.py", ("auth/",), True),
        ("oauth/login.py", ("auth/",), False),
        ("authors.md", ("auth/",), False),
        ("src/payment/v2/charge.py", ("payment/v2",), True),
        ("api/secrets.yaml", ("*secret*",), True),
        ("api/app.py", (), False),
    ],
)
def test_protected_paths_match_whole_segments_or_globs(
    path: str, patterns: tuple[str, ...], expected: bool
) -> None:
    assert is_protected(path, patterns) is expected


@pytest.mark.parametrize(
    ("score", "level"), [(0, "low"), (29, "low"), (30, "medium"), (59.5, "medium"), (60, "high")]
)
def test_levels(score: float, level: str) -> None:
    assert level_for(score) == level
