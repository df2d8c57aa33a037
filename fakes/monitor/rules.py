"""The alert rules, after kubernetes-mixin's `kubernetes-apps` group, evaluated over scraped samples.

    KubePodCrashLooping   critical  a container waited in CrashLoopBackOff, or restarted `restarts`
                                    times or more, within the window (`max_over_time` / `increase`
                                    over `[window]`: it keeps firing a window after the pod is gone)
    KubePodOOMKilled      critical  a container restarted within the window and last ended OOMKilled
                                    (or is terminated OOMKilled now)
    KubeContainerWaiting  warning   a container waits now with ImagePullBackOff, ErrImagePull or
                                    CreateContainerConfigError

Restart increases count a pod created within the window from 0, as its counter really started.
Annotations are Go-template text (as `/api/v1/rules` shows them), rendered per alert.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from fakes.monitor.observe import Sample, Series
from fakes.monitor.settings import Settings

CRASH_LOOP = "CrashLoopBackOff"
OOM = "OOMKilled"
WAITING_REASONS = ("ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError")
RUNBOOK = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/"


@dataclass
class Track:
    """One container's samples within the window, and whether the last scrape still saw it."""

    labels: dict[str, str]
    samples: list[Sample] = field(default_factory=list)
    current: bool = True


class History:
    def __init__(self) -> None:
        self.tracks: dict[tuple[str, str, str], Track] = {}

    def record(self, series: list[Series], now: float, window_s: float) -> None:
        seen = set()
        for s in series:
            seen.add(s.key)
            track = self.tracks.setdefault(s.key, Track(s.labels))
            track.labels, track.current = s.labels, True
            track.samples.append(s.sample)
        for key, track in list(self.tracks.items()):
            track.current = key in seen
            track.samples = [x for x in track.samples if x.at > now - window_s]  # left-open, as Prometheus 3
            if not track.samples:
                del self.tracks[key]


def increase(samples: list[Sample], window_start: float) -> int:
    """Restarts within the samples' span, counting a counter that went down as reset to 0."""
    if not samples:
        return 0
    first = samples[0]
    previous = 0 if first.created and first.created >= window_start else first.restarts
    total = 0
    for sample in samples:
        total += sample.restarts - previous if sample.restarts >= previous else sample.restarts
        previous = sample.restarts
    return total


@dataclass(frozen=True)
class Hit:
    value: float
    extra: dict[str, str] = field(default_factory=dict)  # template values that are not labels


Check = Callable[[Track, float, Settings], Hit | None]


def _crash_looping(track: Track, now: float, settings: Settings) -> Hit | None:
    restarts = increase(track.samples, now - settings.window_s)
    if restarts >= settings.restarts or any(s.waiting == CRASH_LOOP for s in track.samples):
        return Hit(float(restarts))
    return None


def _oom_killed(track: Track, now: float, settings: Settings) -> Hit | None:
    if not track.current:
        return None
    latest = track.samples[-1]
    restarts = increase(track.samples, now - settings.window_s)
    if (latest.last_terminated == OOM and restarts >= 1) or latest.terminated == OOM:
        return Hit(float(max(restarts, 1)))
    return None


def _waiting(track: Track, now: float, settings: Settings) -> Hit | None:
    latest = track.samples[-1]
    if track.current and latest.waiting in WAITING_REASONS:
        return Hit(1.0, {"reason": latest.waiting})
    return None


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str
    summary: str
    description: str
    check: Check
    query: Callable[[Settings], str]

    def annotations(self) -> dict[str, str]:
        return {
            "description": self.description,
            "runbook_url": RUNBOOK + self.name.lower(),
            "summary": self.summary,
        }


def duration(seconds: float) -> str:
    """A Prometheus duration: 300 -> 5m, 90 -> 1m30s, 0.5 -> 500ms."""
    ms = round(seconds * 1000)
    out = ""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        if ms >= size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out or "0s"


REGEX_SPECIAL = set(".^$+{}[]|()\\")


def _namespaces(settings: Settings) -> str:
    """The namespace globs as a PromQL regex matcher (a backslash doubled, as in a PromQL string)."""

    def regex(glob: str) -> str:
        return "".join(
            ".*" if c == "*" else "." if c == "?" else "\\\\" + c if c in REGEX_SPECIAL else c for c in glob
        )

    return f'namespace=~"{"|".join(regex(g) for g in settings.namespaces)}"'


KSM = 'job="kube-state-metrics"'
RULES = (
    Rule(
        "KubePodCrashLooping",
        "critical",
        "Pod is crash looping.",
        "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash looping: "
        "it waits in CrashLoopBackOff or restarted {{ $value }} times within the window.",
        _crash_looping,
        lambda s: (
            f'max_over_time(kube_pod_container_status_waiting_reason{{reason="{CRASH_LOOP}",{KSM},'
            f"{_namespaces(s)}}}[{duration(s.window_s)}]) >= 1 or increase(kube_pod_container_status_"
            f"restarts_total{{{KSM},{_namespaces(s)}}}[{duration(s.window_s)}]) >= {s.restarts}"
        ),
    ),
    Rule(
        "KubePodOOMKilled",
        "critical",
        "Container was OOMKilled.",
        "Container {{ $labels.container }} in pod {{ $labels.namespace }}/{{ $labels.pod }} has been "
        "OOMKilled {{ $value }} times within the window.",
        _oom_killed,
        lambda s: (
            f"(kube_pod_container_status_restarts_total{{{KSM},{_namespaces(s)}}} - kube_pod_container_"
            f"status_restarts_total{{{KSM},{_namespaces(s)}}} offset {duration(s.window_s)} >= 1) and "
            f'ignoring (reason) kube_pod_container_status_last_terminated_reason{{reason="{OOM}",{KSM}}} == 1'
        ),
    ),
    Rule(
        "KubeContainerWaiting",
        "warning",
        "Pod container is waiting.",
        "pod/{{ $labels.pod }} in namespace {{ $labels.namespace }} on container {{ $labels.container }} "
        'is in waiting state (reason: "{{ $labels.reason }}").',
        _waiting,
        lambda s: (
            "sum by (namespace, pod, container) (kube_pod_container_status_waiting_reason"
            f'{{reason=~"{"|".join(WAITING_REASONS)}",{KSM},{_namespaces(s)}}}) > 0'
        ),
    ),
)


def go_number(value: float) -> str:
    """A float as Go's %v prints it in a template: 3 -> "3", 2.5 -> "2.5"."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)


TEMPLATE = re.compile(r"\{\{\s*\$(labels\.([A-Za-z_][A-Za-z0-9_]*)|value)\s*\}\}")


def render(text: str, labels: dict[str, str], value: float) -> str:
    def one(match: re.Match[str]) -> str:
        return go_number(value) if match.group(1) == "value" else labels.get(match.group(2), "")

    return TEMPLATE.sub(one, text)


@dataclass(frozen=True)
class Result:
    rule: Rule
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float


def evaluate(rule: Rule, history: History, now: float, settings: Settings) -> list[Result]:
    out = []
    for track in history.tracks.values():
        hit = rule.check(track, now, settings)
        if hit is None:
            continue
        labels = {"alertname": rule.name, **track.labels, "severity": rule.severity}
        annotations = {
            k: render(v, {**labels, **hit.extra}, hit.value) for k, v in rule.annotations().items()
        }
        out.append(Result(rule, labels, annotations, hit.value))
    return out
