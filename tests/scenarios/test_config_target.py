"""`pathops conformance --target FILE`: a file naming a PathOps that runs already and its systems.

The bad files are refused with the file and field named (exit 2); a good one, describing a running
`pathops demo`, plays a scenario of the catalog on it, with the least-privilege checks read from the
fakes' access logs and the real Alertmanager in the loop when it is installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from appliance.scenarios.configured import ConfigError, ConfigTarget
from appliance.scenarios.conformance import SelectionError, catalog, run, select
from appliance.scenarios.embedded import EmbeddedTarget
from appliance.scenarios.model import Expect, Scenario, Setup, Step
from appliance.scenarios.runner import play
from appliance.scenarios.verdict import StepVerdict
from fakes.alertmanager.real import BINARY


def _write(path: Path, content: object) -> Path:
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("pathops: [", ":1: not valid YAML"),
        ({"systems": {}}, "pathops.url: required"),
        ({"pathops": {"url": "http://x"}}, "pathops: token_file or token_env is required"),
        ({"pathops": {"url": "http://x", "token_env": "PATHOPS_NO_SUCH_VAR"}}, "$PATHOPS_NO_SUCH_VAR is not set"),
        ({"pathops": {"url": "http://x", "token_file": "none.token"}}, "pathops.token_file:"),
        ({"pathops": {"url": "http://x", "token_file": "t"}, "systems": {"gitlab": {"url": "http://g"}}},
         "systems.alertmanager.url: required"),
        ({"pathops": {"url": "http://x", "token_file": "t"},
          "systems": {"gitlab": {"url": "http://g"}, "alertmanager": {"url": "http://a"}}},
         "systems.gitlab.tokens.admin: required"),
        ({"pathops": {"url": "http://x", "token_file": "t"}, "systems": "missing.json"},
         "systems: "),
    ],
)  # fmt: skip
def test_a_bad_target_file_names_the_field(tmp_path: Path, content: object, problem: str) -> None:
    (tmp_path / "t").write_text("pat-x\n")
    file = _write(tmp_path / "target.yaml", content)
    with pytest.raises(ConfigError) as caught:
        ConfigTarget(file)
    assert str(caught.value).startswith(str(file)) and problem in str(caught.value)


def test_the_cli_refuses_a_missing_target_file_with_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "appliance.entrypoints.cli", "conformance", "--target",
         str(tmp_path / "nope.yaml"), "--only", "duplicate-alerts", "--quiet"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "nope.yaml: cannot read the target file" in done.stderr
    with pytest.raises(SelectionError, match="'stack' is not available yet"):
        run([], target="stack")


@pytest.mark.xdist_group("scenarios")
def test_a_scenario_plays_on_a_running_demo_described_by_a_file(tmp_path: Path) -> None:
    demo = EmbeddedTarget(tmp_path / "demo")
    demo.up()
    try:
        fakes = json.loads((tmp_path / "demo" / "embedded" / "fakes.json").read_text())
        target = _write(tmp_path / "target.yaml", {
            "pathops": {"url": demo.url, "token_file": "demo/owner.token"},
            "systems": "demo/embedded/fakes.json",
        })  # fmt: skip
        verdict = run(select(catalog(), ["duplicate-alerts"]), target=str(target), parallel=2)
        assert demo.proc is not None and demo.proc.poll() is None  # the run neither stopped nor restarted it
        levels = _autonomy_is_put_back(demo, ConfigTarget(target))
    finally:
        demo.down()
    assert levels["before"] == (
        1,
        {"agents": 0, "preflight": 1, "production": 0},
    )  # as the seeded meta repo says
    assert levels["during"] == (2, {"agents": 0, "preflight": 1, "production": 2})  # as the scenario set it
    assert levels["after"] == levels["before"] and levels["verdict"] == "passed"
    [scenario] = verdict.scenarios
    assert (verdict.target, verdict.status) == ("target.yaml", "passed"), scenario
    assert [s.status for s in scenario.steps] == ["passed"] * len(scenario.steps)
    assert {c.name for c in scenario.checks} >= {"PathOps never wrote to the cluster"}
    assert all(c.status == "passed" for c in scenario.checks), scenario.checks
    real = BINARY.exists()
    assert fakes["alertmanager"]["kind"] == ("real" if real else "fake")


def _autonomy_is_put_back(demo: EmbeddedTarget, target: ConfigTarget) -> dict[str, Any]:
    """Play a scenario that sets autonomy levels on a shared target: (before, during, after)."""
    owner = {"Authorization": f"Bearer {demo.owner_token()}"}

    def levels() -> tuple[int, dict[str, int]]:
        shop = httpx.get(f"{demo.url}/api/projects/shop", headers=owner, timeout=30).json()
        return shop["autonomy"], {e["name"]: e["autonomy"] for e in shop["environments"]}

    seen: dict[str, Any] = {"before": levels()}

    class During:
        def started(self, n: int, step: Step) -> None:
            seen["during"] = levels()

        def finished(self, n: int, step: Step, verdict: StepVerdict) -> None:
            seen["verdict"] = verdict.status

    quiet = Step(id="quiet", actor="alertmanager", narration="Nothing fires.",
                 expect=Expect(kind="incident", id="inc-none", never=True, within=1))  # fmt: skip
    scenario = Scenario(name="levels", title="Levels", setup=Setup(autonomy=2, environments={"production": 2}),
                        steps=(quiet,))  # fmt: skip
    play(scenario, target, observer=During())
    seen["after"] = levels()
    return seen
