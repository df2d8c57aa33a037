"""The monitor's knobs, read once from `FakeConfig.options` (all strings there):

kube_token   ""                             bearer token of the monitor's identity in the cluster
period_s     "2"                            evaluation interval (and the scrape of the cluster)
resend_s     period_s                       Prometheus' --rules.alert.resend-delay
window_s     "300"                          the rules' range window (`[5m]`)
restarts     "2"                            KubePodCrashLooping: restarts within the window that fire it
for_s        "0"                            how long a condition holds before pending turns firing
namespaces   "*-production,*-preflight"     comma-separated globs of the namespaces watched
timeout_s    "5"                            HTTP timeout towards the cluster and Alertmanager
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

DEFAULT_NAMESPACES = ("*-production", "*-preflight")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    kube_token: str = ""
    period_s: float = 2.0
    resend_s: float = 2.0
    window_s: float = 300.0
    restarts: int = 2
    for_s: float = 0.0
    namespaces: tuple[str, ...] = DEFAULT_NAMESPACES
    timeout_s: float = 5.0

    @classmethod
    def from_options(cls, options: dict[str, str]) -> Settings:
        def num(key: str, default: float) -> float:
            raw = options.get(key, "")
            try:
                value = float(raw) if raw else default
            except ValueError:
                raise SettingsError(f"monitor option {key} must be a number, not {raw!r}") from None
            if value < 0:
                raise SettingsError(f"monitor option {key} must not be negative, not {raw!r}")
            return value

        period = num("period_s", 2.0)
        if period <= 0:
            raise SettingsError("monitor option period_s must be above 0")
        globs = tuple(g.strip() for g in options.get("namespaces", "").split(",") if g.strip())
        return cls(
            kube_token=options.get("kube_token", ""),
            period_s=period,
            resend_s=num("resend_s", period),
            window_s=num("window_s", 300.0),
            restarts=max(1, int(num("restarts", 2))),
            for_s=num("for_s", 0.0),
            namespaces=globs or DEFAULT_NAMESPACES,
            timeout_s=num("timeout_s", 5.0) or 5.0,
        )

    def watches(self, namespace: str) -> bool:
        return any(fnmatch.fnmatchcase(namespace, glob) for glob in self.namespaces)

    @property
    def valid_for_s(self) -> float:
        """How long Alertmanager keeps a firing alert without news (Prometheus: 4 x max(interval, resend))."""
        return 4 * max(self.period_s, self.resend_s)
