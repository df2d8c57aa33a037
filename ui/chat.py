"""The terminal-like chat panel: a transcript, the working directory, and a prompt.

Enter runs a line (ui/replies.py), Tab completes the last word (several candidates are listed under
the prompt), ArrowUp/ArrowDown walk this tab's history. Marks and data-testids (CONTRACT.md):
`transcript` (each reply a child marked `answer`), `cwd`, `prompt`, and `completions`.
"""

from __future__ import annotations

from typing import TypeVar

from nicegui import ui

from ui import commands, replies
from ui.session import Console
from ui.shell import Line, Shell

TONES = {"out": "", "ok": "text-positive", "hint": "text-grey-7", "error": "text-negative"}


E = TypeVar("E", bound=ui.element)


def _marked(element: E, name: str) -> E:
    return element.mark(name).props(f"data-testid={name}")


class History:
    """The lines run in this tab, walked from the newest with up, back to the draft with down."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.back = 0  # how many lines back from the newest the prompt shows; 0: the draft
        self.draft = ""

    def add(self, line: str) -> None:
        if line.strip() and (not self.lines or self.lines[-1] != line):
            self.lines.append(line)
        self.back, self.draft = 0, ""

    def up(self, current: str) -> str:
        if self.back == 0:
            self.draft = current
        self.back = min(self.back + 1, len(self.lines))
        return self.lines[-self.back] if self.back else current

    def down(self) -> str:
        self.back = max(self.back - 1, 0)
        return self.lines[-self.back] if self.back else self.draft


class Chat:
    def __init__(self, console: Console) -> None:
        self.shell = Shell(console.ctx, console.who)
        self.history = History()
        with ui.column().classes("w-full h-full gap-1 font-mono"):
            with ui.scroll_area().classes("w-full h-[60vh] border rounded") as self.scroll:
                self.transcript = _marked(ui.column().classes("w-full gap-2"), "transcript")
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                self.cwd = _marked(ui.label(self.shell.cwd).classes("text-primary"), "cwd")
                self.prompt = ui.input(placeholder="type a command, or help").classes("grow")
                _marked(self.prompt, "prompt").props('dense autofocus spellcheck=false prefix="$"')
            self.completions = _marked(ui.label("").classes("text-grey-7 text-sm"), "completions")
        self._show_cwd()
        self.prompt.on("keydown.enter", self.enter)
        self.prompt.on("keydown.tab.prevent", self.tab)
        self.prompt.on("keydown.up.prevent", self.up)
        self.prompt.on("keydown.down.prevent", self.down)

    def _show_cwd(self) -> None:
        self.cwd.set_text(self.shell.cwd)  # the prompt's own prefix is only "$": the path is shown once

    async def enter(self) -> None:
        line = str(self.prompt.value or "")
        self.prompt.value = ""
        self.completions.set_text("")
        await self.run(line)

    async def run(self, line: str) -> None:
        if not line.strip():
            return
        self.history.add(line)
        prompt = f"{self.shell.cwd} $ {line}"
        reply = await replies.run(self.shell, line)
        self._show_cwd()
        if reply.clear:
            self.transcript.clear()
            return
        with self.transcript, _marked(ui.column().classes("w-full gap-0"), "answer"):
            ui.label(prompt).classes("text-primary")
            for out in reply.lines:
                _line(out)
        self.scroll.scroll_to(percent=1.0)

    async def tab(self) -> None:
        line = str(self.prompt.value or "")
        options = await self.shell.complete(line)
        if not options:
            self.completions.set_text("")
            return
        prefix = commands.common_prefix(options)
        if len(prefix) > len(line):
            self.prompt.value = prefix
        listed = "" if len(options) == 1 else "  ".join(commands.shown(o) for o in options)
        self.completions.set_text(listed)

    def up(self) -> None:
        self.prompt.value = self.history.up(str(self.prompt.value or ""))

    def down(self) -> None:
        self.prompt.value = self.history.down()


def _line(out: Line) -> None:
    style = "white-space: pre-wrap"
    if out.href:
        ui.link(out.text, out.href, new_tab=True).classes(TONES[out.tone]).style(style)
    else:
        ui.label(out.text).classes(TONES[out.tone]).style(style)


def panel(console: Console) -> None:
    """The chat for `console`'s user, built in the current NiceGUI context (one per browser tab)."""
    Chat(console)
