"""The sequence diagram's model: every actor of the catalog has a lifeline, and rows follow the play."""

from __future__ import annotations

import pytest

from appliance.scenarios.conformance import catalog
from appliance.scenarios.model import ACTORS, Scenario
from appliance.scenarios.verdict import StepVerdict
from ui.sequence import NAMES, Arrow, arrow, diagram, lifeline

CATALOG = catalog()
COMMIT_URL = "http://gitlab.test/shop/shop-api/-/commit/0a1b"


def scenario(name: str) -> Scenario:
    return next(s for s in CATALOG if s.name == name)


def verdict(scenario: Scenario, step_id: str, status: str, detail: str = "", **links: str) -> StepVerdict:
    step = next(s for s in scenario.steps if s.id == step_id)
    return StepVerdict(id=step.id, actor=step.actor, kind=step.kind, narration=step.narration,
                       status=status, detail=detail, links=links)  # type: ignore[arg-type]  # fmt: skip


def test_every_actor_a_scenario_may_name_has_a_lifeline() -> None:
    assert {lifeline(actor) for actor in ACTORS} == set(NAMES)


@pytest.mark.parametrize("played", CATALOG, ids=lambda s: s.name)
def test_every_step_of_the_catalog_draws_an_arrow_from_its_actor(played: Scenario) -> None:
    for step in played.steps:
        drawn = arrow(step)
        assert drawn.source == lifeline(step.actor)
        assert drawn.target in NAMES
        assert drawn.label


def test_the_catalog_has_steps_of_every_kind_it_can_draw() -> None:
    kinds = {step.kind for played in CATALOG for step in played.steps}
    assert kinds == {"commit", "alert", "fault", "kill", "act", "expect"}


def test_arrows_say_who_acts_on_whom() -> None:
    missing_env = {step.id: arrow(step) for step in scenario("missing-env").steps}
    tidy = "commit shop-api: Tidy the Deployment's environment"
    assert missing_env["break"] == Arrow("developer", "gitlab", tidy)
    assert missing_env["rejected"] == Arrow("argocd", "pathops", "artifact rejected")
    assert missing_env["approve"] == Arrow("owner", "pathops", "approve {cs}")
    assert missing_env["merge"] == Arrow("developer", "gitlab", "merge {cs}")
    assert missing_env["head-preflight"] == Arrow("pathops", "gitlab", "change set: head_report")
    fire = arrow(scenario("duplicate-alerts").steps[0])
    assert (fire.source, fire.target, fire.label) == (
        "alertmanager",
        "pathops",
        "KubePodCrashLooping, 5 times",
    )
    storage_down = arrow(scenario("lost-evidence-callback").steps[0])
    assert (storage_down.source, storage_down.target, storage_down.direction) == ("minio", "minio", "self")


def test_an_arrow_spans_its_lifelines_left_to_right() -> None:
    back = Arrow("argocd", "pathops", "artifact rejected")
    assert back.direction == "left"
    assert back.columns == (NAMES.index("pathops"), NAMES.index("argocd"))
    assert Arrow("developer", "gitlab", "").direction == "right"


def test_long_labels_are_cut() -> None:
    step = scenario("code-exception").steps[0]
    assert arrow(step).label.endswith("…")
    assert len(arrow(step).label) == 60


def test_an_unknown_actor_has_no_lifeline() -> None:
    with pytest.raises(ValueError, match="no lifeline for actor 'mailman'"):
        lifeline("mailman")


def test_before_the_play_every_row_is_pending_and_nobody_acts() -> None:
    drawn = diagram(scenario("missing-env").steps)
    assert [row.status for row in drawn.rows] == ["pending"] * 9
    assert [row.n for row in drawn.rows] == list(range(1, 10))
    assert drawn.current is None
    assert drawn.active is None
    assert [lane.name for lane in drawn.lifelines] == list(NAMES)


def test_the_highlight_moves_row_by_row_with_the_actor() -> None:
    played = scenario("missing-env")
    verdicts: dict[str, StepVerdict] = {}
    seen = []
    for n, step in enumerate(played.steps, 1):
        drawn = diagram(played.steps, verdicts, current=n)
        assert drawn.current is not None
        seen.append((drawn.current.step_id, drawn.active))
        expected = ["passed"] * (n - 1) + ["current"] + ["pending"] * (len(played.steps) - n)
        assert [row.status for row in drawn.rows] == expected
        verdicts[step.id] = verdict(played, step.id, "passed")
    assert seen[:4] == [("break", "developer"), ("rejected", "argocd"), ("proposed", "agents"),
                        ("head-preflight", "pathops")]  # fmt: skip
    assert seen[-1] == ("promoted", "jenkins")
    assert diagram(played.steps, verdicts).active is None


def test_a_failed_step_shows_its_detail_and_the_rest_are_skipped() -> None:
    played = scenario("oom")
    verdicts = {
        "break": verdict(played, "break", "passed", "shop-api@0a1b: Right-size", commit=COMMIT_URL),
        "rejected": verdict(played, "rejected", "failed", "not within 300 s: no artifact"),
        **{s.id: verdict(played, s.id, "skipped") for s in played.steps[2:]},
    }
    rows = diagram(played.steps, verdicts, current=2).rows
    assert [row.status for row in rows] == ["passed", "failed"] + ["skipped"] * 8
    assert rows[0].links == (("commit", COMMIT_URL),)
    assert rows[1].detail == "not within 300 s: no artifact"
    assert diagram(played.steps, verdicts, current=2).active is None  # a judged step is no longer current
