"""Incident classification: build, deploy, runtime or security, from an alert's labels and text."""

from __future__ import annotations

from collections.abc import Mapping

from appliance.contracts.entities import IncidentClass

_RULES: tuple[tuple[IncidentClass, tuple[str, ...]], ...] = (
    (IncidentClass.SECURITY, ("cve", "vulnerab", "security", "secret leak", "unauthorized")),
    (IncidentClass.BUILD, ("build", "compile", "pipeline", "ci job", "test fail")),
    (
        IncidentClass.DEPLOY,
        ("imagepull", "errimagepull", "crashloop", "oomkill", "rollout", "deploy", "sync", "probe", "config"),
    ),
)


def classify(labels: Mapping[str, str], annotations: Mapping[str, str] | None = None) -> IncidentClass:
    """An explicit `class` label wins; otherwise the first rule whose words appear; else runtime."""
    explicit = labels.get("class") or labels.get("incident_class")
    if explicit is not None and explicit in IncidentClass._value2member_map_:
        return IncidentClass(explicit)
    text = " ".join([*labels.values(), *(annotations or {}).values(), *labels.keys()]).lower()
    for klass, words in _RULES:
        if any(word in text for word in words):
            return klass
    return IncidentClass.RUNTIME
