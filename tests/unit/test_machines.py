"""The machines together: what one `Send`s, another accepts. A tiny pure bus plays the engine's part
(it delivers each `Send` at once, as the engine does inside one transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.contracts.workflow import Effect, Event, Send, TriggerJob
from appliance.logic.machines import MACHINES
from tests.unit.alphabets import NOW, ev, only


@dataclass
class Bus:
    states: dict[str, Any] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)

    def send(self, kind: str, instance: str, event: Event, event_id: str = "") -> None:
        if event_id in self.delivered:
            return  # the engine drops a redelivered event id
        if event_id:
            self.delivered.add(event_id)
        decision = MACHINES[kind].decide(self.states.get(instance), instance, event, NOW)
        self.states[instance], self.kinds[instance] = decision.state, kind
        for effect in decision.effects:
            self.effects.append(effect)
            if isinstance(effect, Send):
                self.send(effect.kind, effect.instance, effect.event, effect.event_id)

    def phase(self, instance: str) -> str:
        return MACHINES[self.kinds[instance]].phase(self.states[instance])


def test_the_autopilot_path_across_incident_and_change_set() -> None:
    bus = Bus()
    alert = ev(
        "alert_fired",
        fingerprint="fp-9",
        labels={"app": "checkout", "alertname": "OOMKilled"},
        project="shop",
    )
    bus.send("incident", "inc-9", alert)
    bus.send("incident", "inc-9", ev("evidence_ready", snapshot_id="snap-9", commit_sha="abc1234"))
    bus.send("incident", "inc-9", ev("patch_ready", patch_id="patch-9", summary="Raise the limit", risk=8))
    assert (bus.phase("inc-9"), bus.phase("cs-9")) == ("proposing", "proposing")
    assert [j.key for j in only(bus.effects, TriggerJob) if j.job == "create-mr-from-patch"] == [
        "inc-9:create-mr-from-patch:3"
    ]  # the incident's, once: the change set leaves it to the incident
    change = bus.states["cs-9"]
    assert (change.origin, change.apps, change.patch_id, change.risk) == (
        "inc-9",
        ("checkout",),
        "patch-9",
        8.0,
    )
    assert MACHINES["changeset"].correlation(change) == "cs-9-fix-raise-the-limit"
    bus.send(
        "changeset", "cs-9", ev("mr_opened", changeset_id="cs-9", mr_url="http://scm/mr/9", status="success")
    )
    assert (bus.phase("cs-9"), bus.phase("inc-9")) == ("open", "proposed")
    assert bus.states["inc-9"].mr_url == "http://scm/mr/9"


def test_failing_preflight_rejects_the_artifact_and_opens_an_incident_that_proposes_a_fix() -> None:
    bus = Bus()
    bus.send(
        "artifact",
        "art-1",
        ev("built", app="api", commit_sha="abc1234", image="reg/api:abc1234", project="shop"),
    )
    bus.send("artifact", "art-1", ev("registered"))
    bus.send(
        "preflight",
        "pf-1",
        ev("started", app="api", artifact_id="art-1", project="shop", commit_sha="abc1234"),
    )
    bus.send("preflight", "pf-1", ev("deployed"))
    bus.send("preflight", "pf-1", ev("synced", health="Healthy"))
    bus.send(
        "preflight", "pf-1", ev("verification_callback", status="failed", report_id="rep-2", summary="5xx")
    )
    assert (bus.phase("pf-1"), bus.phase("art-1"), bus.phase("inc-pf-1")) == (
        "failed",
        "rejected",
        "collecting-evidence",
    )
    opened = bus.states["inc-pf-1"]
    assert (opened.app, opened.env, opened.namespace, opened.classification) == (
        "api",
        "preflight",
        "api-preflight",
        "deploy",
    )
    assert (opened.fingerprint, opened.source_sha, opened.project) == ("preflight:pf-1", "abc1234", "shop")


def test_passing_preflight_verifies_the_artifact_and_an_owner_promotes_it() -> None:
    bus = Bus()
    bus.send(
        "artifact",
        "art-1",
        ev("built", app="api", commit_sha="abc1234", image="reg/api:abc1234", project="shop"),
    )
    bus.send("artifact", "art-1", ev("registered"))
    bus.send(
        "preflight",
        "pf-1",
        ev("started", app="api", artifact_id="art-1", project="shop", commit_sha="abc1234"),
    )
    for event in (
        ev("deployed"),
        ev("synced", health="Healthy"),
        ev("verification_callback", status="passed", report_id="r"),
    ):
        bus.send("preflight", "pf-1", event)
    assert (bus.phase("pf-1"), bus.phase("art-1"), bus.states["art-1"].report_id) == (
        "passed",
        "verified",
        "r",
    )
    bus.send("artifact", "art-1", ev("promotion_approved", by="olga", role="owner"))
    bus.send("artifact", "art-1", ev("promoted"))
    assert bus.phase("art-1") == "promoted"
