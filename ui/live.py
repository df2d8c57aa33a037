"""Live pushes: `changed` fires after every engine commit; views and the chat subscribe and re-render.

    from ui import live
    live.changed.subscribe(view.refresh)   # inside a page: unsubscribed when the tab goes away

`connect(engine)` (called by `ui.asgi.build` and the UI tests) hooks the engine's commit listeners.
A commit made off the event loop's thread is handed to the loop before the event fires.
"""

from __future__ import annotations

import asyncio

from nicegui import Event, core

from appliance.services.engine import Engine

changed: Event[[]] = Event()


def notify() -> None:
    """Fire `changed` on NiceGUI's loop (safe from any thread; a no-op before the loop runs)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = core.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(changed.emit)
        return
    changed.emit()


def connect(engine: Engine) -> None:
    """Fire `changed` after each of `engine`'s commits (idempotent)."""
    if notify not in engine.listeners:
        engine.listeners.append(notify)
