"""Deploy order of a project's apps: dependencies first, from the meta repo's declared dependencies.

`deploy_order({"frontend": ["api"], "api": ["db"], "db": []})` is `["db", "api", "frontend"]`. The
order is a topological order that, whenever several apps are ready at once, takes them by name, so
the same graph always gives the same order. An app that depends on an app the graph does not name is
a `ValueError` naming both; a cycle is a `CycleError` (a ValueError) naming the cycle's path, as in
"dependency cycle: a -> b -> a" (a depends on b, which depends on a).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping


class CycleError(ValueError):
    """The dependencies go round in a circle; `cycle` is its path, first app repeated at the end."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join(cycle))


def deploy_order(deps: Mapping[str, Iterable[str]]) -> list[str]:
    graph = {app: sorted(set(needs)) for app, needs in deps.items()}
    for app in sorted(graph):
        for need in graph[app]:
            if need not in graph:
                raise ValueError(f"app {app!r} depends on unknown app {need!r}")
    waiting = {app: len(needs) for app, needs in graph.items()}
    needed_by: dict[str, list[str]] = {app: [] for app in graph}
    for app, needs in graph.items():
        for need in needs:
            needed_by[need].append(app)
    ready = [app for app, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        app = heapq.heappop(ready)
        order.append(app)
        for dependent in needed_by[app]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    if len(order) < len(graph):
        raise CycleError(_cycle({app: graph[app] for app in graph if waiting[app] > 0}))
    return order


def _cycle(stuck: dict[str, list[str]]) -> list[str]:
    """A cycle among the apps left waiting, found from the first by name (every one of them waits on
    another one of them, so following dependencies from any of them must come round)."""
    path: list[str] = []
    seen: dict[str, int] = {}
    app = min(stuck)
    while app not in seen:
        seen[app] = len(path)
        path.append(app)
        app = next(need for need in stuck[app] if need in stuck)
    return [*path[seen[app] :], app]
