"""Free text at the console, pure: which of the three allowed kinds it is, by a small rule set.

The rules are tried in order and the first that applies decides (`explain` says which one):
an explicit prefix ('feature:', 'bug:', 'question:'), then a request to act (refused: actions go
through commands and the golden paths), a request for something new, a question about state, a
report that something is broken, a wish; anything else is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ui.paths import Snapshot

Kind = Literal["feature", "bug", "question", "refused"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


POLITE = re.compile(
    r"^(?:(?:please|pls|just|now|go ahead and|go|hey|ok|okay|pathops|can you|could you|would you|"
    r"will you|you should|you must|i want you to|i need you to|i want to|i'd like to|i would like to|"
    r"let's|lets)\b[\s,:!]*)+"
)
ACTIONS = _words(
    "delete remove drop destroy wipe purge erase deploy redeploy release ship rollback roll revert "
    "restart reboot scale kill stop shutdown shut ignore bypass override disable skip force merge push "
    "run execute exec apply grant give set change update modify reset rotate upgrade downgrade"
)
FEATURE_START = _words("add allow support introduce provide offer")
QUESTION_START = _words(
    "what what's whats which how why is are was were does do did when where who has have any show "
    "list tell explain"
)
BUG_WORDS = re.compile(
    r"\b(?:broken|breaks|fails?|failing|failed|crash(?:es|ed|ing)?|errors?|exception|traceback|bug|"
    r"500|502|503|doesn'?t work|does not work|not working|wrong|hangs?|stuck|does nothing)\b"
)
FEATURE_WORDS = re.compile(
    r"\b(?:i want|i'd like|i would like|we need|we want|would be nice|feature|can we have|can we get|"
    r"should have|should support|support for)\b"
)


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def _first_word(text: str) -> str:
    rest = POLITE.sub("", _norm(text))
    return re.split(r"[\s,.:;!?]+", rest, maxsplit=1)[0]


@dataclass(frozen=True)
class Rule:
    kind: Kind
    why: str
    applies: Callable[[str], bool]


RULES: tuple[Rule, ...] = (
    Rule("feature", "starts with 'feature:'", lambda t: bool(re.match(r"feature( request)?\s*:", _norm(t)))),
    Rule("bug", "starts with 'bug:'", lambda t: bool(re.match(r"bug( report)?\s*:", _norm(t)))),
    Rule("question", "starts with 'question:'", lambda t: _norm(t).startswith("question:")),
    Rule(
        "refused",
        "asks PathOps to act (delete, deploy, roll back, ignore …)",
        lambda t: _first_word(t) in ACTIONS,
    ),
    Rule(
        "feature", "asks for something new (add, allow, support …)", lambda t: _first_word(t) in FEATURE_START
    ),
    Rule(
        "question",
        "asks about state (ends with '?', or starts with what/which/how/why/is/are …)",
        lambda t: _norm(t).endswith("?") or _norm(t).split(" ")[0] in QUESTION_START,
    ),
    Rule(
        "bug",
        "says something is broken (broken, fails, error, 500 …)",
        lambda t: bool(BUG_WORDS.search(_norm(t))),
    ),
    Rule(
        "feature",
        "wishes for something (I want, we need, would be nice …)",
        lambda t: bool(FEATURE_WORDS.search(_norm(t))),
    ),
    Rule("refused", "none of the three kinds", lambda t: True),
)


def explain(text: str) -> Rule:
    """The first rule that applies to `text`: its kind and why."""
    return next(rule for rule in RULES if rule.applies(text))


def classify(text: str) -> Kind:
    return explain(text).kind


def body(text: str) -> str:
    """Free text without its explicit kind prefix ('feature: x' -> 'x')."""
    return re.sub(
        r"^\s*(?:feature(?: request)?|bug(?: report)?|question)\s*:\s*", "", text, flags=re.I
    ).strip()


# --- questions ---------------------------------------------------------------------------------

ID = re.compile(r"^(?:inc|cs|art|pf|snap)-[a-z0-9._-]+$")
KINDS = {
    "incident": "incident",
    "incidents": "incident",
    "changeset": "changeset",
    "changesets": "changeset",
    "change set": "changeset",
    "change sets": "changeset",
    "mr": "changeset",
    "mrs": "changeset",
    "merge request": "changeset",
    "merge requests": "changeset",
    "artifact": "artifact",
    "artifacts": "artifact",
    "image": "artifact",
    "images": "artifact",
}
ENV_WORDS = {"agents": "agents", "preflight": "preflight", "production": "production", "prod": "production"}
OPEN_WORDS = frozenset({"open", "active", "unresolved", "pending", "running"})


@dataclass(frozen=True)
class Question:
    """What a question asks, for the chat to answer read-only from the queries."""

    topic: Literal["about", "count", "list", "deployed", "projects", "unknown"]
    kind: str = ""  # incident | changeset | artifact; "" for all three
    open_only: bool = False
    env: str = ""  # "" for preflight and production
    app: str = ""
    id: str = ""
    why: bool = False


def question(text: str, snapshot: Snapshot) -> Question:
    """The topic of a question about state, by the words and the names and ids it mentions."""
    t = _norm(body(text))
    words = re.findall(r"[a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9]", t)
    known = set(snapshot.ids())
    named = next((w for w in words if w in known), None) or next((w for w in words if ID.match(w)), None)
    if named:
        return Question("about", id=named, why="why" in words)
    kind = next((KINDS[k] for k in sorted(KINDS, key=len, reverse=True) if re.search(rf"\b{k}\b", t)), "")
    open_only = bool(OPEN_WORDS & set(words))
    if "how many" in t or "number of" in t or (words and words[0] == "count"):
        return Question("count", kind=kind, open_only=open_only)
    env = next((ENV_WORDS[w] for w in words if w in ENV_WORDS), "")
    apps = {a for p in snapshot.projects for a in p.apps}
    app = next((w for w in words if w in apps), "")
    if env or {"deployed", "running", "live"} & set(words):
        return Question("deployed", env=env, app=app)
    if kind:
        return Question("list", kind=kind, open_only=open_only)
    if {"project", "projects", "app", "apps", "components"} & set(words):
        return Question("projects")
    return Question("unknown")
