"""The Cluster port on the official `kubernetes` client (core/v1, apps/v1, batch/v1), read-only.

The client is synchronous: every call runs in `asyncio.to_thread`, with `_request_timeout` and
`_preload_content=False` (the body is read as JSON here; kubernetes 36 turns a text/plain log into
`str(bytes)` otherwise, and raw JSON spares the models' client-side validation). The ApiClient is
built from an explicit host and bearer token: no kubeconfig, no in-cluster config, no proxy from the
environment. urllib3 does not retry: retries are the caller's call, made from the error class.

Errors, mapped in `_call` / `_api_error` only:
    401, 403, 404, 422, other 4xx   PermanentError (the apiserver's Status message)
    429, 5xx                        TransientError (delay from Retry-After)
    urllib3 errors (refused, timeout, reset)   TransientError
    status 0 (TLS setup failed: a bad CA or certificate)   PermanentError
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from appliance.ports.cluster import (
    ContainerState,
    ContainerStatus,
    Description,
    Event,
    Pod,
    RestartSignal,
    WorkloadKind,
)
from appliance.ports.errors import PermanentError, PortError, TransientError

Obj = dict[str, Any]
SYSTEM = "kubernetes"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HIDDEN = "***"
NEVER = datetime.min.replace(tzinfo=UTC)


def _api_error(exc: Any, what: str) -> PortError:
    """The one place apiserver answers become port errors."""
    status = int(exc.status or 0)
    message = str(exc.reason or "").splitlines()[0] if exc.reason else ""
    try:
        body = json.loads(exc.body) if exc.body else {}
        if isinstance(body, dict) and body.get("message"):
            message = str(body["message"])
    except ValueError:
        pass
    text = f"{what}: {status} {message}".rstrip()
    if status == 429 or status >= 500:
        retry_after = str((exc.headers or {}).get("Retry-After", ""))
        delay = float(retry_after) if retry_after.isdigit() else None
        return TransientError(text, system=SYSTEM, delay=delay)
    return PermanentError(text, system=SYSTEM)


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def _state(raw: Obj | None) -> ContainerState | None:
    for key in ("waiting", "running", "terminated"):
        detail = (raw or {}).get(key)
        if detail is not None:
            return ContainerState(
                state=key,
                reason=str(detail.get("reason") or ""),
                message=str(detail.get("message") or ""),
                exit_code=detail.get("exitCode"),
                started_at=_time(detail.get("startedAt")),
                finished_at=_time(detail.get("finishedAt")),
            )
    return None


def _container(raw: Obj, *, init: bool) -> ContainerStatus:
    return ContainerStatus(
        name=str(raw["name"]),
        image=str(raw.get("image") or ""),
        ready=bool(raw.get("ready")),
        restart_count=int(raw.get("restartCount") or 0),
        state=_state(raw.get("state")) or ContainerState(state="unknown"),
        last_state=_state(raw.get("lastState")),
        init=init,
    )


def _owner(meta: Obj) -> str:
    refs = meta.get("ownerReferences") or []
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    return f"{ref['kind']}/{ref['name']}" if ref else ""


def _pod(raw: Obj) -> Pod:
    meta, status = raw.get("metadata") or {}, raw.get("status") or {}
    containers = [_container(c, init=True) for c in status.get("initContainerStatuses") or []]
    containers += [_container(c, init=False) for c in status.get("containerStatuses") or []]
    ready_condition = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    main = [c for c in containers if not c.init]
    ready = (
        ready_condition[0].get("status") == "True"
        if ready_condition
        else bool(main) and all(c.ready for c in main)
    )
    return Pod(
        name=str(meta["name"]),
        namespace=str(meta.get("namespace") or ""),
        phase=str(status.get("phase") or "Unknown"),
        ready=ready,
        labels=dict(meta.get("labels") or {}),
        owner=_owner(meta),
        reason=str(status.get("reason") or ""),
        message=str(status.get("message") or ""),
        started_at=_time(status.get("startTime")),
        containers=tuple(containers),
    )


def _event(raw: Obj) -> Event:
    involved = raw.get("involvedObject") or {}
    source = raw.get("source") or {}
    first = _time(raw.get("firstTimestamp")) or _time(raw.get("eventTime"))
    last = _time(raw.get("lastTimestamp")) or _time(raw.get("eventTime")) or first
    return Event(
        reason=str(raw.get("reason") or ""),
        message=str(raw.get("message") or ""),
        type=str(raw.get("type") or ""),
        object=f"{involved.get('kind', '')}/{involved.get('name', '')}",
        count=int(raw.get("count") or 1),
        first_seen=first or last,
        last_seen=last,
        source=str(source.get("component") or raw.get("reportingComponent") or ""),
    )


def _within(event: Event, since: datetime | None, until: datetime | None) -> bool:
    """Whether the event was seen in [since, until] (event times have whole seconds)."""
    if since is not None and event.last_seen is not None and event.last_seen < since.replace(microsecond=0):
        return False
    return not (until is not None and event.first_seen is not None and event.first_seen > until)


def _hide_env(value: Any) -> Any:
    """A copy with every container env `value` hidden (names and valueFrom references stay)."""
    if isinstance(value, list):
        return [_hide_env(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _hide_env(v) for k, v in value.items()}
    if isinstance(out.get("env"), list):
        out["env"] = [
            {**e, "value": HIDDEN} if isinstance(e, dict) and "value" in e else e for e in out["env"]
        ]
    return out


def _describe(kind: str, raw: Obj) -> Description:
    meta = raw.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    metadata = {
        "labels": meta.get("labels"),
        "annotations": annotations,
        "generation": meta.get("generation"),
        "creationTimestamp": meta.get("creationTimestamp"),
        "owner": _owner(meta),
        "deletionTimestamp": meta.get("deletionTimestamp"),
    }
    return Description(
        kind=kind,
        name=str(meta["name"]),
        namespace=str(meta.get("namespace") or ""),
        metadata={k: v for k, v in metadata.items() if v},
        spec=_hide_env(raw.get("spec") or {}),
        status=raw.get("status") or {},
    )


class KubernetesCluster:
    def __init__(
        self,
        *,
        host: str,
        token: str,
        ca_cert: str | None = None,
        verify_ssl: bool = True,
        timeout: float = 10.0,
    ) -> None:
        config = client.Configuration(
            host=host.rstrip("/"),
            # the "authorization" key with its prefix inline: read by clients before and after 36
            api_key={"authorization": f"Bearer {token}"},
            ssl_ca_cert=ca_cert,
        )
        config.verify_ssl = verify_ssl
        config.proxy = None  # Configuration() reads HTTP(S)_PROXY from the environment: not here
        config.no_proxy = None
        config.retries = 0
        self._timeout = timeout
        self._api = client.ApiClient(config)
        self._core = client.CoreV1Api(self._api)
        self._apps = client.AppsV1Api(self._api)
        self._batch = client.BatchV1Api(self._api)
        self._workloads: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {  # read, list
            "Deployment": (self._apps.read_namespaced_deployment, self._apps.list_namespaced_deployment),
            "ReplicaSet": (self._apps.read_namespaced_replica_set, self._apps.list_namespaced_replica_set),
            "Job": (self._batch.read_namespaced_job, self._batch.list_namespaced_job),
        }

    async def aclose(self) -> None:
        self._api.close()
        self._api.rest_client.pool_manager.clear()

    async def _call(self, what: str, method: Callable[..., Any], *args: Any, **params: Any) -> bytes:
        """Run one client call in a thread; return its raw body or raise a port error."""
        query = {k: v for k, v in params.items() if v is not None and v != ""}

        def run() -> bytes:
            response = method(*args, _preload_content=False, _request_timeout=self._timeout, **query)
            try:
                return bytes(response.data)
            finally:
                response.release_conn()

        try:
            return await asyncio.to_thread(run)
        except ApiException as exc:
            raise _api_error(exc, what) from exc
        except urllib3.exceptions.HTTPError as exc:
            cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason else exc
            raise TransientError(f"{what}: {type(cause).__name__}", system=SYSTEM) from exc

    async def _json(self, what: str, method: Callable[..., Any], *args: Any, **params: Any) -> Obj:
        body = await self._call(what, method, *args, **params)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise TransientError(f"{what}: the answer is not JSON", system=SYSTEM) from exc
        if not isinstance(data, dict):
            raise TransientError(f"{what}: the answer is not a JSON object", system=SYSTEM)
        return data

    async def list_pods(self, *, namespace: str, label_selector: str = "") -> list[Pod]:
        data = await self._json(
            f"list pods in {namespace}",
            self._core.list_namespaced_pod,
            namespace,
            label_selector=label_selector,
        )
        return sorted((_pod(p) for p in data.get("items") or []), key=lambda p: p.name)

    async def pod_logs(
        self,
        *,
        namespace: str,
        pod: str,
        container: str | None = None,
        previous: bool = False,
        since_seconds: int | None = None,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
    ) -> str:
        body = await self._call(
            f"logs of {namespace}/{pod}" + (f" ({container})" if container else ""),
            self._core.read_namespaced_pod_log,
            pod,
            namespace,
            container=container,
            previous=previous or None,
            since_seconds=since_seconds,
            tail_lines=tail_lines,
            limit_bytes=limit_bytes,
        )
        return body.decode(errors="replace")

    async def events(
        self, *, namespace: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[Event]:
        data = await self._json(f"list events in {namespace}", self._core.list_namespaced_event, namespace)
        events = [e for e in map(_event, data.get("items") or []) if _within(e, since, until)]
        return sorted(events, key=lambda e: (e.last_seen is not None, e.last_seen or NEVER))

    async def describe(
        self, *, namespace: str, kind: WorkloadKind, name: str | None = None, label_selector: str = ""
    ) -> list[Description]:
        read, listing = self._workloads[kind]
        if name:
            obj = await self._json(f"read {kind} {namespace}/{name}", read, name, namespace)
            return [_describe(kind, obj)]
        data = await self._json(
            f"list {kind}s in {namespace}", listing, namespace, label_selector=label_selector
        )
        return sorted((_describe(kind, o) for o in data.get("items") or []), key=lambda d: d.name)

    async def restart_signals(self, *, namespace: str, label_selector: str = "") -> list[RestartSignal]:
        signals = []
        for pod in await self.list_pods(namespace=namespace, label_selector=label_selector):
            for c in pod.containers:
                last = c.last_state
                signals.append(
                    RestartSignal(
                        pod=pod.name,
                        container=c.name,
                        restarts=c.restart_count,
                        oom_killed="OOMKilled" in (c.state.reason, last.reason if last else ""),
                        waiting_reason=c.state.reason if c.state.state == "waiting" else "",
                        last_reason=last.reason if last else "",
                        last_exit_code=last.exit_code if last else None,
                    )
                )
        return signals
