"""The node's knobs, read once from `FakeConfig.options` (all strings there):

node_name         "fake-node"
backoff_base_s    "10"    CrashLoopBackOff / ImagePullBackOff: base * 2^n, capped by backoff_max_s
backoff_max_s     "300"
probe_scale       "1"     multiplies probes' initialDelaySeconds and periodSeconds
grace_scale       "1"     multiplies terminationGracePeriodSeconds
memory_poll_s     "0.05"  how often a memory limit is checked against the container's RSS
resync_s          "1"     controllers' periodic resync
preloaded_images  ""      comma-separated globs of images "already present on machine" (empty root)
namespaces        ""      comma-separated namespaces to create at start
rbac              ""      YAML rule file (see auth.py)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeSettings:
    node_name: str = "fake-node"
    backoff_base_s: float = 10.0
    backoff_max_s: float = 300.0
    probe_scale: float = 1.0
    grace_scale: float = 1.0
    memory_poll_s: float = 0.05
    resync_s: float = 1.0
    preloaded_images: tuple[str, ...] = ()
    api_url: str = ""  # how containers reach the API (KUBERNETES_SERVICE_HOST / _PORT)

    @classmethod
    def from_options(cls, options: dict[str, str], api_url: str = "") -> NodeSettings:
        def num(key: str, default: float) -> float:
            return float(options[key]) if options.get(key) else default

        return cls(
            node_name=options.get("node_name") or "fake-node",
            backoff_base_s=num("backoff_base_s", 10.0),
            backoff_max_s=num("backoff_max_s", 300.0),
            probe_scale=num("probe_scale", 1.0),
            grace_scale=num("grace_scale", 1.0),
            memory_poll_s=num("memory_poll_s", 0.05),
            resync_s=num("resync_s", 1.0),
            preloaded_images=tuple(
                p.strip() for p in options.get("preloaded_images", "").split(",") if p.strip()
            ),
            api_url=api_url,
        )

    def backoff(self, level: int) -> float:
        """The delay before retry number `level` (0-based): base, 2*base, 4*base ... up to the cap."""
        return float(min(self.backoff_base_s * (2 ** min(level, 30)), self.backoff_max_s))
