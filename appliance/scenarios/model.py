"""A scenario as docs/scenarios.md ("Format") writes it: a setup, then a timeline of steps.

The structs mirror the YAML key for key; `with_`, `for_` and `as_` carry the keys Python reserves.
They hold only what a type can say: load.py fills them and checks the rest (names, kinds, ranges,
templates), so a runner can trust any scenario it is handed.

Templates are the `{sha:STEP}`, `{sha12:STEP}` and `{NAME}` forms in a step's strings, filled in as
the scenario plays from the commits made and the values saved so far.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

ACTORS = (
    "developer",
    "owner",
    "reviewer",
    "alertmanager",
    "pathops",
    "jenkins",
    "gitlab",
    "argocd",
    "harbor",
    "minio",
    "agents",
    "cluster",
)
STEP_KINDS = ("commit", "alert", "fault", "kill", "act", "expect")
EXPECT_KINDS = ("incident", "changeset", "artifact", "preflight", "lane")
SYSTEMS = ("gitlab", "jenkins", "argocd", "harbor", "s3", "kubernetes", "pathops")
FAULTS = ("unavailable", "slow", "error", "lose-callback", "duplicate-callback")
CALLBACK_FAULTS = ("lose-callback", "duplicate-callback")
ACTIONS = ("approve", "reject", "promote", "retry", "close", "merge", "feature")
ROLES = ("owner", "reviewer", "viewer")

STEP_ID = r"[a-z0-9][a-z0-9-]*"
TEMPLATE_NAME = r"[a-z_][a-z0-9_]*"


class Edit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One file change of a commit: a regex replacement, a whole new content, or a deletion."""

    file: str
    replace: str | None = None
    with_: str = msgspec.field(name="with", default="")
    content: str | None = None
    delete: bool = False


class Commit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    repo: str
    message: str
    edits: tuple[Edit, ...]
    branch: str = "main"


class Alert(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    repeat: int = 1
    every: float = 0.0
    resolve_after: float | None = None


class Fault(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A fault in a fake; `job` names the CI job whose callback a `pathops` fault loses or repeats."""

    system: str
    fault: str
    for_: float = msgspec.field(name="for", default=30.0)
    rate: float = 1.0
    job: str | None = None


class Kill(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """SIGKILL the appliance, at a named crash point or at once, and start it again."""

    at: str | None = None
    restart_after: float = 1.0


class Act(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A person's action through the API; `expect_status` None means any 2xx."""

    action: str
    target: str
    as_: str = msgspec.field(name="as", default="owner")
    expect_status: int | None = None


class FieldCheck(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What one state field must hold: equal `equals`, unless one of the other checks is set."""

    equals: object = None
    contains: str | None = None
    matches: str | None = None
    present: bool | None = None

    def holds(self, value: object) -> bool:
        """Whether a state field's value passes; the caller passes None for a field the state lacks.

        `contains` is a substring of a string or an item of a list; `matches` is `re.search`, so a
        pattern anchors itself when it must match the whole value.
        """
        if self.present is not None:
            return (value is not None) == self.present
        if self.contains is not None:
            return isinstance(value, str | list | tuple) and self.contains in value
        if self.matches is not None:
            return isinstance(value, str) and re.search(self.matches, value) is not None
        return bool(value == self.equals)


class Expect(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An instance's state PathOps must reach within `within` seconds (or, with `never`, must not).

    An empty `phase` accepts any phase; `save` maps a template name to the state field it keeps.
    """

    kind: str
    id: str
    phase: tuple[str, ...] = ()
    fields: dict[str, FieldCheck] = {}
    save: dict[str, str] = {}
    within: float = 300.0
    never: bool = False
    count: int | None = None  # exactly this many instances hold it, for the whole of `within`


Action = Commit | Alert | Fault | Kill | Act | Expect


class Step(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One moment of the timeline: who acts, what the console narrates, and the one thing done."""

    id: str
    actor: str
    narration: str
    why: str = ""
    commit: Commit | None = None
    alert: Alert | None = None
    fault: Fault | None = None
    kill: Kill | None = None
    act: Act | None = None
    expect: Expect | None = None

    @property
    def kind(self) -> str:
        """The key of the step's action: "commit", "alert", "fault", "kill", "act" or "expect"."""
        return self._one()[0]

    @property
    def action(self) -> Action:
        return self._one()[1]

    def _one(self) -> tuple[str, Action]:
        actions = (self.commit, self.alert, self.fault, self.kill, self.act, self.expect)
        for kind, action in zip(STEP_KINDS, actions, strict=True):
            if action is not None:
                return kind, action
        raise ValueError(f"step {self.id} has no action")


class Setup(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The seeded project the scenario plays on, and the autonomy levels it sets before step one."""

    project: str = "shop"
    autonomy: int | None = None
    environments: dict[str, int] = {}
    settings: dict[
        str, int
    ] = {}  # the appliance's, as PATHOPS_<NAME> (SETTINGS): short waits, fewer attempts


SETTINGS = ("evidence_timeout_s", "fix_timeout_s", "mr_timeout_s", "max_attempts")


class Scenario(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A whole scenario file; `path` is the file it was loaded from (not a YAML key)."""

    name: str
    title: str
    tags: tuple[str, ...] = ()
    setup: Setup = msgspec.field(default_factory=Setup)
    steps: tuple[Step, ...]
    path: str = ""


class TemplateError(ValueError):
    """A template names a commit not made or a value not saved (yet): the step using it fails."""

    def __init__(self, template: str) -> None:
        super().__init__(f"unknown template {template}")
        self.template = template


_BRACED = re.compile(r"\{([^{}\s]+)\}")
_SHA = re.compile(rf"(sha|sha12):({STEP_ID})")
_NAME = re.compile(TEMPLATE_NAME)


def _key(inner: str, values: Mapping[str, str]) -> str | None:
    """The key `{inner}` looks up, or None when the braces are plain text (a regex's `{2,3}`, say)."""
    sha = _SHA.fullmatch(inner)
    if sha:
        return f"sha:{sha.group(2)}"
    if inner in values or _NAME.fullmatch(inner):
        return inner
    return None


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with its templates filled from `values` ("sha:STEP" -> commit sha, NAME -> saved value)."""

    def fill(match: re.Match[str]) -> str:
        inner = match.group(1)
        key = _key(inner, values)
        if key is None:
            return match.group(0)
        if key not in values:
            raise TemplateError(match.group(0))
        return values[key][:12] if inner.startswith("sha12:") else values[key]

    return _BRACED.sub(fill, text)


def templates_in(text: str) -> set[str]:
    """The keys `text`'s templates look up: {"sha:break", "incident"} for `{sha12:break}/{incident}`."""
    return {key for match in _BRACED.finditer(text) if (key := _key(match.group(1), {})) is not None}
