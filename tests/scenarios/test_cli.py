"""`pathops scenario` and `pathops conformance` with bad input: clear messages and exit code 2, before any
target is started; and the catalog as shipped loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.entrypoints.cli import main
from appliance.scenarios.conformance import SelectionError, catalog, select


def test_the_shipped_catalog_loads_and_lists(capsys: pytest.CaptureFixture[str]) -> None:
    names = [s.name for s in catalog()]
    assert {"missing-env", "failing-verification", "feature-deploy-order", "duplicate-alerts"} <= set(names)
    assert main(["scenario", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == names


def test_show_prints_each_step_with_its_actor_and_narration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "show", "missing-env"]) == 0
    out = capsys.readouterr().out
    assert "1. break [commit, developer]" in out and "why: " in out


def test_an_unknown_scenario_or_tag_is_refused_with_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "show", "nope"]) == 2
    assert "no scenario 'nope'; there are: " in capsys.readouterr().err
    assert main(["conformance", "--only", "missing-env,nope"]) == 2
    assert "no scenario or tag 'nope'" in capsys.readouterr().err
    with pytest.raises(SelectionError):
        select(catalog(), ["nope"])
    assert [s.name for s in select(catalog(), ["feature"])] == ["feature-deploy-order"]  # by tag


def test_a_target_that_is_not_available_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "--only", "missing-env", "--target", "stack"]) == 2
    assert "target 'stack' is not available yet" in capsys.readouterr().err


def test_a_scenario_that_does_not_load_names_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yaml").write_text(
        "name: broken\ntitle: t\nsteps:\n  - id: a\n    actor: developer\n    narration: n\n"
        "    expect: {kind: artifact, id: x, within: -1}\n"
    )
    assert main(["scenario", "list", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'broken.yaml'}:7: steps[0].expect.within: expected seconds > 0, got -1" in err
