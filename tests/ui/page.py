"""Reading what a simulated page shows: the text of an element and everything inside it."""

from __future__ import annotations

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
