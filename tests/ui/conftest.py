"""The console under NiceGUI's `User` simulation: a test appliance (port doubles, no workers), the
pages registered against it, and the `shop` world from tests/ui/shop.py.

Fixtures: `objects` (in-memory object store), `appliance` (with `objects`), `tokens` (name -> API
token for admin/reviewer/viewer), `shop` (ids of what is in every view), `user` (a NiceGUI `User`
connected to the console), `log_in` (`await log_in("reviewer")`: logs `user` in and opens /).

Tests using `user` share NiceGUI's global state: mark their module
`pytestmark = pytest.mark.xdist_group("ui")` so xdist (`--dist loadgroup`) runs them in one worker.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from nicegui import app, core, ui
from nicegui.functions.download import download
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.storage import Storage
from nicegui.testing.general import nicegui_reset_globals
from nicegui.testing.user import User

from appliance.bootstrap import Appliance, build
from appliance.contracts.settings import Settings
from tests.support.doubles import CountingIds, FakeClock, MemoryObjects, RecordingCi
from tests.ui import shop as shop_world
from tests.ui.page import shown
from ui import live, pages, session


@pytest.fixture(scope="session", autouse=True)
def _nicegui_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """NiceGUI keeps user storage in files: a directory of the test session's, not the repository."""
    Storage.path = tmp_path_factory.mktemp("nicegui-storage").resolve()
    app.storage = Storage()
    yield


@pytest.fixture
def objects() -> MemoryObjects:
    return MemoryObjects()


@pytest.fixture
async def appliance(
    settings: Settings, ci: RecordingCi, clock: FakeClock, objects: MemoryObjects
) -> AsyncIterator[Appliance]:
    built = await build(settings, ci=ci, clock=clock, ids=CountingIds(), objects=objects)  # type: ignore[arg-type]
    yield built
    await built.store.close()


@pytest.fixture
async def tokens(appliance: Appliance) -> dict[str, str]:
    return await shop_world.users(appliance)


@pytest.fixture
async def shop(appliance: Appliance, ci: RecordingCi, objects: MemoryObjects) -> shop_world.Shop:
    return await shop_world.build(appliance, ci, objects)


@contextlib.asynccontextmanager
async def console_simulation(appliance: Appliance) -> AsyncIterator[User]:
    """Like nicegui.testing.user_simulation, with the console's pages registered at startup."""
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            session.install(appliance)
            live.connect(appliance.ctx.engine)
            pages.register()
            ui.run(storage_secret="console test secret", show_welcome_message=False, reload=False)
            async with (
                core.app.router.lifespan_context(core.app),
                httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test") as client,
            ):
                yield User(client)
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download
            appliance.ctx.engine.listeners.clear()
            live.changed.callbacks.clear()  # NiceGUI's reset forgets module-level events after the first test


@pytest.fixture
async def user(appliance: Appliance, tokens: dict[str, str]) -> AsyncIterator[User]:
    async with console_simulation(appliance) as simulated:
        yield simulated


@pytest.fixture
def log_in(user: User, tokens: dict[str, str]) -> Callable[[str], Awaitable[None]]:
    async def run(name: str) -> None:
        await user.open("/login")
        user.find("login-name").type(name)
        user.find("login-token").type(tokens[name])
        user.find("login-submit").click()
        await shown(user, marker="views-ready")

    return run
