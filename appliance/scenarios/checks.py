"""The least-privilege checks run after each scenario, from the fakes' access logs: only CI pushed to
gitops repos and images, only Argo CD wrote workloads, agents only read, and only in the namespaces
of the incidents they collected for, and PathOps never wrote to the cluster."""

from __future__ import annotations

from typing import Any

from appliance.scenarios.embedded import EmbeddedTarget
from appliance.scenarios.verdict import CheckVerdict

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def least_privilege(target: EmbeddedTarget) -> list[CheckVerdict]:
    unread = [s for s in ("gitlab", "kubernetes", "harbor") if not target.has_access_log(s)]
    if unread:
        detail = f"{', '.join(unread)}: real systems; this target does not read their audit data"
        return [CheckVerdict(name="access-logs", status="skipped", detail=detail)]
    try:
        gitlab, kube, harbor = (target.access_log(s) for s in ("gitlab", "kubernetes", "harbor"))
    except Exception as exc:  # a log that cannot be read is a failed check, said so
        return [
            CheckVerdict(name="access-logs", status="failed", detail=f"could not read the access logs: {exc}")
        ]
    return [
        _only("only CI pushed to gitops repos", _identities(
            a for a in gitlab if " push refs/" in str(a.get("object", "")) and "-gitops " in str(a.get("object"))
        ), {"ci"}),
        _only("only Argo CD wrote workloads", _identities(
            a for a in kube if a.get("method") in WRITES and ("/apis/apps/" in a["path"] or "/apis/batch/" in a["path"])
        ), {"argocd"}),
        _none("PathOps never wrote to the cluster",
              [a for a in kube if a.get("method") in WRITES and a.get("identity") == "pathops"]),
        _agents_read_only(kube),
        _only("only CI's robot pushed images", _identities(
            a for a in harbor if a.get("method") in ("PUT", "POST", "PATCH") and "/manifests/" in a.get("path", "")
        ), None),
    ]  # fmt: skip


def _identities(accesses: Any) -> set[str]:
    return {str(a.get("identity")) for a in accesses}


def _only(name: str, seen: set[str], allowed: set[str] | None) -> CheckVerdict:
    """`seen` holds only `allowed` (or, with None, only CI robots: `robot$<project>+ci`)."""
    bad = {
        i
        for i in seen
        if (i not in allowed if allowed is not None else not (i.startswith("robot$") and i.endswith("+ci")))
    }
    if bad:
        return CheckVerdict(name=name, status="failed", detail=f"also by: {', '.join(sorted(bad))}")
    return CheckVerdict(name=name, status="passed", detail=f"by: {', '.join(sorted(seen)) or 'nobody'}")


def _none(name: str, found: list[dict[str, Any]]) -> CheckVerdict:
    if found:
        first = found[0]
        return CheckVerdict(name=name, status="failed",
                            detail=f"{len(found)} write(s), first {first.get('method')} {first.get('path')}")  # fmt: skip
    return CheckVerdict(name=name, status="passed")


def _agents_read_only(kube: list[dict[str, Any]]) -> CheckVerdict:
    """Agents (`agent:<app>`) only GET, and only in their app's preflight and production namespaces."""
    name = "agents only read their app's namespaces"
    bad = []
    for access in kube:
        identity = str(access.get("identity") or "")
        if not identity.startswith("agent:"):
            continue
        app = identity.removeprefix("agent:")
        namespace = (
            access["path"].split("/namespaces/")[1].split("/")[0] if "/namespaces/" in access["path"] else ""
        )
        if access.get("method") != "GET" or namespace not in (f"{app}-preflight", f"{app}-production"):
            bad.append(f"{identity} {access.get('method')} {access['path']}")
    if bad:
        return CheckVerdict(name=name, status="failed", detail=f"{len(bad)} access(es), first {bad[0]}")
    return CheckVerdict(name=name, status="passed")
