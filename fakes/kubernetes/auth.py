"""Bearer tokens to identities (`FakeConfig.tokens`) and an RBAC rule table per identity.

Rules come from `options["rbac"]` (a YAML file, `rules:` list as below) or the defaults:

    rules:
      - identity: "agent:{app}"            # {name} placeholders match [a-z0-9-]+ ...
        verbs: [get, list, watch]
        resources: [pods, pods/log, events]  # "pods" does not cover "pods/log"; "*" covers all
        namespaces: ["{app}-preflight"]      # ... and are substituted here; "*" is every namespace
        cluster: false                       # cluster-scope requests: namespaces, nodes, all-namespace lists
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

READ = ("get", "list", "watch")
WORKLOAD_READ = ("pods", "pods/log", "events", "deployments", "replicasets", "jobs")
PATHOPS_READ = ("pods", "pods/log", "pods/status", "events", "configmaps", "serviceaccounts", "services",
                "deployments", "deployments/status", "deployments/scale", "replicasets", "replicasets/status",
                "jobs", "jobs/status", "namespaces", "nodes")  # fmt: skip


@dataclass(frozen=True)
class Rule:
    identity: str
    verbs: tuple[str, ...]
    resources: tuple[str, ...]
    namespaces: tuple[str, ...] = ()
    cluster: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Rule:
        return cls(
            identity=str(raw["identity"]),
            verbs=tuple(raw.get("verbs") or ()),
            resources=tuple(raw.get("resources") or ()),
            namespaces=tuple(raw.get("namespaces") or ()),
            cluster=bool(raw.get("cluster", False)),
        )


DEFAULT_RULES = (
    Rule("admin", ("*",), ("*",), ("*",), cluster=True),
    Rule("argocd", ("*",), ("*",), ("*",)),
    Rule("argocd", READ, ("*",), cluster=True),
    Rule("pathops", READ, PATHOPS_READ, ("*",), cluster=True),
    Rule("agent:{app}", READ, WORKLOAD_READ, ("{app}-preflight", "{app}-production")),
    Rule("agent:{app}", ("create",), ("jobs",), ("{app}-agents",)),
)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _pattern(text: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(text)
    regex = "".join(
        re.escape(p) if i % 2 == 0 else f"(?P<{p}>[a-z0-9][-a-z0-9]*)" for i, p in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


class Authorizer:
    def __init__(self, tokens: dict[str, str], rules: tuple[Rule, ...] = DEFAULT_RULES) -> None:
        self.tokens = dict(tokens)
        self.rules = [(rule, _pattern(rule.identity)) for rule in rules]

    @classmethod
    def from_options(cls, tokens: dict[str, str], options: dict[str, str]) -> Authorizer:
        path = options.get("rbac")
        if not path:
            return cls(tokens)
        raw = yaml.safe_load(Path(path).read_text()) or {}
        return cls(tokens, tuple(Rule.parse(r) for r in raw.get("rules") or ()))

    def authenticate(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        return self.tokens.get(authorization[7:].strip())

    def allowed(self, identity: str, verb: str, resource: str, namespace: str) -> bool:
        for rule, pattern in self.rules:
            match = pattern.match(identity)
            if match is None:
                continue
            if "*" not in rule.verbs and verb not in rule.verbs:
                continue
            if "*" not in rule.resources and resource not in rule.resources:
                continue
            if not namespace:
                if rule.cluster:
                    return True
                continue
            for ns in rule.namespaces:
                if ns == "*" or ns.format(**match.groupdict()) == namespace:
                    return True
        return False
