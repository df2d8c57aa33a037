"""Finite alphabets of plausible events for each machine, and small helpers to run machines.

An alphabet holds every event name a machine knows, with data a real sender could send: a few attempts
for timers and failures, each role for people's commands, healthy and unhealthy sync reports, and so on.
Events are split into `by_systems` (callbacks, timers, CI failures: a late redelivery is possible) and
`by_people` (commands: the shell deduplicates them by envelope id, and a repeat is a new decision).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

from appliance.contracts.workflow import Effect, Event
from appliance.logic import artifact, changeset, incident, lane, preflight
from appliance.logic.machine import Decision, Machine

T = TypeVar("T")
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ATTEMPTS = range(1, 7)


def ev(name: str, **data: Any) -> Event:
    return Event(name=name, data=data)


@dataclass(frozen=True)
class Alphabet:
    machine: Machine[Any]
    instance: str
    starts: tuple[Event, ...]  # start events (one BFS per start)
    by_systems: tuple[Event, ...]
    by_people: tuple[Event, ...]
    phases: tuple[str, ...]
    resting: tuple[str, ...] = ()  # phases that wait for new work, not for an answer (an idle lane)

    @property
    def events(self) -> tuple[Event, ...]:
        return (*self.by_systems, *self.by_people)

    def decide(self, state: Any, event: Event, now: datetime = NOW) -> Decision[Any]:
        return self.machine.decide(state, self.instance, event, now)

    def run(self, events: Iterable[Event], now: datetime = NOW) -> tuple[Any, list[Effect]]:
        state, effects = None, []
        for event in events:
            decision = self.decide(state, event, now)
            state, effects = decision.state, [*effects, *decision.effects]
        return state, effects


def _timeouts(phases: Iterable[str]) -> tuple[Event, ...]:
    return tuple(ev("timeout", phase=p, attempt=a) for p in phases for a in ATTEMPTS)


def _failures(jobs: Iterable[str]) -> tuple[Event, ...]:
    failed = [ev("job_failed", job=j, reason="boom", attempt=a) for j in jobs for a in ATTEMPTS]
    return (*failed, *(ev("job_failed", job=j, reason="gone", permanent=True, attempt=1) for j in jobs))


INCIDENT = Alphabet(
    machine=incident.MACHINE,
    instance="inc-1",
    starts=(
        ev("alert_fired", fingerprint="fp-1", labels={"app": "api", "alertname": "CrashLoop"}),
        ev(
            "alert_fired",
            fingerprint="fp-1",
            labels={"app": "api"},
            autonomy=3,
            last_good={"artifact_id": "art-0", "image": "reg/api:0", "commit_sha": "abc1234"},
        ),
        ev(
            "alert_fired",
            fingerprint="scan:art-1",
            labels={"app": "api", "env": "preflight", "class": "security"},
            commit_sha="abc1234",
            advisories=[{"id": "CVE-1", "package": "flask", "version": "0.12", "fixed": "0.12.3"}],
        ),
    ),
    by_systems=(
        ev("alert_fired", fingerprint="fp-1", labels={"app": "api"}),
        ev("rolled_back", revision="g1", mr_url="http://scm/gitops/mr/1"),
        ev("job_failed", job="rollback", reason="conflict", key="inc-1:rollback:1"),
        ev("alert_resolved"),
        ev("evidence_ready", snapshot_id="snap-1", summary="logs", commit_sha="abc1234"),
        ev("patch_ready", patch_id="patch-1", summary="Fix the crash", risk=12),
        ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1"),
        *_timeouts(("collecting-evidence", "diagnosing", "proposing")),
        # the incident's job_failed carries no attempt: see test_properties for why it is kept apart
    ),
    by_people=(ev("retry", by="ann"), ev("close", by="ann")),
    phases=incident.PHASES,
)
# CI failures name the attempt they are about through the outbox or callback key, as the shell sends them
INCIDENT_FAILURES = tuple(
    ev("job_failed", job=j, reason="boom", key=f"inc-1:{j}:{attempt}", **extra)
    for j in ("schedule-evidence-collector", "build-fix-agent", "create-mr-from-patch")
    for attempt in (1, 2, 3, 4)
    for extra in ({}, {"permanent": True})
)

MR = "create-mr-from-patch"
PEOPLE = (("olga", "owner"), ("rui", "reviewer"), ("vic", "viewer"))
_CREATED = {"project": "shop", "title": "Fix the crash", "branch": "cs-1-fix-the-crash", "apps": ["api"]}
CHANGESET = Alphabet(
    machine=changeset.MACHINE,
    instance="cs-1",
    starts=(
        ev("created", **_CREATED, origin="feature"),
        ev("created", **_CREATED, origin="inc-1", patch_id="patch-1", risk=12),
        ev("created", **{**_CREATED, "apps": ["api", "web"]}, origin="feature"),
    ),
    by_systems=(
        ev("created", **_CREATED, origin="feature"),
        ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1", status="success"),
        *(ev("mr_opened", changeset_id="cs-1", status="failure", key=f"cs-1:{MR}:{a}") for a in ATTEMPTS),
        ev("artifact_built", app="api", artifact_id="art-1"),
        ev("artifact_built", app="web", artifact_id="art-2"),
        ev("preflight_started", preflight_id="pf-1"),
        ev("preflight_started", preflight_id="pf-2"),
        ev("verification_passed", report_id="rep-1", app="api"),
        ev("verification_passed", report_id="rep-2", app="web"),
        ev("verification_passed", report_id="rep-3"),
        ev("verification_failed", report_id="rep-4", reason="smoke test failed"),
        ev("promoted"),
        *_timeouts(("proposing", "open")),
        *_failures(("create-mr-from-patch", "build")),
        # the autopilot's merge: the MR head through preflight at level 2, then merge-mr's retries
        ev(
            "mr_opened",
            changeset_id="cs-1",
            mr_url="http://scm/mr/1",
            status="success",
            commit_sha="f" * 40,
            autonomy=2,
        ),
        ev("verification_passed", report_id="rep-h", app="api", stage="merge-request"),
        *(ev("timeout", phase="approved", attempt=a) for a in (1, 2, 3)),
        *(ev("job_failed", job="merge-mr", reason="409", key=f"cs-1:merge-mr:{a}") for a in (1, 2, 3)),
    ),
    by_people=(
        *(ev("approved", by=who, role=role) for who, role in PEOPLE),
        *(ev("rejected", by=who, role=role) for who, role in PEOPLE[1:]),
        ev("merged", by="olga"),
        ev("merged", by="olga", app="web"),
        ev("retry", by="olga"),
        ev("close", by="olga"),
    ),
    phases=changeset.PHASES,
)

_APPROVALS = (
    *(ev("promotion_approved", by=who, role=role) for who, role in PEOPLE),
    *(
        ev("promotion_approved", by="autopilot", autonomy=level, risk=risk)
        for level in (0, 1, 2, 3)
        for risk in (10, 45, 80, None, "low")
    ),
)
ARTIFACT = Alphabet(
    machine=artifact.MACHINE,
    instance="art-1",
    starts=(
        ev("built", app="api", commit_sha="abc1234", image="registry/shop/api:abc1234", project="shop"),
        ev(
            "build_requested",
            app="api",
            commit_sha="abc1234",
            project="shop",
            changeset_id="cs-1",
            autonomy=2,
            risk=10,
        ),
        ev(
            "build_requested", app="api", commit_sha="abc1234", project="shop", changeset_id="cs-1", hold=True
        ),
        ev(
            "build_requested",
            app="api",
            commit_sha="abc1234",
            project="shop",
            changeset_id="cs-1",
            stage="merge-request",
            autonomy=2,
            risk=5,
        ),
    ),
    by_systems=(
        ev("built", app="api", commit_sha="abc1234", image="registry/shop/api:abc1234", project="shop"),
        ev(
            "built",
            image="registry/shop/api:abc1234",
            vulnerabilities=[
                {
                    "id": "CVE-1",
                    "package": "flask",
                    "version": "0.12",
                    "fix_version": "0.12.3",
                    "severity": "High",
                }
            ],
            scan="Trivy: 1 vulnerability",
        ),
        ev("linked", changeset_id="cs-2"),
        ev("build_requested", app="api", commit_sha="abc1234", project="shop"),
        ev("release", changeset_id="cs-1"),
        ev("registered", digest="sha256:00ff"),
        ev("verification_passed", report_id="rep-1"),
        ev("verification_failed", report_id="rep-2", reason="contract test failed"),
        ev("promoted"),
        *_timeouts(("promoting", "verified", "building")),
        *_failures(("promote", "build")),
    ),
    by_people=(*_APPROVALS, ev("reject", by="olga", role="owner")),
    phases=artifact.PHASES,
)

PREFLIGHT = Alphabet(
    machine=preflight.MACHINE,
    instance="pf-1",
    starts=(ev("started", app="api", artifact_id="art-1", project="shop", commit_sha="abc1234"),),
    by_systems=(
        ev("started", app="api", artifact_id="art-1", project="shop", commit_sha="abc1234"),
        ev("deployed", revision="r1"),
        ev("synced", health="Healthy", sync_status="Synced"),
        ev("synced", health="Progressing", sync_status="Synced"),
        ev("synced", health="Degraded", sync_status="Synced"),
        ev("synced", health="Healthy", sync_status="OutOfSync"),
        ev("verification_callback", status="passed", report_id="rep-1", verification_id="v-1"),
        ev("verification_callback", status="failed", report_id="rep-2", verification_id="v-2", summary="5xx"),
        *_timeouts(("deploying", "syncing", "verifying")),
        *_failures(("deploy-preflight", "schedule-verification")),
    ),
    by_people=(ev("retry", by="olga"), ev("close", by="olga")),
    phases=preflight.PHASES,
)


def _queued(run: str) -> Event:
    started = {"app": "api", "artifact_id": f"art-{run}", "project": "shop", "commit_sha": "abc1234"}
    return ev("enqueue", preflight_id=f"pf-{run}", project="shop", app="api", started=started)


def _released(run: str) -> Event:
    return ev("released", preflight_id=f"pf-{run}", project="shop", app="api")


LANE = Alphabet(
    machine=lane.MACHINE,
    instance="lane-shop-api",
    starts=(_queued("1"), _released("1")),
    by_systems=(*(_queued(r) for r in "123"), *(_released(r) for r in "123")),
    by_people=(),
    phases=(lane.BUSY, lane.IDLE),
    resting=(lane.IDLE,),
)

ALL = {
    "incident": INCIDENT,
    "changeset": CHANGESET,
    "artifact": ARTIFACT,
    "preflight": PREFLIGHT,
    "lane": LANE,
}


def key(state: Any) -> bytes:
    """A state without its history: two states with the same key behave the same from then on."""
    return msgspec.json.encode(msgspec.structs.replace(state, steps=()))


def reachable(alphabet: Alphabet, *, depth: int = 14) -> Iterator[tuple[Any, tuple[Event, ...]]]:
    """Every state reachable from a start event in at most `depth` events (breadth first, by `key`),
    with one shortest path to it."""
    seen: set[bytes] = set()
    queue: deque[tuple[Any, tuple[Event, ...]]] = deque()
    for start in alphabet.starts:
        state = alphabet.decide(None, start).state
        if key(state) not in seen:
            seen.add(key(state))
            queue.append((state, (start,)))
    while queue:
        state, path = queue.popleft()
        yield state, path
        if len(path) > depth or alphabet.machine.is_final(state):
            continue
        for event in alphabet.events:
            new = alphabet.decide(state, event).state
            if key(new) not in seen:
                seen.add(key(new))
                queue.append((new, (*path, event)))


def only(effects: Iterable[Effect], kind: type[T]) -> list[T]:
    """The effects of one type, in order."""
    return [e for e in effects if isinstance(e, kind)]
