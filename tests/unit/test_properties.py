"""Properties every machine must keep, checked over the finite alphabets of `alphabets.py`.

Two kinds of check: exhaustive ones over every state reachable from a start event within a bounded
number of events (breadth first, fixed `now`), and Hypothesis ones over random event sequences.

The properties, precisely:
  a. An artifact is never verified, promoting or promoted unless a `verification_passed` was applied
     (changed the state): the state holds the report id and a "verification ok" step.
  b. Idempotence: for every reachable state s and every event e, deciding e on the result of deciding
     e on s gives the same state again and no effects (a redelivery is harmless). And late
     redelivery: inserting, anywhere later in a sequence, a copy of a system event (callback, timer,
     CI failure) that was applied earlier never changes the outcome (the state without its step
     history and its informational `health` note).
  c. Every phase is reachable from a start event, and every reachable non-final state has at least one
     event that moves it to another phase (nothing is stuck for good).
  d. `decide` is deterministic: the same inputs give the same output, and the inputs are not changed.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.contracts.workflow import Event
from appliance.logic import artifact, changeset, preflight
from appliance.logic.machines import MACHINES
from tests.unit.alphabets import (
    ALL,
    ARTIFACT,
    INCIDENT,
    INCIDENT_FAILURES,
    LANE,
    NOW,
    Alphabet,
    ev,
    reachable,
)

SETTINGS = settings(max_examples=100, deadline=None)
REACHABLE = {name: list(reachable(alphabet)) for name, alphabet in ALL.items()}

# the golden path of each machine, drawn often so that random sequences get deep
HAPPY = {
    "incident": (
        ev("evidence_ready", snapshot_id="snap-1"),
        ev("patch_ready", patch_id="patch-1", summary="Fix"),
        ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1"),
    ),
    "changeset": (
        ev("mr_opened", changeset_id="cs-1", mr_url="http://scm/mr/1", status="success"),
        ev("approved", by="rui", role="reviewer"),
        ev("merged", by="olga"),
        ev("preflight_started", preflight_id="pf-1"),
        ev("verification_passed", report_id="rep-3"),
        ev("promoted"),
    ),
    "artifact": (
        ev("registered", digest="sha256:00ff"),
        ev("verification_passed", report_id="rep-1"),
        ev("promotion_approved", by="olga", role="owner"),
        ev("promotion_approved", by="autopilot", autonomy=2, risk=10),
        ev("promoted"),
    ),
    "preflight": (
        ev("deployed", revision="r1"),
        ev("synced", health="Healthy", sync_status="Synced"),
        ev("verification_callback", status="passed", report_id="rep-1"),
    ),
    "lane": (LANE.by_systems[0], LANE.by_systems[3], LANE.by_systems[1]),
}


def sequences(name: str) -> st.SearchStrategy[list[Event]]:
    alphabet = ALL[name]
    start = st.sampled_from(alphabet.starts)
    step = st.one_of(st.sampled_from(alphabet.events), st.sampled_from(HAPPY[name]))
    return st.tuples(start, st.lists(step, max_size=24)).map(lambda t: [t[0], *t[1]])


def outcome(state: Any) -> bytes:
    """A state without its step history and last sync health (a note, not a decision)."""
    cleared = {"steps": (), "updated_at": NOW} | ({"health": ""} if hasattr(state, "health") else {})
    return msgspec.json.encode(msgspec.structs.replace(state, **cleared))


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


# a. no promotion without evidence


def _evidenced(state: artifact.ArtifactRecord) -> bool:
    return state.report_id is not None and any(
        s.step == "verification" and s.outcome == "ok" for s in state.steps
    )


def test_no_reachable_artifact_is_verified_or_promoted_without_applied_evidence() -> None:
    states = [state for state, _ in REACHABLE["artifact"]]
    assert any(s.phase == artifact.PROMOTED for s in states)  # the search does get there
    for state in states:
        if state.phase in (artifact.VERIFIED, artifact.PROMOTING, artifact.PROMOTED):
            assert _evidenced(state), state


@SETTINGS
@given(sequences("artifact"))
def test_no_event_sequence_promotes_an_artifact_unless_verification_passed_was_applied(
    events: list[Event],
) -> None:
    state, applied_evidence = None, False
    for event in events:
        new = ARTIFACT.decide(state, event).state
        if event.name == "verification_passed" and state is not None and new.phase != state.phase:
            applied_evidence = True
        state = new
        if state.phase in (artifact.VERIFIED, artifact.PROMOTING, artifact.PROMOTED):
            assert applied_evidence and _evidenced(state), events


# b. idempotence and late redelivery


@pytest.mark.parametrize("name", ALL)
def test_applying_any_event_twice_equals_applying_it_once_in_every_reachable_state(name: str) -> None:
    alphabet = ALL[name]
    for state, path in REACHABLE[name]:
        for event in alphabet.events:
            once = alphabet.decide(state, event)
            twice = alphabet.decide(once.state, event)
            assert (twice.state, twice.effects) == (once.state, ()), (path, event)


def test_incident_job_failed_twice_equals_once() -> None:
    for state, _ in REACHABLE["incident"]:
        for event in INCIDENT_FAILURES:
            once = INCIDENT.decide(state, event)
            assert INCIDENT.decide(once.state, event).state == once.state


@pytest.mark.parametrize("name", ALL)
@SETTINGS
@given(data=st.data())
def test_doubling_events_or_redelivering_applied_ones_late_never_changes_the_outcome(
    name: str, data: Any
) -> None:
    alphabet = ALL[name]
    events = data.draw(sequences(name))
    state, applied = None, []
    for n, event in enumerate(events):
        new = alphabet.decide(state, event).state
        if n and event in alphabet.by_systems and outcome(new) != outcome(state):
            applied.append(n)
        state = new
    doubled = [e for e in events for _ in range(data.draw(st.integers(1, 2)))]
    assert outcome(alphabet.run(doubled)[0]) == outcome(state)
    late = list(events)
    for n in sorted(
        data.draw(st.lists(st.sampled_from(applied), max_size=4)) if applied else [], reverse=True
    ):
        late.insert(data.draw(st.integers(n + 1, len(events))), events[n])
    assert outcome(alphabet.run(late)[0]) == outcome(state), late


# c. every phase reachable, no state stuck


@pytest.mark.parametrize("name", ALL)
def test_every_phase_is_reachable_from_the_start(name: str) -> None:
    alphabet = ALL[name]
    assert {alphabet.machine.phase(s) for s, _ in REACHABLE[name]} == set(alphabet.phases)


@pytest.mark.parametrize("name", ALL)
def test_every_reachable_state_that_is_not_final_has_a_way_out(name: str) -> None:
    alphabet = ALL[name]
    for state, path in REACHABLE[name]:
        if alphabet.machine.is_final(state):
            assert all(alphabet.decide(state, e).state == state for e in alphabet.events), path
            continue
        if alphabet.machine.phase(state) not in alphabet.resting:
            assert _leaves_its_phase(alphabet, state), (alphabet.machine.phase(state), path)


def _leaves_its_phase(alphabet: Alphabet, state: Any, depth: int = 4) -> bool:
    """Some events, at most `depth`, lead out of the state's phase (a busy lane frees up only after
    each queued run had its turn)."""
    phase, frontier, seen = alphabet.machine.phase(state), [state], {encode(state)}
    for _ in range(depth):
        nexts = [alphabet.decide(s, e).state for s in frontier for e in alphabet.events]
        if any(alphabet.machine.phase(n) != phase for n in nexts):
            return True
        frontier = [n for n in nexts if encode(n) not in seen]
        seen |= {encode(n) for n in frontier}
    return False


@pytest.mark.parametrize(
    ("name", "events"),
    [("changeset", changeset.EVENTS), ("artifact", artifact.EVENTS), ("preflight", preflight.EVENTS)],
)
def test_the_alphabets_hold_every_event_the_machines_know(name: str, events: frozenset[str]) -> None:
    alphabet = ALL[name]
    assert {e.name for e in (*alphabet.starts, *alphabet.events)} == events


def test_the_registry_holds_every_machine_under_its_kind() -> None:
    assert {kind: m.kind for kind, m in MACHINES.items()} == {name: name for name in ALL}
    assert all(MACHINES[name] is alphabet.machine for name, alphabet in ALL.items())


# d. determinism


@pytest.mark.parametrize("name", ALL)
@SETTINGS
@given(data=st.data())
def test_decide_is_deterministic_and_leaves_its_inputs_alone(name: str, data: Any) -> None:
    alphabet: Alphabet = ALL[name]
    events = data.draw(sequences(name))
    state = None
    for event in events:
        before = (encode(state), copy.deepcopy(event))
        first, second = (
            alphabet.decide(state, event),
            alphabet.decide(copy.deepcopy(state), copy.deepcopy(event)),
        )
        assert (encode(first.state), encode(first.effects)) == (encode(second.state), encode(second.effects))
        assert (encode(state), event) == before
        state = first.state
