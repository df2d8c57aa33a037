"""Reading what a simulated page shows, and waiting for it to change.

A click runs its handler as a task on the event loop, and the handler awaits the services before the
view redraws. NiceGUI's `should_see`/`should_not_see` give up after 0.3 s/0.15 s, which a slow machine
can exceed; a test that waits for the effect of a click, a login or a live update uses `until`,
`gone` or `shown` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nicegui import ui
from nicegui.testing.user import User


def text(element: ui.element) -> str:
    """The texts of `element` and its descendants (labels, titles, captions), joined by " | "."""
    parts: list[str] = []
    for e in [element, *element.descendants()]:
        value = getattr(e, "text", None)
        if isinstance(value, str) and value:
            parts.append(value)
        for prop in ("label", "title", "subtitle"):
            value = e.props.get(prop)
            if isinstance(value, str) and value and value not in parts[-1:]:
                parts.append(value)
    return " | ".join(parts)


def texts(user: User, marker: str) -> list[str]:
    """The text of every element marked `marker`, in page order."""
    return [text(e) for e in sorted(user.find(marker=marker).elements, key=lambda e: e.id)]


WAIT_S = 15.0  # how long a test waits for the page to get somewhere before it fails


async def until(check: Callable[[], bool], what: str = "the page to catch up") -> None:
    """Wait until `check()` holds; fail after WAIT_S naming `what`."""
    for _ in range(int(WAIT_S / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    assert check(), f"waited {WAIT_S:.0f} s for {what}"


async def gone(user: User, marker: str) -> None:
    """Wait until no element marked `marker` is on the page."""
    await user.should_not_see(marker=marker, retries=int(WAIT_S / 0.05))


async def shown(user: User, content: str | None = None, *, marker: str | None = None) -> None:
    """Wait until an element (marked `marker`) shows `content`: a click's answer, a live update."""
    await user.should_see(content=content, marker=marker, retries=int(WAIT_S / 0.1))
