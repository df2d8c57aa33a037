"""Guided playback in real Chromium: an owner plays the shortest scenario on the live demo and sees
each step highlighted in turn, the acting lifeline lit, and the conformance verdict at the end."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.async_api import Page, expect

from appliance.scenarios.conformance import catalog_dir
from appliance.scenarios.load import load
from tests.browser.harness import Demo, connected, log_in, screenshot

pytestmark = pytest.mark.xdist_group("browser")

SCENARIO = "duplicate-alerts"  # two steps: Alertmanager fires five times, PathOps opens one incident
PLAY_S = 180

# Records, in the page, each change of the highlighted step and of the acting lifeline, however
# briefly it lasts (a MutationObserver sees every re-render; polling could miss a short step).
RECORD = """() => {
  window.seen = [];
  const note = () => {
    const step = document.querySelector('[data-testid^="step-"].current');
    const actor = document.querySelector('[data-testid^="actor-"].active');
    const now = (step ? step.dataset.testid : "-") + " " + (actor ? actor.dataset.testid : "-");
    if (window.seen[window.seen.length - 1] !== now) window.seen.push(now);
  };
  new MutationObserver(note).observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ["class"]});
  note();
}"""


async def choose(page: Page, select: str, option: str) -> None:
    await page.get_by_test_id(select).click()
    await page.get_by_role("option", name=option, exact=True).click()
    await expect(page.get_by_test_id(select)).to_contain_text(option)


async def test_an_owner_plays_a_scenario_and_sees_every_step_in_turn(page: Page, demo: Demo) -> None:
    scenario = load(catalog_dir() / f"{SCENARIO}.yaml")
    steps, actors = [s.id for s in scenario.steps], [s.actor for s in scenario.steps]
    assert len(steps) == 2
    await log_in(page, demo, "owner")
    await page.goto("/playback")
    await connected(page)
    await choose(page, "scenario-select", SCENARIO)
    await choose(page, "speed", "4x")
    for step in steps:
        await expect(page.get_by_test_id(f"step-{step}")).to_be_visible()
        await expect(page.get_by_test_id(f"step-{step}")).not_to_have_class(re.compile(r"\bcurrent\b"))
    await page.evaluate(RECORD)

    await page.get_by_test_id("play").click()
    await expect(page.get_by_test_id(f"step-{steps[0]}")).to_have_class(re.compile(r"\bcurrent\b"))
    await expect(page.get_by_test_id("narration")).to_contain_text(f"Step 1 of {len(steps)}")
    await expect(page.get_by_test_id("verdict")).to_contain_text("passed", timeout=PLAY_S * 1000)
    await screenshot(page, "playback")

    seen = await page.evaluate("window.seen")
    highlighted = [step for step, _ in itertools.groupby(s.split()[0] for s in seen if not s.startswith("-"))]
    assert highlighted == [f"step-{s}" for s in steps], seen  # each in turn, none twice, none skipped
    for step, actor in zip(steps, actors, strict=True):
        assert f"step-{step} actor-{actor}" in seen, seen  # the acting lifeline lit with its step
    for step in steps:
        await expect(page.get_by_test_id(f"step-{step}")).to_have_class(re.compile(r"\bpassed\b"))
    await expect(page.get_by_test_id("verdict")).not_to_contain_text("failed")
