"""The monitor's rules and alert lifecycle on hand-made pods, scrape by scrape, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fakes.monitor.alerting import FIRING, INACTIVE, Alerts, go_exp, go_time
from fakes.monitor.observe import app_and_env, deployments_by_replicaset, scrape
from fakes.monitor.rules import RULES, History, duration, evaluate, render
from fakes.monitor.settings import Settings, SettingsError

T0 = 1_800_000_000.0
SETTINGS = Settings(period_s=1, resend_s=1, window_s=10, restarts=2)
RULE = {rule.name: rule for rule in RULES}


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(
    *,
    restarts: int = 0,
    waiting: str = "",
    last: str = "",
    terminated: str = "",
    created: float = T0 - 3600,
    namespace: str = "shop-api-production",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": stamp(created)}}
    if waiting:
        state = {"waiting": {"reason": waiting}}
    if terminated:
        state = {"terminated": {"reason": terminated, "exitCode": 137}}
    return {
        "metadata": {
            "name": "shop-api-7d9f-x1",
            "namespace": namespace,
            "creationTimestamp": stamp(created),
            "labels": {"app": "shop-api", "pathops.dev/project": "shop"} if labels is None else labels,
            "annotations": {"pathops.dev/commit-sha": "c0ffee"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "shop-api-7d9f"}],
        },
        "status": {
            "containerStatuses": [
                {
                    "name": "api",
                    "restartCount": restarts,
                    "state": state,
                    "lastState": {"terminated": {"reason": last}} if last else {},
                }
            ]
        },
    }


RS = [
    {
        "metadata": {
            "namespace": "shop-api-production",
            "name": "shop-api-7d9f",
            "ownerReferences": [{"kind": "Deployment", "name": "shop-api"}],
        }
    }
]


class World:
    """Scrapes fed to the history, evaluations folded into alerts: what Monitor.evaluate does."""

    def __init__(self, settings: Settings = SETTINGS) -> None:
        self.settings, self.history, self.alerts = settings, History(), Alerts(settings)

    def tick(self, at: float, *pods: dict[str, Any]) -> list[str]:
        series = scrape(list(pods), deployments_by_replicaset(RS), at)
        self.history.record(series, at, self.settings.window_s)
        for rule in RULES:
            self.alerts.update(
                rule.name, evaluate(rule, self.history, at, self.settings), at, "http://p/graph"
            )
        return sorted(f"{a.rule}:{a.state}" for a in self.alerts.active.values())


@pytest.mark.parametrize(
    ("namespace", "labels", "expected"),
    [
        ("shop-api-production", {"app": "shop-api"}, ("shop-api", "production")),
        ("shop-api-preflight", {"app.kubernetes.io/name": "shop-api"}, ("shop-api", "preflight")),
        ("shop-preflight", {"app": "shop-api"}, ("shop-api", "preflight")),
        ("shop-api-production", {}, ("shop-api", "production")),
        ("default", {}, ("default", "")),
    ],
)
def test_app_and_env_come_from_the_pod_label_and_the_namespace_suffix(
    namespace: str, labels: dict[str, str], expected: tuple[str, str]
) -> None:
    assert app_and_env(namespace, labels) == expected


def test_a_series_carries_the_routing_labels_and_omits_unknown_ones() -> None:
    [series] = scrape([pod()], deployments_by_replicaset(RS), T0)
    assert series.key == ("shop-api-production", "shop-api-7d9f-x1", "api")
    assert series.labels == {
        "namespace": "shop-api-production", "pod": "shop-api-7d9f-x1", "container": "api", "app": "shop-api",
        "env": "production", "project": "shop", "deployment": "shop-api", "commit_sha": "c0ffee",
    }  # fmt: skip
    bare = pod(namespace="shop-api-preflight", labels={"app": "shop-api"})
    bare["metadata"].pop("annotations")
    [series] = scrape([bare], {}, T0)
    assert set(series.labels) == {"namespace", "pod", "container", "app", "env"}


def test_crash_loop_back_off_fires_at_once_and_stays_a_window_after_the_pod_is_gone() -> None:
    world = World()
    assert world.tick(T0, pod(restarts=1)) == []
    assert world.tick(T0 + 1, pod(restarts=1, waiting="CrashLoopBackOff")) == ["KubePodCrashLooping:firing"]
    [alert] = world.alerts.listed()
    assert alert.labels["alertname"] == "KubePodCrashLooping" and alert.labels["severity"] == "critical"
    assert alert.annotations["description"] == (
        "Pod shop-api-production/shop-api-7d9f-x1 (api) is crash looping: "
        "it waits in CrashLoopBackOff or restarted 0 times within the window."
    )
    assert alert.annotations["runbook_url"].endswith("/kubepodcrashlooping")
    assert world.tick(T0 + 2, pod(restarts=2)) == [
        "KubePodCrashLooping:firing"
    ]  # running again between crashes
    assert world.tick(T0 + 5) == ["KubePodCrashLooping:firing"]  # the pod is gone, its samples are not
    assert world.tick(T0 + 12) == ["KubePodCrashLooping:inactive"]
    assert world.history.tracks == {}


def test_restarts_within_the_window_fire_and_an_old_pods_count_alone_does_not() -> None:
    world = World()
    assert world.tick(T0, pod(restarts=5)) == []  # restarted long ago: no increase seen yet
    assert world.tick(T0 + 1, pod(restarts=6)) == []
    assert world.tick(T0 + 2, pod(restarts=7)) == ["KubePodCrashLooping:firing"]
    assert world.alerts.listed()[0].value == 2.0
    assert world.tick(T0 + 13, pod(restarts=7)) == ["KubePodCrashLooping:inactive"]

    young = World()  # created within the window: its counter started at 0 then
    assert young.tick(T0, pod(restarts=2, created=T0 - 3)) == ["KubePodCrashLooping:firing"]


def test_oom_killed_needs_a_restart_within_the_window_and_a_live_container() -> None:
    world = World()
    assert world.tick(T0, pod(restarts=3, last="OOMKilled")) == []
    assert world.tick(T0 + 1, pod(restarts=4, last="OOMKilled")) == ["KubePodOOMKilled:firing"]
    oom = next(a for a in world.alerts.listed() if a.rule == "KubePodOOMKilled")
    assert oom.annotations["summary"] == "Container was OOMKilled."
    assert "has been OOMKilled 1 times" in oom.annotations["description"]
    assert world.tick(T0 + 2) == ["KubePodOOMKilled:inactive"]  # an instant vector: gone with the pod

    never = World()  # restartPolicy Never: terminated OOMKilled, no restart
    assert never.tick(T0, pod(terminated="OOMKilled")) == ["KubePodOOMKilled:firing"]


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError"])
def test_a_container_waiting_on_its_image_or_config_fires_until_it_runs(reason: str) -> None:
    world = World()
    assert world.tick(T0, pod(waiting=reason)) == ["KubeContainerWaiting:firing"]
    [alert] = world.alerts.listed()
    assert alert.labels["severity"] == "warning" and "reason" not in alert.labels
    assert alert.annotations["description"].endswith(f'is in waiting state (reason: "{reason}").')
    assert world.tick(T0 + 1, pod(waiting="ContainerCreating")) == ["KubeContainerWaiting:inactive"]


def test_for_keeps_an_alert_pending_and_a_short_blip_never_fires() -> None:
    world = World(Settings(period_s=1, resend_s=1, window_s=10, for_s=2))
    assert world.tick(T0, pod(waiting="ErrImagePull")) == ["KubeContainerWaiting:pending"]
    assert world.alerts.due(T0) == []  # pending alerts are not sent
    assert world.tick(T0 + 1, pod()) == []
    assert world.tick(T0 + 2, pod(waiting="ErrImagePull")) == ["KubeContainerWaiting:pending"]
    assert world.tick(T0 + 3, pod(waiting="ErrImagePull")) == ["KubeContainerWaiting:pending"]
    assert world.tick(T0 + 4, pod(waiting="ErrImagePull")) == ["KubeContainerWaiting:firing"]
    assert world.alerts.listed()[0].active_at == T0 + 2


def test_firing_alerts_are_resent_and_a_resolved_one_goes_once_with_its_end() -> None:
    world = World(Settings(period_s=1, resend_s=2, window_s=10))
    world.tick(T0, pod(waiting="ErrImagePull"))
    [sent] = world.alerts.due(T0)
    body = sent.postable()
    assert body["startsAt"] == go_time(T0) and body["endsAt"] == go_time(T0 + 8)  # 4 x max(period, resend)
    assert body["generatorURL"] == "http://p/graph" and body["labels"] == sent.labels
    world.alerts.delivered([sent], True)
    assert world.alerts.due(T0 + 1) == []
    assert len(world.alerts.due(T0 + 2)) == 1

    world.tick(T0 + 3, pod())
    assert sent.state == INACTIVE and world.alerts.listed() == []
    [resolved] = world.alerts.due(T0 + 3)  # at once, not after resend_s
    assert resolved.postable()["endsAt"] == go_time(T0 + 3)
    world.alerts.delivered([resolved], False)  # Alertmanager was down: it goes again
    [again] = world.alerts.due(T0 + 4)
    world.alerts.delivered([again], True)
    assert world.alerts.active == {} and world.alerts.due(T0 + 10) == []


def test_a_condition_back_after_resolving_is_a_new_alert() -> None:
    world = World()
    world.tick(T0, pod(waiting="ErrImagePull"))
    world.tick(T0 + 1, pod())
    assert world.tick(T0 + 2, pod(waiting="ErrImagePull")) == ["KubeContainerWaiting:firing"]
    [alert] = world.alerts.listed()
    assert alert.active_at == T0 + 2 and alert.state == FIRING


def test_formats_follow_prometheus() -> None:
    assert [go_exp(v) for v in (1.0, 3.0, 2.5, 12.0, 0.0)] == [
        "1e+00",
        "3e+00",
        "2.5e+00",
        "1.2e+01",
        "0e+00",
    ]
    assert go_time(T0) == "2027-01-15T08:00:00Z" and go_time(T0 + 0.25) == "2027-01-15T08:00:00.25Z"
    assert [duration(s) for s in (300, 90, 0.5, 0, 3600)] == ["5m", "1m30s", "500ms", "0s", "1h"]
    assert render("{{ $labels.pod }} x{{ $value }} {{$labels.none}}.", {"pod": "p"}, 3.0) == "p x3 ."
    query = RULE["KubePodCrashLooping"].query(Settings())
    odd = RULE["KubeContainerWaiting"].query(Settings(namespaces=("a.b-*",)))
    assert 'namespace=~"a\\\\.b-.*"' in odd
    assert 'namespace=~".*-production|.*-preflight"' in query and "[5m]" in query and ">= 2" in query


@pytest.mark.parametrize(
    ("options", "message"),
    [({"period_s": "0"}, "period_s must be above 0"), ({"window_s": "soon"}, "window_s must be a number")],
)
def test_bad_options_are_named(options: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_options(options)


def test_options_and_their_defaults() -> None:
    default = Settings.from_options({})
    assert (default.period_s, default.resend_s, default.window_s, default.restarts) == (2, 2, 300, 2)
    assert default.watches("shop-api-production") and default.watches("shop-api-preflight")
    assert not default.watches("shop-api-agents")
    custom = Settings.from_options({"period_s": "0.2", "namespaces": "a-*, b", "restarts": "3"})
    assert (custom.resend_s, custom.namespaces, custom.restarts) == (0.2, ("a-*", "b"), 3)
