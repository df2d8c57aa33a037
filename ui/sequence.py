"""The live sequence diagram of a scenario's playback, as plain data (no NiceGUI here).

Lifelines are the systems PathOps governs and the people around it; each step of a scenario is one
row: an arrow from the step's actor to whom it acts on, with a short label, the step's status and,
once played, its verdict's detail and links. `diagram` builds it from the steps, the verdicts so far
and the step being played; the console's playback panel draws it and the tests read it.

    drawn = diagram(scenario.steps, verdicts, current=2)
    drawn.active           # "argocd": the lifeline of the actor playing step 2
    drawn.rows[1].status   # "current"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from appliance.scenarios.model import Act, Alert, Commit, Expect, Fault, Kill, Step
from appliance.scenarios.verdict import StepVerdict

Status = Literal["pending", "current", "passed", "failed", "skipped"]
Direction = Literal["right", "left", "self"]


@dataclass(frozen=True)
class Lifeline:
    name: str  # the scenario actor it stands for; the head's test id is `actor-<name>`
    title: str
    person: bool = False


LIFELINES = (
    Lifeline("developer", "developer", person=True),
    Lifeline("owner", "owner", person=True),
    Lifeline("reviewer", "reviewer", person=True),
    Lifeline("alertmanager", "Alertmanager"),
    Lifeline("pathops", "PathOps"),
    Lifeline("gitlab", "GitLab"),
    Lifeline("jenkins", "Jenkins"),
    Lifeline("argocd", "Argo CD"),
    Lifeline("harbor", "Harbor"),
    Lifeline("minio", "MinIO"),
    Lifeline("agents", "agents"),
    Lifeline("cluster", "cluster"),
)
NAMES = tuple(lifeline.name for lifeline in LIFELINES)
SYSTEMS = {"s3": "minio", "kubernetes": "cluster"}  # a fault's system -> its lifeline (others: same name)
WATCHED = {  # what PathOps looks at when it waits for an instance of this kind
    "incident": "pathops",
    "changeset": "gitlab",
    "artifact": "harbor",
    "preflight": "cluster",
    "lane": "pathops",
}
LABEL_CHARS = 60


@dataclass(frozen=True)
class Arrow:
    source: str  # always the step's actor
    target: str
    label: str

    @property
    def direction(self) -> Direction:
        if self.source == self.target:
            return "self"
        return "right" if NAMES.index(self.target) > NAMES.index(self.source) else "left"

    @property
    def columns(self) -> tuple[int, int]:
        """The first and last lifeline (0-based) the arrow spans, left to right."""
        ends = sorted((NAMES.index(self.source), NAMES.index(self.target)))
        return ends[0], ends[1]


@dataclass(frozen=True)
class Row:
    n: int  # 1-based, as the runner counts steps
    step_id: str
    actor: str
    arrow: Arrow
    narration: str
    why: str
    status: Status = "pending"
    detail: str = ""
    links: tuple[tuple[str, str], ...] = ()  # (text, url), in the order the step made them
    seconds: float = 0.0


@dataclass(frozen=True)
class Diagram:
    lifelines: tuple[Lifeline, ...]
    rows: tuple[Row, ...]

    @property
    def current(self) -> Row | None:
        return next((row for row in self.rows if row.status == "current"), None)

    @property
    def active(self) -> str | None:
        """The lifeline of the actor acting now (None between plays)."""
        row = self.current
        return row.arrow.source if row else None


def lifeline(actor: str) -> str:
    """The lifeline a scenario actor (or a fault's system) stands on."""
    name = SYSTEMS.get(actor, actor)
    if name not in NAMES:
        raise ValueError(f"no lifeline for actor {actor!r}; lifelines: {', '.join(NAMES)}")
    return name


def arrow(step: Step) -> Arrow:
    """Who acts on whom in `step`, and what the arrow says."""
    source, action = lifeline(step.actor), step.action
    if isinstance(action, Commit):
        return Arrow(source, "gitlab", _short(f"commit {action.repo}: {action.message}"))
    if isinstance(action, Alert):
        name = action.labels.get("alertname", "alert")
        times = f", {action.repeat} times" if action.repeat > 1 else ""
        return Arrow(source, "pathops" if source == "alertmanager" else "alertmanager", f"{name}{times}")
    if isinstance(action, Fault):
        return Arrow(source, lifeline(action.system), f"{action.system} {action.fault} {action.for_:g} s")
    if isinstance(action, Kill):
        return Arrow(source, "pathops", f"kill{f' at {action.at}' if action.at else ''}, restart")
    if isinstance(action, Act):
        target = "gitlab" if action.action == "merge" else "pathops"
        return Arrow(source, target, _short(f"{action.action} {action.target}"))
    if isinstance(action, Expect):
        target = WATCHED.get(action.kind, "pathops") if source == "pathops" else "pathops"
        return Arrow(source, target, _expected(action))
    raise ValueError(f"step {step.id}: a {step.kind} step has no arrow")


def diagram(
    steps: Sequence[Step], verdicts: Mapping[str, StepVerdict] | None = None, current: int | None = None
) -> Diagram:
    """The rows of `steps`: judged ones from `verdicts` (by step id), step `current` (1-based) now."""
    verdicts = verdicts or {}
    rows = []
    for n, step in enumerate(steps, 1):
        verdict = verdicts.get(step.id)
        row = Row(n=n, step_id=step.id, actor=step.actor, arrow=arrow(step),
                  narration=step.narration, why=step.why)  # fmt: skip
        if verdict is not None:
            row = replace(row, status=verdict.status, detail=verdict.detail,
                          links=tuple(verdict.links.items()), seconds=verdict.seconds)  # fmt: skip
        elif n == current:
            row = replace(row, status="current")
        rows.append(row)
    return Diagram(lifelines=LIFELINES, rows=tuple(rows))


def _expected(expect: Expect) -> str:
    kind = "change set" if expect.kind == "changeset" else expect.kind
    if expect.phase:
        what = f"{kind} {' or '.join(expect.phase)}"
    elif expect.fields:
        what = f"{kind}: {', '.join(expect.fields)}"
    else:
        what = kind
    if expect.count is not None:
        what = f"exactly {expect.count} {what}"
    return _short(f"never: {what}" if expect.never else what)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
