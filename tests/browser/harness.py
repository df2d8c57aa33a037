"""What the browser tests share: the live demo they drive (`Demo`), and what a person does in the
console: log in, type a command into the chat, take a screenshot for the README.

Playwright drives Debian's Chromium (`CHROMIUM`, `FLAGS`); nothing is downloaded (never run
`playwright install`). The tests use the async API: the sync plugin breaks later asyncio tests in
the same process.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gitlab
import httpx
from playwright.async_api import Locator, Page, expect

from appliance.scenarios.embedded import EmbeddedTarget

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
USERS = {"owner": "admin", "reviewer": "reviewer", "viewer": "viewer"}  # role -> the demo's user name


@dataclass
class Demo:
    target: EmbeddedTarget
    frontend_sha: str  # a harmless commit to shop-frontend's main, made at start-up (see `demo`)

    @property
    def url(self) -> str:
        return self.target.url

    @property
    def data_dir(self) -> Path:
        return self.target.data_dir

    def token(self, role: str) -> str:
        return (self.data_dir / f"{role}.token").read_text().strip()

    def secret(self, name: str) -> str:
        return str(json.loads((self.data_dir / "secrets.json").read_text())[name])

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token('owner')}"}
        response = httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def state(self, kind: str, id: str) -> dict[str, Any] | None:
        response = httpx.get(
            f"{self.url}/api/{kind}/{id}",
            headers={"Authorization": f"Bearer {self.token('owner')}"},
            timeout=30,
        )
        return dict(response.json()["state"]) if response.status_code == 200 else None

    def audit(self, limit: int = 30) -> list[str]:
        rows = self.api("GET", "/api/audit", params={"limit": limit})
        return [
            f"{r['actor']} {r['action']} {r['object']} {r['outcome']} {r.get('detail', '')}" for r in rows
        ]

    async def wait(self, what: str, check: Callable[[], Any], *, timeout: float, every: float = 1.0) -> Any:
        """Poll `check` (blocking, run in a thread) until it returns something truthy; fail naming `what`
        with the newest audit rows."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = await asyncio.to_thread(check)
            if found:
                return found
            await asyncio.sleep(every)
        audit = await asyncio.to_thread(self.audit)
        raise AssertionError(
            f"timed out after {timeout:.0f} s waiting for {what}; audit, newest first: {audit}"
        )


def commit_to_frontend(target: EmbeddedTarget) -> str:
    """As a developer: a harmless commit to shop-frontend's main. CI builds it, preflight verifies it,
    and production's autonomy level 0 leaves it `verified`, waiting for an owner's promotion."""
    found = target.endpoints()["gitlab"]
    admin = gitlab.Gitlab(found["url"], private_token=found["tokens"]["admin"])
    project = admin.projects.get("shop/shop-frontend")
    commit = project.commits.create({
        "branch": "main", "commit_message": "Document the console",
        "actions": [{"action": "create", "file_path": "docs/console.md", "content": "# The console\n"}],
    })  # fmt: skip
    return str(commit.id)


def field(page: Page, name: str) -> Locator:
    """The native <input> of a marked input (the test id sits on Quasar's wrapper, or on the input)."""
    return page.locator(f'input[data-testid="{name}"], [data-testid="{name}"] input').first


async def log_in(page: Page, demo: Demo, role: str, *, token: str | None = None) -> None:
    """Log in on /login as the demo's user with `role`; with `token`, try that token instead (and do
    not wait for the console)."""
    await page.goto("/login")
    await connected(page)
    await field(page, "login-name").fill(USERS[role])
    await field(page, "login-token").fill(demo.token(role) if token is None else token)
    await page.get_by_test_id("login-submit").click()
    if token is None:
        await expect(page.get_by_test_id("whoami")).to_have_text(f"{USERS[role]} ({role})", timeout=30_000)
        await connected(page)


async def connected(page: Page) -> None:
    """Wait until the page's websocket is up: a tab clicked before NiceGUI's handshake is lost."""
    await page.wait_for_function("window.did_handshake === true", timeout=30_000)


async def run(page: Page, line: str, *, timeout: float = 30_000) -> Locator:
    """Type `line` into the chat's prompt, press Enter, and return the answer it added to the transcript."""
    answers = page.get_by_test_id("transcript").get_by_test_id("answer")
    before = await answers.count()
    prompt = field(page, "prompt")
    await prompt.fill(line)
    await prompt.press("Enter")
    await expect(answers).to_have_count(before + 1, timeout=timeout)
    return answers.nth(before)


def said(answer: Locator) -> Locator:
    """The lines an answer says (its first line echoes the prompt and the command typed)."""
    return answer.locator(":scope > :not(:first-child)")


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png")
