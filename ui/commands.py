"""The console's command language, pure: parsing, help and tab completion.

A line is a command (`cd /shop`, `approve cs-1 looks good`), free text (anything whose first word is
no command, or that ends with "?"; `classify` says which kind, see ui/freetext.py), or a parse
error (a command with the wrong arguments). Paths are those of ui/paths.py. Nothing here does I/O:
the chat (ui/chat.py, ui/shell.py) reads the services and hands a `Snapshot` in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ui.freetext import Kind, classify, explain
from ui.paths import Location, Project, Snapshot, Unresolved, children, join, locate, resolve

__all__ = [
    "COMMANDS",
    "HELP",
    "Command",
    "FreeText",
    "Kind",
    "Location",
    "ParseError",
    "Project",
    "Snapshot",
    "Spec",
    "Unresolved",
    "children",
    "classify",
    "common_prefix",
    "complete",
    "explain",
    "help_text",
    "join",
    "locate",
    "parse",
    "resolve",
    "shown",
]

Completes = Literal["", "path", "command", "evidence", "changeset", "artifact"]


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()

    @property
    def arg(self) -> str:
        return self.args[0] if self.args else ""

    @property
    def rest(self) -> str:
        """What follows the first argument (the comment of approve/reject/promote)."""
        return self.args[1] if len(self.args) > 1 else ""


@dataclass(frozen=True)
class FreeText:
    text: str


@dataclass(frozen=True)
class ParseError:
    message: str


@dataclass(frozen=True)
class Spec:
    usage: str
    summary: str
    min_args: int = 0
    max_args: int = 0  # -1: the first argument, then free words (a comment)
    completes: Completes = ""


COMMANDS: dict[str, Spec] = {
    "cd": Spec(
        "cd [path]", "go to a project, app or environment (.., ., ~ and relative paths work)", 0, 1, "path"
    ),
    "ls": Spec(
        "ls [path]",
        "list what is below: projects, apps and components, environments, deployed artifacts",
        0,
        1,
        "path",
    ),
    "pwd": Spec("pwd", "print where you are"),
    "status": Spec("status", "counts by kind and phase, the outbox and the timers"),
    "incidents": Spec("incidents", "the incidents of the project, app or environment you are in"),
    "changesets": Spec("changesets", "the change sets (with their merge requests) of where you are"),
    "artifacts": Spec("artifacts", "the artifacts and their promotion state, of where you are"),
    "evidence": Spec(
        "evidence <id>", "an evidence snapshot, or the snapshots of an incident", 1, 1, "evidence"
    ),
    "approve": Spec(
        "approve <change set> [comment]",
        "approve a change set's merge request (owner, reviewer)",
        1,
        -1,
        "changeset",
    ),
    "reject": Spec(
        "reject <change set> [comment]",
        "reject a change set's merge request (owner, reviewer)",
        1,
        -1,
        "changeset",
    ),
    "promote": Spec(
        "promote <artifact> [comment]", "promote a verified artifact to production (owner)", 1, -1, "artifact"
    ),
    "help": Spec("help [command]", "this help, or one command's", 0, 1, "command"),
    "clear": Spec("clear", "clear the transcript"),
}

FREE_TEXT_HELP = (
    "Free text is one of three kinds: a feature request ('add …', 'I want …', 'feature: …'), "
    "a bug report ('bug: …', '… is broken'), or a question about state ('how many incidents are "
    "open?', 'what is deployed in preflight?', 'why was art-x rejected?')."
)
HELP: dict[str, str] = {name: f"{spec.usage}: {spec.summary}" for name, spec in COMMANDS.items()}


def help_text(name: str = "") -> list[str]:
    if name:
        return [HELP[name]]
    width = max(len(s.usage) for s in COMMANDS.values())
    return [f"{s.usage.ljust(width)}  {s.summary}" for s in COMMANDS.values()] + [FREE_TEXT_HELP]


# --- parsing -----------------------------------------------------------------------------------


def parse(line: str, cwd: str) -> Command | FreeText | ParseError:
    """One line typed at the prompt in `cwd`. Path arguments come back absolute (see `join`)."""
    text = line.strip()
    if not text:
        return ParseError("type a command, or help")
    words = text.split()
    name = words[0].lower()
    if text.endswith("?") or name not in COMMANDS:
        return FreeText(text)
    spec, args = COMMANDS[name], words[1:]
    too_many = spec.max_args >= 0 and len(args) > spec.max_args
    if len(args) < spec.min_args or too_many:
        return ParseError(f"usage: {spec.usage}")
    if spec.completes == "path":
        return Command(name, (join(cwd, args[0] if args else ("~" if name == "cd" else ".")),))
    if name == "help" and args and args[0].lower() not in COMMANDS:
        return ParseError(f"no command {args[0]!r}; commands: {', '.join(COMMANDS)}")
    if spec.max_args < 0:
        head = text.split(maxsplit=2)
        return Command(name, tuple(head[1:]))
    return Command(name, tuple(a.lower() if name == "help" else a for a in args))


# --- completion --------------------------------------------------------------------------------


def complete(line: str, cwd: str, snapshot: Snapshot) -> list[str]:
    """The lines `line` could become by completing its last word (commands, paths, ids)."""
    text = line.lstrip()
    if " " not in text:
        word = text.lower()
        return [f"{name} " for name in COMMANDS if name.startswith(word)]
    head, _, word = text.rpartition(" ")
    words = head.split()
    spec = COMMANDS.get(words[0].lower())
    if spec is None or len(words) > 1:
        return []
    sources: dict[str, tuple[str, ...]] = {
        "command": tuple(COMMANDS),
        "evidence": (*snapshot.evidence, *snapshot.incidents),
        "changeset": snapshot.changesets,
        "artifact": snapshot.artifacts,
    }
    if spec.completes == "path":
        options = _paths(word, cwd, snapshot)
    else:
        options = [f"{i} " for i in sources.get(spec.completes, ()) if i.startswith(word)]
    return [f"{head} {o}" for o in sorted(dict.fromkeys(options))]


def _paths(word: str, cwd: str, snapshot: Snapshot) -> list[str]:
    stem = word.rpartition("/")[2]
    typed = word[: len(word) - len(stem)]
    where = locate(join(cwd, typed or "."), snapshot)
    if isinstance(where, Unresolved):
        return []
    out = []
    for name in children(where, snapshot):
        if name.startswith(stem):
            below = locate(join(where.path, name), snapshot)
            container = isinstance(below, Location) and bool(children(below, snapshot))
            out.append(typed + name + ("/" if container else ""))
    return out


def common_prefix(options: list[str]) -> str:
    if not options:
        return ""
    first, last = min(options), max(options)
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first))
    return first[:size]


def shown(option: str) -> str:
    """How a completion is listed: its last word, and of a path its last part."""
    word = option.rstrip(" ").rpartition(" ")[2]
    return word.rstrip("/").rpartition("/")[2] + ("/" if word.endswith("/") else "")
