"""Logging in to the console with a user name and an API token; roles decide what is shown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from nicegui.testing.user import User

from appliance.bootstrap import Appliance
from appliance.services import queries
from tests.ui.page import shown, texts

pytestmark = pytest.mark.xdist_group("ui")
LogIn = Callable[[str], Awaitable[None]]


@pytest.mark.parametrize("path", ["/", "/playback"])
async def test_pages_send_strangers_to_the_login_page(user: User, path: str) -> None:
    await user.open(path)
    await user.should_see(marker="login-submit")
    await user.should_not_see(marker="whoami")


@pytest.mark.parametrize(("name", "who"), [("admin", "admin (owner)"), ("reviewer", "reviewer (reviewer)"),
                                             ("viewer", "viewer (viewer)")])  # fmt: skip
async def test_each_role_logs_in_and_sees_who_they_are(
    user: User, log_in: LogIn, name: str, who: str
) -> None:
    await log_in(name)
    assert texts(user, "whoami") == [who]


async def test_a_wrong_token_is_refused_clearly_and_audited(
    user: User, tokens: dict[str, str], appliance: Appliance
) -> None:
    await user.open("/login")
    user.find(marker="login-name").type("admin")
    user.find(marker="login-token").type("pat-not-a-token")
    user.find(marker="login-submit").click()
    await shown(user, "Login failed: unknown API token")
    await user.should_not_see(marker="whoami")
    [row] = [a for a in await queries.audit(appliance.ctx) if a.outcome == "denied"]
    assert (row.action, row.detail) == ("console login", "unknown API token")
    assert "pat-not-a-token" not in str(row)


async def test_another_users_token_does_not_log_in(user: User, tokens: dict[str, str]) -> None:
    await user.open("/login")
    user.find(marker="login-name").type("admin")
    user.find(marker="login-token").type(tokens["viewer"])
    user.find(marker="login-submit").click()
    await shown(user, "Login failed: the token belongs to another user")
    await user.open("/")
    await user.should_see(marker="login-submit")


async def test_a_logged_in_user_skips_the_login_page_until_logging_out(user: User, log_in: LogIn) -> None:
    await log_in("reviewer")
    await user.open("/login")
    await user.should_see(marker="whoami")  # sent on to the console
    user.find(marker="logout").click()
    await shown(user, marker="login-submit")
    await user.open("/")
    await user.should_see(marker="login-submit")


async def test_the_playback_page_has_the_chrome_and_the_panel(user: User, log_in: LogIn) -> None:
    await log_in("viewer")
    await user.open("/playback")
    await user.should_see(marker="whoami")
    await shown(user, marker="scenario-select")
