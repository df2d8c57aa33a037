"""Real Chromium against a live `pathops demo` in a subprocess: the embedded systems seeded with
`shop`, the appliance serving the API and the console from one port.

Fixtures: `demo` (one seeded demo for all browser tests; mark test modules
`pytest.mark.xdist_group("browser")` so xdist runs them in one worker), `browser` (a fresh Chromium
per test: simpler than sharing one across event loops) and `page` (a 1280x800 page on the demo).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from appliance.scenarios.embedded import EmbeddedTarget
from tests.browser.harness import CHROMIUM, FLAGS, VIEWPORT, Demo, commit_to_frontend


@pytest.fixture(scope="package")  # stopped once the browser tests are done, not at the end of the run
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    target = EmbeddedTarget(tmp_path_factory.mktemp("browser") / "data")
    try:
        target.up()
        # committed now, so its artifact is built and verified while the first tests run
        yield Demo(target=target, frontend_sha=commit_to_frontend(target))
    finally:
        target.down()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser, demo: Demo) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=demo.url, viewport=VIEWPORT)
    try:
        yield await context.new_page()
    finally:
        await context.close()
