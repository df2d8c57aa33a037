"""The namespace controllers: a `default` ServiceAccount in every namespace, and the clean-up of
namespaces being deleted (their content first, then the namespace)."""

from __future__ import annotations

from fakes.kubernetes.deletion import sweep_namespace
from fakes.kubernetes.errors import ApiError
from fakes.kubernetes.registry import Registry
from fakes.kubernetes.resources import NAMESPACES, SERVICEACCOUNTS


def reconcile(registry: Registry) -> None:
    for ns in registry.store.list(NAMESPACES.key):
        name = ns["metadata"]["name"]
        if ns["metadata"].get("deletionTimestamp"):
            sweep_namespace(registry, ns)
        elif registry.find(SERVICEACCOUNTS, name, "default") is None:
            try:
                registry.create(SERVICEACCOUNTS, name, {"metadata": {"name": "default"}})
            except ApiError:
                continue


def ensure(registry: Registry, names: list[str]) -> None:
    """Namespaces the fake starts with (the cluster's own, and `options["namespaces"]`)."""
    for name in ["default", "kube-system", "kube-public", "kube-node-lease", *names]:
        if registry.find(NAMESPACES, "", name) is None:
            registry.create(NAMESPACES, "", {"metadata": {"name": name}})
